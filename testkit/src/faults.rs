//! Adapters wrapped with a switch that makes them fail like an unreachable service.

use chrono::{DateTime, Utc};
use orderflow_core::domain::{
    IdempotencyKey, Order, OrderCursor, OrderId, OrderPage, OrderSearch, Product, ProductCursor,
    ProductPage, ProductPatch, PublishRefusal, Sku, UserId,
};
use orderflow_core::ports::{
    DeadLetter, Delivery, Fulfilment, InventoryError, InventoryRepo, NotificationLedger,
    OrderRepoError, OrderSettlement, Orders, Outbox, Outgoing, OwedEmail, PendingOrders, Published,
    Queue, QueueError, Receipt, Refused, SetAside, Unpublished,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::time::Duration;

/// A queue that answers `Unavailable` to everything while switched off, and can be
/// told to refuse every message whose body contains a given text (as SQS refuses one
/// entry of a batch).
#[derive(Clone)]
pub struct SwitchableQueue {
    inner: Arc<dyn Queue>,
    down: Arc<AtomicBool>,
    refuse: Arc<StdMutex<Option<String>>>,
}

impl SwitchableQueue {
    pub fn new(inner: Arc<dyn Queue>) -> Self {
        Self {
            inner,
            down: Arc::new(AtomicBool::new(false)),
            refuse: Arc::new(StdMutex::new(None)),
        }
    }

    /// Refuses, entry by entry, every message whose body contains `text` (`None`: none).
    pub fn refuse_containing(&self, text: Option<String>) {
        *self.refuse.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), QueueError> {
        if self.down.load(Ordering::SeqCst) {
            Err(QueueError::Unavailable(
                "queue switched off by the test".into(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl orderflow_core::ports::Health for SwitchableQueue {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        self.check()?;
        self.inner.health().await
    }
}

#[async_trait::async_trait]
impl Queue for SwitchableQueue {
    async fn publish(&self, messages: &[Outgoing]) -> Result<Published, QueueError> {
        self.check()?;
        let refuse = self
            .refuse
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(text) = refuse else {
            return self.inner.publish(messages).await;
        };
        let (refused, passed): (Vec<_>, Vec<_>) = messages
            .iter()
            .enumerate()
            .partition(|(_, m)| m.body.contains(&text));
        let outgoing: Vec<Outgoing> = passed.iter().map(|(_, m)| (*m).clone()).collect();
        let inner = self.inner.publish(&outgoing).await?;
        let mut published = Published {
            refused: refused
                .iter()
                .map(|(index, _)| Refused {
                    index: *index,
                    reason: "refused by the test".into(),
                })
                .collect(),
        };
        published
            .refused
            .extend(inner.refused.into_iter().map(|r| Refused {
                index: passed[r.index].0,
                reason: r.reason,
            }));
        published.refused.sort_by_key(|r| r.index);
        Ok(published)
    }
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        self.check()?;
        self.inner.receive(max, wait).await
    }
    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError> {
        self.check()?;
        self.inner.ack(receipt).await
    }
    async fn ack_many(&self, receipts: &[Receipt]) -> Result<(), QueueError> {
        self.check()?;
        self.inner.ack_many(receipts).await
    }
    async fn retry_after(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError> {
        self.check()?;
        self.inner.retry_after(receipt, delay).await
    }
    async fn extend(&self, receipt: &Receipt, by: Duration) -> Result<(), QueueError> {
        self.check()?;
        self.inner.extend(receipt, by).await
    }
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.check()?;
        self.inner.dead_letters(limit).await
    }
    async fn redrive(&self, limit: usize) -> Result<usize, QueueError> {
        self.check()?;
        self.inner.redrive(limit).await
    }
    async fn count_dead_letters(&self) -> Result<usize, QueueError> {
        self.check()?;
        self.inner.count_dead_letters().await
    }
    async fn drop_dead_letter(&self, message_id: &str) -> Result<bool, QueueError> {
        self.check()?;
        self.inner.drop_dead_letter(message_id).await
    }
}

/// The order-side and inventory ports of a store, answering `Unavailable` while switched
/// off: a database outage as the worker sees it. It also counts the sweep's reads, and
/// can make them hang (a store that stopped answering mid-sweep).
#[derive(Clone)]
pub struct SwitchableStore {
    orders: Arc<dyn Orders>,
    outbox: Arc<dyn Outbox>,
    ledger: Arc<dyn NotificationLedger>,
    inventory: Arc<dyn InventoryRepo>,
    settlement: Arc<dyn OrderSettlement>,
    down: Arc<AtomicBool>,
    sweep_reads: Arc<std::sync::atomic::AtomicUsize>,
    hang_sweeps: Arc<AtomicBool>,
}

impl SwitchableStore {
    /// Wraps the order, outbox, ledger, inventory and settlement ports of `a` (one
    /// store) and puts the wrapped ones in their place.
    pub fn wrap(a: &mut orderflow::wiring::Adapters) -> Self {
        let s = Self {
            orders: a.store.orders.clone(),
            outbox: a.store.outbox.clone(),
            ledger: a.store.ledger.clone(),
            inventory: a.store.inventory.clone(),
            settlement: a.store.settlement.clone(),
            down: Arc::new(AtomicBool::new(false)),
            sweep_reads: Arc::default(),
            hang_sweeps: Arc::default(),
        };
        a.store.orders = Arc::new(s.clone());
        a.store.outbox = Arc::new(s.clone());
        a.store.ledger = Arc::new(s.clone());
        a.store.inventory = Arc::new(s.clone());
        a.store.settlement = Arc::new(s.clone());
        s
    }

    /// How many times the sweep has read stale orders through this handle.
    pub fn sweep_reads(&self) -> usize {
        self.sweep_reads.load(Ordering::SeqCst)
    }

    /// Whether the sweep's reads never answer.
    pub fn hang_sweeps(&self, hang: bool) {
        self.hang_sweeps.store(hang, Ordering::SeqCst);
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn up(&self) -> bool {
        !self.down.load(Ordering::SeqCst)
    }
}

macro_rules! guard {
    ($self:ident, $err:path) => {
        if !$self.up() {
            return Err($err("store switched off by the test".into()));
        }
    };
}

#[async_trait::async_trait]
impl orderflow_core::ports::Health for SwitchableStore {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        if !self.up() {
            return Err("store switched off by the test".into());
        }
        self.orders.health().await
    }
}

#[async_trait::async_trait]
impl Orders for SwitchableStore {
    async fn insert(&self, order: &Order) -> Result<(), OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.orders.insert(order).await
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.orders.get(id).await
    }

    async fn by_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<Order>, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.orders.by_idempotency_key(user, key).await
    }

    async fn list_for_user(
        &self,
        user: UserId,
        limit: usize,
        cursor: Option<OrderCursor>,
    ) -> Result<OrderPage, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.orders.list_for_user(user, limit, cursor).await
    }

    async fn search(
        &self,
        filter: &OrderSearch,
        limit: usize,
        cursor: Option<OrderCursor>,
    ) -> Result<OrderPage, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.orders.search(filter, limit, cursor).await
    }

    async fn cancel(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        reason: Option<String>,
        email_owed: bool,
    ) -> Result<Order, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.orders.cancel(id, at, reason, email_owed).await
    }
}

