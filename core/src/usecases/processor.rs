use super::emails::outcome_email;
use super::message::OrderMessage;
use super::products::ProductSnapshots;
use crate::domain::{Order, Sku};
use crate::ports::{
    Clock, Fulfilment, FulfilmentOutcome, InventoryError, MailError, Mailer, NotificationLedger,
    OrderChanges, OrderSettlement, UserRepo,
};
use crate::retry::Backoff;
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
    pub ledger: Arc<dyn NotificationLedger>,
    pub settlement: Arc<dyn OrderSettlement>,
    pub users: Arc<dyn UserRepo>,
    pub mailer: Arc<dyn Mailer>,
    /// Told when an order settled.
    pub changes: Arc<dyn OrderChanges>,
    /// Placements' copies of products. Settling an order drops the copies of its
    /// products: their stock changed (or fell short), and a copy overstating it would
    /// let a placement for a sold-out product be accepted and then fail, instead of
    /// getting its 409 at once.
    pub products: Arc<ProductSnapshots>,
    pub clock: Arc<dyn Clock>,
    /// How long a worker holds the right to send an order's email. Longer than a send
    /// can take, so two workers never mail the same customer; a crashed worker's claim
    /// lapses after it and `send_due` sends the email.
    pub notify_lease: Duration,
    /// When an email that could not be sent is tried again, and when it is given up.
    pub notify_retry: NotifyRetry,
}

/// The schedule of an outcome email that could not be sent: due again after a
/// `Backoff` from `first_wait` up to `max_wait`, until `give_up_after` has passed since
/// the order settled.
#[derive(Debug, Clone, Copy)]
pub struct NotifyRetry {
    pub first_wait: Duration,
    pub max_wait: Duration,
    pub give_up_after: Duration,
}

impl NotifyRetry {
    /// The wait after the `failures`-th failed send.
    pub fn wait(&self, failures: u32) -> Duration {
        Backoff::new(self.first_wait, self.max_wait).after(failures)
    }
}

/// What `send_due` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DueSent {
    pub sent: usize,
    pub deferred: usize,
    pub abandoned: usize,
}

