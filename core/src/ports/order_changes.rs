use crate::domain::OrderId;
use async_trait::async_trait;

/// Told after the store moved, or may have moved, an order to another status (settled
/// by the worker, cancelled by its owner or an admin), so copies of the order kept outside the store
/// (the API's cache of rendered orders) are dropped.
///
/// Adapters MUST NOT fail the caller: the status change is already stored, and a copy
/// that could not be dropped is one a reader may see until it expires (a pending order
/// is kept briefly for that reason). They log their own failures.
#[async_trait]
pub trait OrderChanges: Send + Sync {
    async fn changed(&self, order: OrderId);
}

/// For compositions that keep no copy of an order.
pub struct NoCopies;

#[async_trait]
impl OrderChanges for NoCopies {
    async fn changed(&self, _order: OrderId) {}
}