#[async_trait::async_trait]
impl Outbox for SwitchableStore {
    async fn unpublished(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Unpublished>, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.unpublished(created_before, now, limit).await
    }

    async fn refuse_publication(
        &self,
        id: OrderId,
        refusal: &PublishRefusal,
    ) -> Result<(), OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.refuse_publication(id, refusal).await
    }

    async fn set_aside(&self, limit: usize) -> Result<Vec<SetAside>, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.set_aside(limit).await
    }

    async fn count_set_aside(&self, cap: usize) -> Result<usize, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.count_set_aside(cap).await
    }

    async fn retry_set_aside(&self, id: OrderId) -> Result<bool, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.retry_set_aside(id).await
    }

    async fn count_unpublished(&self, cap: usize) -> Result<usize, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.count_unpublished(cap).await
    }

    async fn mark_published(&self, ids: &[OrderId]) -> Result<(), OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.mark_published(ids).await
    }

    async fn stale_pending(
        &self,
        older_than: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError> {
        self.sweep_reads.fetch_add(1, Ordering::SeqCst);
        if self.hang_sweeps.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.stale_pending(older_than, limit).await
    }

    async fn mark_swept(&self, ids: &[OrderId], at: DateTime<Utc>) -> Result<(), OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.mark_swept(ids, at).await
    }

    async fn pending_orders(&self, cap: usize) -> Result<PendingOrders, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.outbox.pending_orders(cap).await
    }
}