enum SendOutcome {
    Delivered,
    Deferred,
    Abandoned,
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
            .settlement
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
            self.changes.changed(message.order_id).await;
            self.notify(&fulfilment).await?;
        }
        Ok(processed)
    }

    /// Sends the outcome email of an order this call settled, unless another worker is
    /// sending it. Never makes the delivery fail for the email's sake: the email is
    /// owed in the ledger from settlement on, and `send_due` sends whatever this
    /// attempt could not, on its own schedule, however long the mailer is away and
    /// whatever became of the message. An order that was already final is left to
    /// `send_due` too (a worker that died between settling and sending). A settlement
    /// that claimed the email for this worker (`Fulfilment::email_claimed_until`) saves
    /// the claim's write.
    #[instrument(name = "notify", skip_all)]
    async fn notify(&self, fulfilment: &Fulfilment) -> Result<(), ProcessError> {
        let order = &fulfilment.order;
        let now = self.clock.now();
        let claimed = match fulfilment.email_claimed_until {
            Some(until) => until > now,
            None => self
                .ledger
                .claim_notification(order.id, now, self.lease_end(now))
                .await
                .map_err(|e| ProcessError::StoreUnavailable(Box::new(e)))?,
        };
        if !claimed {
            // Another worker holds the claim: if that worker dies, its claim lapses and
            // `send_due` picks the email up.
            return Ok(());
        }
        // Settled just now: no send of this email has failed yet.
        self.send_claimed(order, 0)
            .await
            .map(|_| ())
            .map_err(ProcessError::StoreUnavailable)
    }

    /// Sends the outcome emails that are due (after failed sends, or whose worker died
    /// between settling and sending), up to `limit`, earliest due first; stops at the
    /// first send the mailer fails, as the others would fail too. Returns how many it
    /// sent.
    #[instrument(skip_all)]
    pub async fn send_due(&self, limit: usize) -> Result<DueSent, BoxError> {
        let now = self.clock.now();
        let due = self.ledger.due_notifications(now, limit.max(1)).await?;
        let mut done = DueSent::default();
        for owed in due {
            let order = &owed.order;
            let span = tracing::info_span!("notify", order_id = %order.id);
            let claimed = self
                .ledger
                .claim_notification(order.id, now, self.lease_end(now))
                .instrument(span.clone())
                .await?;
            if !claimed {
                continue;
            }
            match self
                .send_claimed(order, owed.failures)
                .instrument(span)
                .await?
            {
                SendOutcome::Delivered => done.sent += 1,
                SendOutcome::Deferred => {
                    done.deferred += 1;
                    break;
                }
                SendOutcome::Abandoned => done.abandoned += 1,
            }
        }
        Ok(done)
    }

    /// Emails owed now or later (a gauge).
    pub async fn owed_notifications(&self) -> Result<usize, BoxError> {
        Ok(self.ledger.count_owed_notifications(100_000).await?)
    }

    /// How many owed emails have failed to send at least once: zero unless the mail
    /// provider refuses or cannot be reached.
    pub async fn failing_notifications(&self) -> Result<usize, BoxError> {
        Ok(self.ledger.count_failing_notifications(100_000).await?)
    }

    fn lease_end(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        now + chrono::Duration::from_std(self.notify_lease).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Sends the email of an order this worker holds the claim on, and records the
    /// result: sent (or refused for good), or due again after a back-off, or given up
    /// once `notify.give_up_after` has passed since the order settled. `failures`: the
    /// failed sends of this email so far.
    async fn send_claimed(&self, order: &Order, failures: u32) -> Result<SendOutcome, BoxError> {
        let user = match self.users.by_id(order.user_id).await {
            Ok(user) => user,
            Err(e) => {
                self.release(order).await;
                return Err(Box::new(e));
            }
        };
        let Some(user) = user else {
            tracing::warn!("order's user no longer exists; no email sent");
            self.ledger.finish_notification(order.id).await?;
            return Ok(SendOutcome::Delivered);
        };
        match self.mailer.send(&outcome_email(order, &user.email)).await {
            Ok(()) => {}
            Err(MailError::Rejected(reason)) => {
                // Retrying a permanent refusal only annoys the provider.
                tracing::error!(%reason, "outcome email rejected; not retrying");
            }
            Err(e) => {
                let now = self.clock.now();
                let failures = failures.saturating_add(1);
                let settled = order.updated_at;
                if now - settled
                    >= chrono::Duration::from_std(self.notify_retry.give_up_after)
                        .unwrap_or(chrono::Duration::MAX)
                {
                    tracing::error!(error = %e, failures, "outcome email given up: the mailer failed for longer than notify.give_up_after_ms");
                    self.ledger.abandon_notification(order.id).await?;
                    return Ok(SendOutcome::Abandoned);
                }
                let wait = self.notify_retry.wait(failures);
                tracing::warn!(error = %e, failures, retry_in_ms = wait.as_millis() as u64, "outcome email not sent; it stays due");
                self.ledger
                    .defer_notification(
                        order.id,
                        now + chrono::Duration::from_std(wait).unwrap_or_default(),
                        failures,
                    )
                    .await?;
                return Ok(SendOutcome::Deferred);
            }
        }
        self.ledger.finish_notification(order.id).await?;
        Ok(SendOutcome::Delivered)
    }

    /// Whether the store answers at all: the worker checks before taking more messages
    /// after a `StoreUnavailable`.
    pub async fn store_available(&self) -> bool {
        self.ledger.health().await.is_ok()
    }

    async fn release(&self, order: &Order) {
        if let Err(e) = self.ledger.release_notification(order.id).await {
            tracing::warn!(error = %e, "could not release notification claim; it lapses on its own");
        }
    }
}
