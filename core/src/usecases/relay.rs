use super::message::OrderMessage;
use crate::domain::{Order, OrderId};
use crate::ports::{Clock, Handoff, OrderRepo, Queue};
use crate::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tracing::instrument;

/// Publishes orders the queue has not accepted yet: the second half of the outbox.
/// Orders placed in this process arrive through `hand_off` and go out in batches; an
/// order whose hand-off failed, or whose process died between storing and publishing,
/// is found by the timed scan (`publish_due`) once it is `min_age` old.
pub struct Relay {
    pub orders: Arc<dyn OrderRepo>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    /// This process's hand-off: the scan skips the orders it still holds.
    pub handoff: Arc<dyn Handoff>,
    /// Leave orders younger than this to the hand-off that is publishing them, so the
    /// scan rarely doubles a message in the normal case.
    pub min_age: Duration,
    /// Messages per publish call.
    pub batch: usize,
}

impl Relay {
    /// Publishes again every order pending for longer than `age` (and not swept within
    /// the last `age`): no order stays pending forever because its message was lost.
    /// Duplicates are harmless; the worker settles an order once.
    #[instrument(skip_all)]
    pub async fn sweep(&self, age: Duration) -> Result<usize, BoxError> {
        let batch = self.batch.max(1);
        let mut sent = 0;
        loop {
            let now = self.clock.now();
            let cutoff = now - chrono::Duration::from_std(age).unwrap_or_default();
            let stale = self.orders.stale_pending(cutoff, batch).await?;
            let ids = self.publish(&stale).await?;
            self.orders.mark_swept(&ids, now).await?;
            sent += ids.len();
            if !ids.is_empty() {
                tracing::warn!(
                    count = ids.len(),
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
        Ok(self.orders.count_unpublished(10_000).await?)
    }

    /// Publishes everything due now; returns how many orders were handed over.
    #[instrument(skip_all)]
    pub async fn publish_due(&self) -> Result<usize, BoxError> {
        let batch = self.batch.max(1);
        let mut sent = 0;
        loop {
            let cutoff =
                self.clock.now() - chrono::Duration::from_std(self.min_age).unwrap_or_default();
            let due = self.orders.unpublished(cutoff, batch).await?;
            let found = due.len();
            let free: Vec<Order> = due
                .into_iter()
                .filter(|o| !self.handoff.holds(&o.id))
                .collect();
            let ids = self.publish(&free).await?;
            sent += ids.len();
            if !ids.is_empty() {
                tracing::info!(count = ids.len(), "relay published orders");
            }
            // Held orders stay unpublished, so the next page would start with them again:
            // the hand-off finishes them, and the next tick goes on from there.
            if found < batch || ids.len() < found {
                return Ok(sent);
            }
        }
    }

    /// Publishes orders this process's requests handed over (see `ports::Handoff`) in
    /// one queue call and marks them published with one store write. On error the orders
    /// stay unpublished and the timed scan (`publish_due`) sends them.
    #[instrument(skip_all, fields(count = messages.len()))]
    pub async fn hand_off(&self, messages: &[OrderMessage]) -> Result<(), BoxError> {
        if messages.is_empty() {
            return Ok(());
        }
        let outgoing: Vec<_> = messages.iter().map(OrderMessage::outgoing).collect();
        self.queue.publish(&outgoing).await?;
        let ids: Vec<OrderId> = messages.iter().map(|m| m.order_id).collect();
        self.orders.mark_published(&ids).await?;
        Ok(())
    }

    async fn publish(&self, orders: &[Order]) -> Result<Vec<OrderId>, BoxError> {
        let messages: Vec<OrderMessage> = orders.iter().map(OrderMessage::for_order).collect();
        self.hand_off(&messages).await?;
        Ok(messages.into_iter().map(|m| m.order_id).collect())
    }
}
