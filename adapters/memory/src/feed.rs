use futures::stream::BoxStream;
use orderflow_core::domain::OrderId;
use orderflow_core::ports::{FeedEvent, OrderFeed};
use tokio::sync::broadcast;

/// The order feed within one process: a broadcast channel. Clones share it. A
/// subscription that falls more than `capacity` messages behind gets `Missed`.
#[derive(Clone)]
pub struct MemoryFeed {
    tx: broadcast::Sender<OrderId>,
}

impl MemoryFeed {
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity.max(1)).0,
        }
    }
}

impl Default for MemoryFeed {
    fn default() -> Self {
        Self::new(1024)
    }
}

/// Events from a broadcast receiver: a lag is `Missed`, a closed channel ends the stream.
pub fn events(rx: broadcast::Receiver<OrderId>) -> BoxStream<'static, FeedEvent> {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(id) => FeedEvent::Changed(id),
            Err(broadcast::error::RecvError::Lagged(_)) => FeedEvent::Missed,
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((event, rx))
    }))
}

#[async_trait::async_trait]
impl orderflow_core::ports::Health for MemoryFeed {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl OrderFeed for MemoryFeed {
    async fn publish(&self, order: OrderId) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.tx.send(order);
    }

    fn subscribe(&self) -> BoxStream<'static, FeedEvent> {
        events(self.tx.subscribe())
    }
}
