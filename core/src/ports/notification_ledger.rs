use super::OrderRepoError;
use crate::domain::{Order, OrderId};
use chrono::{DateTime, Utc};

/// Which outcome emails are owed, who is sending each, and which went out. An email is
/// owed from the moment its order settles (`OrderSettlement::fulfil` records
/// `notify_due_at` in the same atomic unit), so no crash can lose it.
///
/// MUST:
/// - make `claim_notification` a compare-and-set: it returns true to exactly one caller
///   while the order is not notified and no unexpired claim is held;
/// - list in `due_notifications` exactly the orders whose `notify_due_at` is at or
///   before `now` and whose claim is free, earliest due first;
/// - have `finish_notification` and `abandon_notification` clear `notify_due_at` and
///   the claim (`finish_notification` also marks the order notified);
///   `defer_notification` moves `notify_due_at` and releases the claim;
///   `release_notification` releases the claim alone;
/// - count in `count_owed_notifications` the orders with a `notify_due_at`, without
///   loading them;
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait NotificationLedger: super::Health {
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
