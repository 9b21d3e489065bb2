use crate::domain::{
    IdempotencyKey, Order, OrderCursor, OrderId, OrderPage, OrderSearch, OrderStatus, UserId,
};
use crate::BoxError;
use chrono::{DateTime, Utc};

/// What the order ports (`Orders`, `Outbox`, `NotificationLedger`) answer besides
/// their result.
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

/// Where orders live: what customers and admins place, read, list and cancel.
/// `Outbox`, `NotificationLedger` and `OrderSettlement` are the other ports over the
/// same orders; an adapter may implement any of them on one type.
///
/// MUST:
/// - keep times to the millisecond: an order whose times are whole milliseconds reads
///   back equal to the order written;
/// - return `DuplicateIdempotencyKey` from `insert` when the same user already has an
///   order with the same key, also when two inserts race (exactly one succeeds);
///   `insert` stores the order unpublished (for the `Outbox`);
/// - list a user's orders newest first by `(created_at, id)`, starting strictly after
///   `cursor`; a page is stable: inserting newer orders never shifts later pages;
/// - answer `search` the same way over every user's orders, with exactly the orders
///   `OrderSearch::matches` accepts (every filter holds), from an index for each
///   single filter (the order desk must not scan the collection);
/// - make `cancel` conditional on `status == pending` so that it races
///   `OrderSettlement::fulfil` with exactly one winner; `InvalidState(current)`
///   otherwise, `NotFound` when there is no such order; `Busy` when a settlement holds
///   the order for longer than a moment (a settlement whose worker died holds it until
///   the store gives it up), instead of waiting out the call's bound; with
///   `email_owed`, record in the same write that the customer is owed an email about
///   it (`NotificationLedger`, due at `at`), and never when the cancel is refused;
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait Orders: super::Health {
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
    /// Orders of every user that pass `filter`, newest first (the admin order desk).
    async fn search(
        &self,
        filter: &OrderSearch,
        limit: usize,
        cursor: Option<OrderCursor>,
    ) -> Result<OrderPage, OrderRepoError>;
    async fn cancel(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        reason: Option<String>,
        email_owed: bool,
    ) -> Result<Order, OrderRepoError>;
}
