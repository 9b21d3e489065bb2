use super::InventoryError;
use crate::domain::{FulfilmentOutcome, Order, OrderId};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Fulfilment {
    /// The order as it is after this call.
    pub order: Order,
    pub outcome: FulfilmentOutcome,
}

/// The one authoritative stock-taking step: settles a pending order against the
/// products' stock.
///
/// MUST:
/// - make `fulfil` ONE atomic unit over products and the order: if the order is pending,
///   apply what `Order::settlement` decides from the stock read in that unit (take
///   `Settlement::takes`, record its status change through `Order::apply`, and make
///   the outcome email owed in the `NotificationLedger`, due at
///   `Settlement::email_due_at`, so it is owed even if the caller dies at once); if it is
///   not pending, change nothing and report `AlreadyFinal`. A repeated call never takes
///   stock twice;
/// - never let any product's stock go below zero, under any concurrency;
/// - return `NotFound` for an unknown order;
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait OrderSettlement: super::Health {
    async fn fulfil(&self, order: OrderId, at: DateTime<Utc>)
        -> Result<Fulfilment, InventoryError>;
}