#[async_trait::async_trait]
impl NotificationLedger for SwitchableStore {
    async fn claim_notification(
        &self,
        id: OrderId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.claim_notification(id, now, until).await
    }

    async fn finish_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.finish_notification(id).await
    }

    async fn release_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.release_notification(id).await
    }

    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OwedEmail>, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.due_notifications(now, limit).await
    }

    async fn defer_notification(
        &self,
        id: OrderId,
        due_at: DateTime<Utc>,
        failures: u32,
    ) -> Result<(), OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.defer_notification(id, due_at, failures).await
    }

    async fn abandon_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.abandon_notification(id).await
    }

    async fn count_owed_notifications(&self, cap: usize) -> Result<usize, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.count_owed_notifications(cap).await
    }

    async fn count_failing_notifications(&self, cap: usize) -> Result<usize, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.count_failing_notifications(cap).await
    }

    async fn make_due(&self, now: DateTime<Utc>) -> Result<usize, OrderRepoError> {
        guard!(self, OrderRepoError::Unavailable);
        self.ledger.make_due(now).await
    }
}

#[async_trait::async_trait]
impl InventoryRepo for SwitchableStore {
    async fn insert(&self, product: &Product) -> Result<(), InventoryError> {
        guard!(self, InventoryError::Unavailable);
        self.inventory.insert(product).await
    }
    async fn get(&self, sku: &Sku) -> Result<Option<Product>, InventoryError> {
        guard!(self, InventoryError::Unavailable);
        self.inventory.get(sku).await
    }
    async fn get_many(&self, skus: &[Sku]) -> Result<Vec<Product>, InventoryError> {
        guard!(self, InventoryError::Unavailable);
        self.inventory.get_many(skus).await
    }
    async fn list(
        &self,
        limit: usize,
        after: Option<&ProductCursor>,
    ) -> Result<ProductPage, InventoryError> {
        guard!(self, InventoryError::Unavailable);
        self.inventory.list(limit, after).await
    }
    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> Result<Product, InventoryError> {
        guard!(self, InventoryError::Unavailable);
        self.inventory.update(sku, patch).await
    }
}

#[async_trait::async_trait]
impl OrderSettlement for SwitchableStore {
    async fn fulfil(
        &self,
        order: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Fulfilment, InventoryError> {
        guard!(self, InventoryError::Unavailable);
        self.settlement.fulfil(order, at).await
    }
}

/// A mail server that accepts the connection and never answers: every send waits
/// forever (bounded only by whatever deadline the caller puts on it).
pub struct HungMailer;

#[async_trait::async_trait]
impl orderflow_core::ports::Health for HungMailer {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl orderflow_core::ports::Mailer for HungMailer {
    async fn send(
        &self,
        _: &orderflow_core::ports::OutgoingEmail,
    ) -> Result<(), orderflow_core::ports::MailError> {
        std::future::pending().await
    }
}
