//! The store ports one backing store implements, handed together to the order-side
//! suites (`orders`, `outbox`, `notification_ledger`, `inventory`, `settlement`): each
//! suite tests its own port, setting up state through the others.

use orderflow_core::ports::{InventoryRepo, NotificationLedger, OrderSettlement, Orders, Outbox};
use std::sync::Arc;

#[derive(Clone)]
pub struct Store {
    pub orders: Arc<dyn Orders>,
    pub outbox: Arc<dyn Outbox>,
    pub ledger: Arc<dyn NotificationLedger>,
    pub inventory: Arc<dyn InventoryRepo>,
    pub settlement: Arc<dyn OrderSettlement>,
}

impl Store {
    /// Every port from one store.
    pub fn of<S>(s: S) -> Self
    where
        S: Orders + Outbox + NotificationLedger + InventoryRepo + OrderSettlement + Clone + 'static,
    {
        Self {
            orders: Arc::new(s.clone()),
            outbox: Arc::new(s.clone()),
            ledger: Arc::new(s.clone()),
            inventory: Arc::new(s.clone()),
            settlement: Arc::new(s),
        }
    }
}
