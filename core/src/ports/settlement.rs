use super::InventoryError;
use crate::domain::{FulfilmentOutcome, Order, OrderId};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Fulfilment {
    /// The order as it is after this call.
    pub order: Order,
    pub outcome: FulfilmentOutcome,
    /// Until when this call's caller holds the claim on the order's outcome email
    /// (`fulfil_many` with a claim, for an order it settled): the caller sends it without
    /// claiming it first. `None`: whoever sends it claims it through the ledger.
    pub email_claimed_until: Option<DateTime<Utc>>,
}

/// The one authoritative stock-taking step: settles a pending order against the
/// products' stock.
///
/// MUST:
/// - make `fulfil` settle a pending order as one unit over products and the order:
///   apply what `Order::settlement` decides from the stock it reads (take
///   `Settlement::takes`, record its status change through `Order::apply`, and make
///   the outcome email owed in the `NotificationLedger`, due at
///   `Settlement::email_due_at`, so it is owed even if the caller dies at once); if it is
///   not pending, change nothing and report `AlreadyFinal`. The unit is either atomic
///   (a transaction) or a take recorded with the orders it was taken for, in the same
///   single write as the take, which the order's next call completes: it completes a
///   still-pending order from those units without taking again, and gives back those
///   of an order that left pending otherwise (cancelled) — so a caller that dies
///   between the two halves loses no stock, takes none twice, and holds up nobody. A
///   repeated call never takes stock twice;
/// - never let any product's stock go below zero, under any concurrency;
/// - return `NotFound` for an unknown order;
/// - return `Unavailable` when the store cannot answer;
/// - make `fulfil_many` settle each of its orders exactly as `fulfil` would, as if one
///   after the other in the order given (an earlier order takes the stock a later one
///   might have had), answering one result per order, in that order. A store SHOULD
///   settle them together (a worker's batch of deliveries then costs a few writes
///   instead of a few each); each order's outcome is still its own;
/// - make `fulfil_many` with `email_claim`, if it claims at all, claim the outcome
///   email of each order it settles for its caller until that time in the same unit
///   (`NotificationLedger::claim_notification` answers false to anyone else until it
///   lapses) and say so in that order's `Fulfilment`; an order it did not settle
///   (already final) is not claimed. A store that cannot leaves them unclaimed.
#[async_trait::async_trait]
pub trait OrderSettlement: super::Health {
    async fn fulfil(&self, order: OrderId, at: DateTime<Utc>)
        -> Result<Fulfilment, InventoryError>;

    async fn fulfil_many(
        &self,
        orders: &[OrderId],
        at: DateTime<Utc>,
        email_claim: Option<DateTime<Utc>>,
    ) -> Vec<Result<Fulfilment, InventoryError>> {
        let _ = email_claim;
        let mut out = Vec::with_capacity(orders.len());
        for id in orders {
            out.push(self.fulfil(*id, at).await);
        }
        out
    }
}
