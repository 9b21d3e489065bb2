use super::OrderChanges;
use crate::domain::OrderId;
use async_trait::async_trait;
use futures::stream::BoxStream;
use std::sync::Arc;

/// What a subscription to the order feed yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEvent {
    /// This order may have changed: re-read it.
    Changed(OrderId),
    /// Messages may have been lost (a reconnect, a reader that fell behind): re-read
    /// whatever is being followed.
    Missed,
}

/// Tells every process that an order may have changed, so a live status stream held by
/// any of them re-reads it at once. The store stays the source of truth: a subscriber
/// can miss a message, so streams also re-read on their own schedule, and the feed only
/// makes a change show within a moment.
///
/// MUST:
/// - deliver `Changed(id)` to every subscription taken before `publish(id)`, in this
///   process and in every other process on the same backing service, within a moment
///   while the service answers;
/// - yield `Missed` when it may have lost messages for a subscription (after it
///   reconnects to the service, or when the subscription fell behind);
/// - never block or fail the publisher: `publish` is best effort and logs its own
///   failures.
#[async_trait]
pub trait OrderFeed: super::Health {
    async fn publish(&self, order: OrderId);
    /// The events from now on, for as long as the stream is held.
    fn subscribe(&self) -> BoxStream<'static, FeedEvent>;
}

/// Publishes every order change on the feed: the processor and the cancel already say
/// when an order moved, so the feed hears of it wherever it happened.
pub struct PublishChanges(pub Arc<dyn OrderFeed>);

#[async_trait]
impl OrderChanges for PublishChanges {
    async fn changed(&self, order: OrderId) {
        self.0.publish(order).await;
    }
}

/// Tells several listeners, in order.
pub struct AllOf(pub Vec<Arc<dyn OrderChanges>>);

#[async_trait]
impl OrderChanges for AllOf {
    async fn changed(&self, order: OrderId) {
        for each in &self.0 {
            each.changed(order).await;
        }
    }
}
