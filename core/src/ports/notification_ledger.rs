use super::OrderRepoError;
use crate::domain::{Order, OrderId};
use chrono::{DateTime, Utc};

/// An outcome email that is owed: its order, when it is due, and how many sends of it
/// failed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedEmail {
    pub order: Order,
    pub due_at: DateTime<Utc>,
    pub failures: u32,
}

/// Which outcome emails are owed, who is sending each, and which went out. This record
/// is the ledger's, not part of `Order`. An email is owed from the moment its order
/// settles (`OrderSettlement::fulfil` records it in the same atomic unit, due at
/// `Settlement::email_due_at`), so no crash can lose it.
///
/// MUST:
/// - make `claim_notification` a compare-and-set: it returns true to exactly one caller
///   while the order's email has not been sent and no unexpired claim is held;
/// - list in `due_notifications` exactly the owed emails due at or before `now` whose
///   claim is free, earliest due first, with their failures so far;
/// - have `finish_notification` and `abandon_notification` end what is owed and release
///   the claim (after `finish_notification` no claim is ever granted again);
///   `defer_notification` moves the due time, records the failures and releases the
///   claim, and changes nothing once the email was sent or given up;
///   `release_notification` releases the claim alone; `make_due` moves every owed email
///   due after `now` to `now`, keeping its failures and any claim, and returns how
///   many it moved;
/// - count in `count_owed_notifications` the owed emails, due now or later, and in
///   `count_failing_notifications` those of them with at least one failed send, without
///   loading the orders;
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
    ) -> Result<Vec<OwedEmail>, OrderRepoError>;
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
    /// Owed emails whose last send failed, counted up to `cap`: zero unless the mail
    /// provider is refusing or unreachable.
    async fn count_failing_notifications(&self, cap: usize) -> Result<usize, OrderRepoError>;
    async fn release_notification(&self, id: OrderId) -> Result<(), OrderRepoError>;
    /// Makes every owed email due by `now` (an operator's retry after a mail outage).
    async fn make_due(&self, now: DateTime<Utc>) -> Result<usize, OrderRepoError>;
}
