use crate::domain::{
    IdempotencyKey, Order, OrderCursor, OrderId, OrderPage, OrderStatus, PublishRefusal, UserId,
};
use crate::BoxError;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum OrderRepoError {
    #[error("this user already placed an order with this idempotency key")]
    DuplicateIdempotencyKey,
    #[error("no such order")]
    NotFound,
    #[error("order is {0:?}, not pending")]
    InvalidState(OrderStatus),
    #[error("the order is being settled right now")]
    Busy,
    #[error("order store unavailable")]
    Unavailable(#[source] BoxError),
}

/// Where orders live. The order document doubles as the outbox (`published`) and the
/// email ledger (`notified`).
///
/// MUST:
/// - return `DuplicateIdempotencyKey` from `insert` when the same user already has an
///   order with the same key, also when two inserts race (exactly one succeeds);
/// - list a user's orders newest first by `(created_at, id)`, starting strictly after
///   `cursor`; a page is stable: inserting newer orders never shifts later pages;
/// - make `cancel` conditional on `status == pending` so that it races the worker's
///   `InventoryRepo::fulfil` with exactly one winner; `InvalidState(current)` otherwise,
///   `NotFound` when there is no such order; `Busy` when a settlement holds the order
///   for longer than a moment (a worker that died inside its transaction holds it
///   until the store reaps the transaction), instead of waiting out the call's bound;
/// - leave out of `unpublished` the orders whose `publish_refusal` is set aside or has a
///   `retry_at` after `now`, and list exactly the set-aside ones in `set_aside`;
///   `mark_published` clears the refusal;
/// - make `claim_notification` a compare-and-set: it returns true to exactly one caller
///   while the order is not notified and no unexpired claim is held;
/// - list in `due_notifications` exactly the orders whose `notify_due_at` is at or
///   before `now` and whose claim is free, earliest due first; `finish_notification`
///   and `abandon_notification` clear `notify_due_at` and the claim,
///   `defer_notification` moves it and releases the claim; `count_owed_notifications`
///   counts orders with a `notify_due_at`;
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait OrderRepo: super::Health {
    async fn insert(&self, order: &Order) -> Result<(), OrderRepoError>;
    async fn get(&self, id: OrderId) -> Result<Option<Order>, OrderRepoError>;
    async fn by_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<Order>, OrderRepoError>;
    async fn list_for_user(
        &self,
        user: UserId,
        limit: usize,
        cursor: Option<OrderCursor>,
    ) -> Result<OrderPage, OrderRepoError>;
    async fn cancel(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<Order, OrderRepoError>;

    /// Orders the queue has not accepted yet, created before `created_before`, oldest
    /// first, except those refused and not due again by `now` (or set aside).
    async fn unpublished(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError>;
    async fn mark_published(&self, ids: &[OrderId]) -> Result<(), OrderRepoError>;
    /// Records that the queue refused the order's message (unless it was published
    /// meanwhile).
    async fn refuse_publication(
        &self,
        id: OrderId,
        refusal: &PublishRefusal,
    ) -> Result<(), OrderRepoError>;
    /// Unpublished orders the relay set aside, oldest first.
    async fn set_aside(&self, limit: usize) -> Result<Vec<Order>, OrderRepoError>;
    /// How many orders are set aside, counted up to `cap` (a gauge).
    async fn count_set_aside(&self, cap: usize) -> Result<usize, OrderRepoError>;
    /// Clears a set-aside order's refusal so the scan publishes it again; false when
    /// the order is not set aside (`NotFound` when there is no such order).
    async fn retry_set_aside(&self, id: OrderId) -> Result<bool, OrderRepoError>;
    /// How many orders are unpublished, counted up to `cap` (a gauge, read every
    /// second: it must not load the orders themselves).
    async fn count_unpublished(&self, cap: usize) -> Result<usize, OrderRepoError>;

    /// Published pending orders created before `older_than` and not swept since then,
    /// oldest first (unpublished ones are the scan's): orders whose message may have been lost (a purged queue, a redrive gone
    /// wrong) and that the sweep publishes again.
    async fn stale_pending(
        &self,
        older_than: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError>;
    async fn mark_swept(&self, ids: &[OrderId], at: DateTime<Utc>) -> Result<(), OrderRepoError>;

    async fn claim_notification(
        &self,
        id: OrderId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, OrderRepoError>;
    async fn finish_notification(&self, id: OrderId) -> Result<(), OrderRepoError>;
    /// Orders whose outcome email is due by `now` and not claimed.
    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError>;
    /// After a failed send: the email is due again at `due_at`, after `failures` failures.
    async fn defer_notification(
        &self,
        id: OrderId,
        due_at: DateTime<Utc>,
        failures: u32,
    ) -> Result<(), OrderRepoError>;
    /// Stops trying to send the outcome email (never sent).
    async fn abandon_notification(&self, id: OrderId) -> Result<(), OrderRepoError>;
    /// Orders whose outcome email is owed (due now or later), counted up to `cap`.
    async fn count_owed_notifications(&self, cap: usize) -> Result<usize, OrderRepoError>;
    async fn release_notification(&self, id: OrderId) -> Result<(), OrderRepoError>;
}
