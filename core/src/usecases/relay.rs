use super::message::OrderMessage;
use crate::domain::{OrderId, PublishRefusal, Refusals};
use crate::ports::{Clock, Handoff, OrderRepoError, Outbox, Queue, SetAside, Unpublished};
use crate::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tracing::instrument;

/// Publishes orders the queue has not accepted yet: the second half of the outbox.
/// Orders placed in this process arrive through `hand_off` and go out in batches; an
/// order whose hand-off failed, or whose process died between storing and publishing,
/// is found by the timed scan (`publish_due`) once it is `min_age` old.
pub struct Relay {
    pub outbox: Arc<dyn Outbox>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    /// This process's hand-off: the scan skips the orders it still holds.
    pub handoff: Arc<dyn Handoff>,
    /// Leave orders younger than this to the hand-off that is publishing them, so the
    /// scan rarely doubles a message in the normal case.
    pub min_age: Duration,
    /// Messages per publish call.
    pub batch: usize,
    /// How a message the queue refuses is retried, and when its order is set aside.
    pub refusals: Refusals,
}

/// What one pass of the relay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relayed {
    /// Orders the queue accepted.
    pub published: usize,
    /// Orders the queue refused (each retried on its own schedule).
    pub refused: usize,
    /// Of those, orders this pass set aside for an operator.
    pub set_aside: usize,
}

impl std::ops::AddAssign for Relayed {
    fn add_assign(&mut self, o: Self) {
        self.published += o.published;
        self.refused += o.refused;
        self.set_aside += o.set_aside;
    }
}

impl Relay {
    /// Publishes again every published order pending for longer than `age` (and not
    /// swept within the last `age`): no order stays pending forever because its message
    /// was lost. Duplicates are harmless; the worker settles an order once. An order the
    /// queue refuses now is marked swept like the others, so it cannot hold up the
    /// sweep's later pages; it comes round again after `age`.
    #[instrument(skip_all)]
    pub async fn sweep(&self, age: Duration) -> Result<usize, BoxError> {
        let batch = self.batch.max(1);
        let mut sent = 0;
        loop {
            let now = self.clock.now();
            let cutoff = now - chrono::Duration::from_std(age).unwrap_or_default();
            let stale = self.outbox.stale_pending(cutoff, batch).await?;
            let messages: Vec<OrderMessage> = stale.iter().map(OrderMessage::for_order).collect();
            let outgoing: Vec<_> = messages.iter().map(OrderMessage::outgoing).collect();
            let published = self.queue.publish(&outgoing).await?;
            for r in &published.refused {
                if let Some(m) = messages.get(r.index) {
                    tracing::warn!(order_id = %m.order_id, reason = %r.reason, "the queue refused a swept order's message");
                }
            }
            let ids: Vec<OrderId> = messages.iter().map(|m| m.order_id).collect();
            self.outbox.mark_swept(&ids, now).await?;
            let accepted = ids.len() - published.refused.len();
            sent += accepted;
            if accepted > 0 {
                tracing::warn!(
                    count = accepted,
                    "sweep republished orders pending too long"
                );
            }
            if ids.len() < batch {
                return Ok(sent);
            }
        }
    }

    /// How many orders the queue has not accepted yet (counted up to 10,000).
    pub async fn backlog(&self) -> Result<usize, BoxError> {
        Ok(self.outbox.count_unpublished(10_000).await?)
    }

    /// The orders accepted and not settled yet (counted up to 10,000), and when the
    /// oldest of them was placed.
    pub async fn pending_orders(&self) -> Result<crate::ports::PendingOrders, BoxError> {
        Ok(self.outbox.pending_orders(10_000).await?)
    }

    /// How many orders are set aside (counted up to 10,000).
    pub async fn set_aside_count(&self) -> Result<usize, BoxError> {
        Ok(self.outbox.count_set_aside(10_000).await?)
    }

