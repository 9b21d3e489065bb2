use super::OrderRepoError;
use crate::domain::{Order, OrderId, PublishRefusal};
use chrono::{DateTime, Utc};

/// An order the queue has not accepted yet, with the queue's last refusal of its
/// message (`None` until the queue refuses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpublished {
    pub order: Order,
    pub refusal: Option<PublishRefusal>,
}

/// An order whose message the queue kept refusing, waiting for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub order: Order,
    pub refusal: PublishRefusal,
}

/// The pending orders, published or not: how many (counted up to a cap) and when the
/// oldest was placed (`None` when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingOrders {
    pub count: usize,
    pub oldest: Option<DateTime<Utc>>,
}

/// The orders whose message the queue has not accepted yet, and what the relay records
/// about publishing them: whether the queue accepted it, its refusals, when the sweep
/// last republished it. This record is the outbox's, not part of `Order`.
/// `Orders::insert` stores every order unpublished, in the same write.
///
/// MUST:
/// - leave out of `unpublished` the orders whose refusal is set aside or has a
///   `retry_at` after `now`, and list exactly the set-aside ones in `set_aside`, each
///   with its refusal as `refuse_publication` recorded it; `mark_published` clears the
///   refusal and takes the order out of both lists and `count_unpublished`;
/// - list in `stale_pending` only published pending orders not swept since
///   `older_than`, and leave an order out once `mark_swept` recorded a later sweep;
/// - count without loading the orders (the counts are gauges read every second);
///   `pending_orders` counts every pending order up to `cap` and reads the oldest one's
///   placement time, loading at most that one order;
/// - return `NotFound` from `retry_set_aside` when there is no such order;
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait Outbox: super::Health {
    /// Orders the queue has not accepted yet, created before `created_before`, oldest
    /// first, except those refused and not due again by `now` (or set aside).
    async fn unpublished(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Unpublished>, OrderRepoError>;
    async fn mark_published(&self, ids: &[OrderId]) -> Result<(), OrderRepoError>;
    /// Records that the queue refused the order's message (unless it was published
    /// meanwhile).
    async fn refuse_publication(
        &self,
        id: OrderId,
        refusal: &PublishRefusal,
    ) -> Result<(), OrderRepoError>;
    /// Unpublished orders the relay set aside, oldest first.
    async fn set_aside(&self, limit: usize) -> Result<Vec<SetAside>, OrderRepoError>;
    /// How many orders are set aside, counted up to `cap` (a gauge).
    async fn count_set_aside(&self, cap: usize) -> Result<usize, OrderRepoError>;
    /// Clears a set-aside order's refusal so the scan publishes it again; false when
    /// the order is not set aside (`NotFound` when there is no such order).
    async fn retry_set_aside(&self, id: OrderId) -> Result<bool, OrderRepoError>;
    /// How many orders are unpublished, counted up to `cap` (a gauge, read every
    /// second: it must not load the orders themselves).
    async fn count_unpublished(&self, cap: usize) -> Result<usize, OrderRepoError>;
    /// Published pending orders created before `older_than` and not swept since then,
    /// oldest first (unpublished ones are the scan's): orders whose message may have
    /// been lost (a purged queue, a redrive gone wrong) and that the sweep publishes
    /// again.
    async fn stale_pending(
        &self,
        older_than: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError>;
    async fn mark_swept(&self, ids: &[OrderId], at: DateTime<Utc>) -> Result<(), OrderRepoError>;
    /// Orders accepted and not settled or cancelled yet (a gauge).
    async fn pending_orders(&self, cap: usize) -> Result<PendingOrders, OrderRepoError>;
}
