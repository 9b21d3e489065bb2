use chrono::{DateTime, Utc};
use orderflow_core::domain::{
    Email, IdempotencyKey, Order, OrderId, Product, PublishRefusal, RefreshTokenHash, Session,
    SessionFamilyId, Sku, User, UserId,
};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Users, sessions, orders, products and leases in memory. Cloning shares the same data.
///
/// Locks are never held across an `.await` (every method does its work synchronously
/// inside one critical section), and `fulfil` takes `orders` before `products`, the
/// only place both are held, so there is one lock order and no deadlock.
#[derive(Clone, Default)]
pub struct MemoryStore {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) users: RwLock<Users>,
    pub(crate) sessions: Mutex<Sessions>,
    pub(crate) orders: RwLock<Orders>,
    pub(crate) products: RwLock<BTreeMap<Sku, Product>>,
    pub(crate) leases: Mutex<crate::leases::LeaseTable>,
    /// Password-reset tokens by hash.
    pub(crate) resets:
        Mutex<HashMap<orderflow_core::domain::ResetTokenHash, orderflow_core::domain::ResetToken>>,
    pub(crate) webhooks: Mutex<crate::webhooks::Tables>,
}

#[derive(Default)]
pub(crate) struct Users {
    pub(crate) by_id: HashMap<UserId, User>,
    pub(crate) by_email: HashMap<Email, UserId>,
}

#[derive(Default)]
pub(crate) struct Sessions {
    pub(crate) families: HashMap<SessionFamilyId, Session>,
    /// Every hash a family ever had (current and previous) points at that family.
    pub(crate) by_hash: HashMap<RefreshTokenHash, SessionFamilyId>,
    /// Revoked families by when they were revoked.
    pub(crate) revoked: BTreeSet<(chrono::DateTime<chrono::Utc>, SessionFamilyId)>,
}

impl Sessions {
    /// Revokes a family at `now` unless it already was; whether this call revoked it.
    pub(crate) fn revoke(
        &mut self,
        family: SessionFamilyId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let Some(f) = self.families.get_mut(&family) else {
            return false;
        };
        if f.revoked_at.is_some() {
            return false;
        }
        f.revoked_at = Some(now);
        self.revoked.insert((now, family));
        true
    }
}

/// Position of an order in its owner's newest-first list.
pub(crate) type ListKey = (chrono::DateTime<chrono::Utc>, OrderId);

/// B-trees rather than hash maps for everything that grows with the number of orders:
/// a hash map doubles its table in one go, and under the write lock that stalls every
/// request for tens to hundreds of milliseconds once the store holds a few hundred
/// thousand orders (BENCHMARKS.md). A B-tree grows a node at a time, and order ids (UUIDv7) arrive in
/// ascending order, so inserts append.
#[derive(Default)]
pub(crate) struct Orders {
    pub(crate) by_id: BTreeMap<OrderId, Order>,
    pub(crate) by_user: HashMap<UserId, BTreeSet<ListKey>>,
    pub(crate) by_key: BTreeMap<(UserId, IdempotencyKey), OrderId>,
    /// Every order, for the order desk's newest-first search.
    pub(crate) by_time: BTreeSet<ListKey>,
    /// The outbox: orders not yet accepted by the queue, oldest first.
    pub(crate) unpublished: BTreeSet<ListKey>,
    /// The outbox's record of the queue refusing an unpublished order's message.
    pub(crate) refusals: HashMap<OrderId, PublishRefusal>,
    /// When the sweep last republished an order.
    pub(crate) swept: BTreeMap<OrderId, DateTime<Utc>>,
    /// The notification ledger: owed emails by order, and the same by when they are due.
    pub(crate) emails: BTreeMap<OrderId, OwedState>,
    pub(crate) owed: BTreeSet<ListKey>,
    /// Orders whose outcome email went out: no claim is granted on them again.
    pub(crate) notified: BTreeSet<OrderId>,
    /// The ledger's claims: a worker holds the right to send an order's outcome email
    /// until then, so two workers racing on one order do not both mail the customer.
    pub(crate) claims: HashMap<OrderId, DateTime<Utc>>,
    /// Orders with status changes not yet handed to the webhook endpoints (marked in
    /// the same critical section as the change), by the time of their latest change
    /// (so the ones older than a time go in one split); and how many were handed out
    /// of the orders that may still change.
    pub(crate) hooks_owed: BTreeSet<ListKey>,
    pub(crate) hooks_fanned: BTreeMap<OrderId, usize>,
}

/// An owed email's place in the ledger.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OwedState {
    pub(crate) due_at: DateTime<Utc>,
    pub(crate) failures: u32,
}

impl Orders {
    /// Sets when an order's outcome email is due (`None`: no longer owed), keeping
    /// `owed` in step with `emails`. Failures so far are kept while it stays owed.
    pub(crate) fn set_due(&mut self, id: OrderId, due: Option<DateTime<Utc>>) {
        if let Some(before) = self.emails.get(&id) {
            self.owed.remove(&(before.due_at, id));
        }
        match due {
            Some(due_at) => {
                self.emails
                    .entry(id)
                    .or_insert(OwedState {
                        due_at,
                        failures: 0,
                    })
                    .due_at = due_at;
                self.owed.insert((due_at, id));
            }
            None => {
                self.emails.remove(&id);
            }
        }
    }

    /// Marks `order`'s latest change as owed to the webhook endpoints; `was` is when it
    /// last changed before (its mark, if still owed, moves).
    pub(crate) fn owe_hooks(&mut self, order: &Order, was: DateTime<Utc>) {
        self.hooks_owed.remove(&(was, order.id));
        self.hooks_owed.insert((order.updated_at, order.id));
    }

    /// Whether the queue has accepted the order's message.
    pub(crate) fn is_published(&self, order: &Order) -> bool {
        !self.unpublished.contains(&(order.created_at, order.id))
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Total units on hand across all products; for tests and the soak's ledger check.
    pub fn total_stock(&self) -> u64 {
        self.inner
            .products
            .read()
            .values()
            .map(|p| u64::from(p.stock))
            .sum()
    }

    /// Every order, for test assertions.
    pub fn all_orders(&self) -> Vec<Order> {
        self.inner.orders.read().by_id.values().cloned().collect()
    }
}

/// Nothing outside the process to ask.
#[async_trait::async_trait]
impl orderflow_core::ports::Health for MemoryStore {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Ok(())
    }
}