    /// Publishes everything due now.
    #[instrument(skip_all)]
    pub async fn publish_due(&self) -> Result<Relayed, BoxError> {
        let batch = self.batch.max(1);
        let mut done = Relayed::default();
        loop {
            let now = self.clock.now();
            let cutoff = now - chrono::Duration::from_std(self.min_age).unwrap_or_default();
            let due = self.outbox.unpublished(cutoff, now, batch).await?;
            let found = due.len();
            let free: Vec<Unpublished> = due
                .into_iter()
                .filter(|u| !self.handoff.holds(&u.order.id))
                .collect();
            let messages: Vec<OrderMessage> = free
                .iter()
                .map(|u| OrderMessage::for_order(&u.order))
                .collect();
            let prior: Vec<_> = free.iter().map(|u| u.refusal.as_ref()).collect();
            let pass = self.publish(&messages, &prior).await?;
            if pass.published > 0 {
                tracing::info!(count = pass.published, "relay published orders");
            }
            done += pass;
            // Held orders stay unpublished, so the next page would start with them again:
            // the hand-off finishes them, and the next tick goes on from there. Refused
            // ones drop out of the next page (their retry is later).
            if found < batch || messages.len() < found {
                return Ok(done);
            }
        }
    }

    /// Publishes orders this process's requests handed over (see `ports::Handoff`) in
    /// one queue call and marks the accepted ones published with one store write. On
    /// error the orders stay unpublished and the timed scan (`publish_due`) sends them.
    #[instrument(skip_all, fields(count = messages.len()))]
    pub async fn hand_off(&self, messages: &[OrderMessage]) -> Result<Relayed, BoxError> {
        self.publish(messages, &vec![None; messages.len()]).await
    }

    /// Sends the messages; marks the accepted orders published and records a refusal on
    /// each refused one (`prior`: its refusal so far, by position), so a message the
    /// queue never takes only ever delays its own order.
    async fn publish(
        &self,
        messages: &[OrderMessage],
        prior: &[Option<&PublishRefusal>],
    ) -> Result<Relayed, BoxError> {
        if messages.is_empty() {
            return Ok(Relayed::default());
        }
        let outgoing: Vec<_> = messages.iter().map(OrderMessage::outgoing).collect();
        let published = self.queue.publish(&outgoing).await?;
        let accepted: Vec<OrderId> = messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !published.is_refused(*i))
            .map(|(_, m)| m.order_id)
            .collect();
        self.outbox.mark_published(&accepted).await?;
        let mut done = Relayed {
            published: accepted.len(),
            ..Relayed::default()
        };
        let now = self.clock.now();
        for r in &published.refused {
            let Some(m) = messages.get(r.index) else {
                continue;
            };
            let before = prior.get(r.index).copied().flatten();
            let refusal = self.refusals.next(before, r.reason.clone(), now);
            if refusal.set_aside {
                tracing::error!(order_id = %m.order_id, reason = %r.reason, refusals = refusal.count, "the queue keeps refusing this order's message; set aside until an operator retries it (orderflow outbox retry)");
                done.set_aside += 1;
            } else {
                tracing::warn!(order_id = %m.order_id, reason = %r.reason, refusals = refusal.count, retry_at = %refusal.retry_at, "the queue refused this order's message; will retry");
            }
            self.outbox.refuse_publication(m.order_id, &refusal).await?;
            done.refused += 1;
        }
        Ok(done)
    }

    /// Orders set aside after repeated refusals, oldest first.
    #[instrument(skip_all)]
    pub async fn list_set_aside(&self, limit: usize) -> Result<Vec<SetAside>, SetAsideError> {
        self.outbox
            .set_aside(limit.clamp(1, 100))
            .await
            .map_err(|e| SetAsideError::Unavailable(Box::new(e)))
    }

    /// Puts a set-aside order back in the scan's hands with a fresh count; false when
    /// it is not set aside.
    #[instrument(skip_all, fields(order_id = %id))]
    pub async fn retry_set_aside(&self, id: OrderId) -> Result<bool, SetAsideError> {
        match self.outbox.retry_set_aside(id).await {
            Ok(retried) => {
                if retried {
                    tracing::info!("set-aside order handed back to the relay");
                }
                Ok(retried)
            }
            Err(OrderRepoError::NotFound) => Err(SetAsideError::NotFound),
            Err(e) => Err(SetAsideError::Unavailable(Box::new(e))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetAsideError {
    #[error("no such order")]
    NotFound,
    #[error("the order store is unavailable")]
    Unavailable(#[source] BoxError),
}
