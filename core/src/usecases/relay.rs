use super::message::OrderMessage;
use crate::ports::{Clock, OrderRepo, Queue};
use crate::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tracing::instrument;

/// Publishes orders the queue has not accepted yet: the second half of the outbox.
/// An order whose hand-off failed in the request, or whose process died between
/// storing and publishing, is sent from here.
pub struct Relay {
    pub orders: Arc<dyn OrderRepo>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    /// Leave orders younger than this to the request that is publishing them, so the
    /// relay rarely doubles a message in the normal case.
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
        let far = self.clock.now() + chrono::Duration::days(3650);
        Ok(self.orders.unpublished(far, 10_000).await?.len())
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
            let ids = self.publish(&due).await?;
            sent += ids.len();
            if !ids.is_empty() {
                tracing::info!(count = ids.len(), "relay published orders");
            }
            if ids.len() < batch {
                return Ok(sent);
            }
        }
    }

    /// Hands `orders` to the queue in one call and marks them published.
    async fn publish(
        &self,
        orders: &[crate::domain::Order],
    ) -> Result<Vec<crate::domain::OrderId>, BoxError> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let bodies: Vec<String> = orders
            .iter()
            .map(|o| {
                OrderMessage {
                    order_id: o.id,
                    request_id: o.request_id.clone(),
                }
                .to_body()
            })
            .collect();
        self.queue.publish(&bodies).await?;
        let ids: Vec<_> = orders.iter().map(|o| o.id).collect();
        self.orders.mark_published(&ids).await?;
        Ok(ids)
    }
}
