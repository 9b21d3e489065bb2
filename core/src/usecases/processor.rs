use super::emails::outcome_email;
use super::message::OrderMessage;
use super::orders::order_cache_key;
use super::products::ProductSnapshots;
use crate::domain::{Order, OrderStatus, Sku};
use crate::ports::{
    Cache, Clock, FulfilmentOutcome, InventoryError, InventoryRepo, MailError, Mailer, OrderRepo,
    UserRepo,
};
use crate::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tracing::{instrument, Instrument};

/// What processing one message did. Every variant means "done: ack the delivery".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    /// This call moved the order to `completed` / `failed`; `placed_at` is when the
    /// order was placed, for end-to-end latency.
    Completed {
        placed_at: chrono::DateTime<chrono::Utc>,
    },
    Failed {
        placed_at: chrono::DateTime<chrono::Utc>,
    },
    /// The order had already left `pending` (a redelivery, a duplicate, a cancel).
    AlreadyFinal,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The message can never succeed (garbage body, unknown order). Not acked: the
    /// queue retries it with back-off and dead-letters it after its maximum receives.
    #[error("unprocessable message: {0}")]
    Poison(String),
    /// Something outside was unavailable; retrying later may succeed. Nothing was lost.
    #[error("transient failure")]
    Retry(#[source] BoxError),
    /// The store did not answer. Like `Retry`, and the worker should stop taking
    /// messages until the store is back, so an outage does not use up receives.
    #[error("store unavailable")]
    StoreUnavailable(#[source] BoxError),
}

/// The worker's one step: settle an order and tell its customer, exactly once.
pub struct OrderProcessor {
    pub orders: Arc<dyn OrderRepo>,
    pub inventory: Arc<dyn InventoryRepo>,
    pub users: Arc<dyn UserRepo>,
    pub mailer: Arc<dyn Mailer>,
    pub cache: Arc<dyn Cache>,
    /// Placements' copies of products. Settling an order drops the copies of its
    /// products: their stock changed (or fell short), and a copy overstating it would
    /// let a placement for a sold-out product be accepted and then fail, instead of
    /// getting its 409 at once.
    pub products: Arc<ProductSnapshots>,
    pub clock: Arc<dyn Clock>,
    /// How long a worker holds the right to send an order's email. Longer than a send
    /// can take, so two workers never mail the same customer; short enough that a
    /// crashed worker's claim lapses before the message comes back.
    pub notify_lease: Duration,
}

impl OrderProcessor {
    /// Processes one delivered message body. Safe to call any number of times for the
    /// same order, concurrently too: stock is taken once and one email goes out.
    #[instrument(skip_all, fields(order_id, request_id))]
    pub async fn process(&self, body: &str) -> Result<Processed, ProcessError> {
        let message = OrderMessage::from_body(body)
            .map_err(|e| ProcessError::Poison(format!("bad message body: {e}")))?;
        let span = tracing::Span::current();
        span.record("order_id", tracing::field::display(message.order_id));
        if let Some(rid) = &message.request_id {
            span.record("request_id", rid.as_str());
        }

        let fulfilment = match self
            .inventory
            .fulfil(message.order_id, self.clock.now())
            .instrument(tracing::info_span!("settle"))
            .await
        {
            Ok(f) => f,
            Err(InventoryError::NotFound) => {
                return Err(ProcessError::Poison("unknown order".into()))
            }
            Err(e) => return Err(ProcessError::StoreUnavailable(Box::new(e))),
        };
        let processed = match &fulfilment.outcome {
            FulfilmentOutcome::Completed => Processed::Completed {
                placed_at: fulfilment.order.created_at,
            },
            FulfilmentOutcome::Failed { .. } => Processed::Failed {
                placed_at: fulfilment.order.created_at,
            },
            FulfilmentOutcome::AlreadyFinal => Processed::AlreadyFinal,
        };
        if processed != Processed::AlreadyFinal {
            tracing::info!(status = fulfilment.order.status.as_str(), "order settled");
            let skus: Vec<Sku> = fulfilment
                .order
                .lines
                .iter()
                .map(|l| l.sku.clone())
                .collect();
            self.products.forget(&skus).await;
            if let Err(e) = self.cache.delete(&order_cache_key(message.order_id)).await {
                tracing::debug!(error = %e, "cache invalidation failed");
            }
        }
        self.notify(&fulfilment.order).await?;
        Ok(processed)
    }

    /// Sends the outcome email unless it went out already. A claim in the store makes
    /// concurrent workers take turns; the mark after a successful send makes
    /// redeliveries skip it.
    #[instrument(name = "notify", skip_all)]
    async fn notify(&self, order: &Order) -> Result<(), ProcessError> {
        if order.notified || !matches!(order.status, OrderStatus::Completed | OrderStatus::Failed) {
            return Ok(());
        }
        let now = self.clock.now();
        let until = now
            + chrono::Duration::from_std(self.notify_lease)
                .unwrap_or(chrono::Duration::seconds(30));
        let retry = |e: BoxError| ProcessError::StoreUnavailable(e);
        if !self
            .orders
            .claim_notification(order.id, now, until)
            .await
            .map_err(|e| retry(Box::new(e)))?
        {
            // Either it was sent meanwhile (then the next delivery acks at once), or
            // another worker is sending it now (then we must not ack before it does).
            let current = self
                .orders
                .get(order.id)
                .await
                .map_err(|e| retry(Box::new(e)))?;
            if current.is_some_and(|o| o.notified) {
                return Ok(());
            }
            return Err(ProcessError::Retry(
                "another worker is sending this order's email".into(),
            ));
        }
        let user = match self.users.by_id(order.user_id).await {
            Ok(user) => user,
            Err(e) => {
                self.release(order).await;
                return Err(retry(Box::new(e)));
            }
        };
        let Some(user) = user else {
            tracing::warn!("order's user no longer exists; no email sent");
            return self
                .orders
                .finish_notification(order.id)
                .await
                .map_err(|e| retry(Box::new(e)));
        };
        match self.mailer.send(&outcome_email(order, &user.email)).await {
            Ok(()) => {}
            Err(MailError::Rejected(reason)) => {
                // Retrying a permanent refusal only annoys the provider.
                tracing::error!(%reason, "outcome email rejected; not retrying");
            }
            Err(e) => {
                self.release(order).await;
                return Err(ProcessError::Retry(Box::new(e)));
            }
        }
        self.orders
            .finish_notification(order.id)
            .await
            .map_err(|e| retry(Box::new(e)))
    }

    /// Whether the store answers at all: the worker checks before taking more messages
    /// after a `StoreUnavailable`.
    pub async fn store_available(&self) -> bool {
        self.orders
            .get(crate::domain::OrderId(uuid::Uuid::nil()))
            .await
            .is_ok()
    }

    async fn release(&self, order: &Order) {
        if let Err(e) = self.orders.release_notification(order.id).await {
            tracing::warn!(error = %e, "could not release notification claim; it lapses on its own");
        }
    }
}
