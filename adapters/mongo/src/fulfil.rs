//! The worker's step: take stock for every line and move the order out of `pending`,
//! as ONE multi-document transaction. Conditional writes (`stock >= qty`,
//! `status == pending`) plus the transaction's write-conflict detection mean that no
//! interleaving oversells or settles an order twice.

use crate::docs::{bdate, HistoryDoc};
use crate::MongoStore;
use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Document};
use mongodb::error::{Error, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::ClientSession;
use orderflow_core::domain::{Order, OrderId, OrderStatus, Settlement, Sku};
use orderflow_core::ports::{Fulfilment, FulfilmentOutcome, InventoryError};
use orderflow_core::retry::Backoff;
use orderflow_core::BoxError;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

impl MongoStore {
    pub(crate) async fn fulfil_in_transaction(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Fulfilment, BoxError> {
        let mut session = self.client.start_session().await?;
        let mut conflicts = 0u32;
        loop {
            // Read outside the transaction: lines never change, and the status is
            // checked again by the conditional update inside it.
            let Some(doc) = self.orders.find_one(doc! {"_id": id.to_string()}).await? else {
                return Err(Box::new(InventoryError::NotFound));
            };
            let order = Order::try_from(doc)?;
            if order.status != OrderStatus::Pending {
                return Ok(Fulfilment {
                    order,
                    outcome: FulfilmentOutcome::AlreadyFinal,
                    email_claimed_until: None,
                });
            }
            // Taken before the transaction starts: its snapshot must not predate the
            // commit of the settlement it waited for, or it would conflict anyway.
            let turn = self.turns.take(&order).await;
            session.start_transaction().await?;
            let attempt = match self.attempt(&mut session, order, at).await {
                Ok(a) => a,
                Err(e) => {
                    let _ = session.abort_transaction().await;
                    if e.contains_label(TRANSIENT_TRANSACTION_ERROR) {
                        tracing::debug!(error = %e, "transient transaction error; retrying");
                        conflicts += 1;
                        self.meter.store_conflict_retry();
                        drop(turn); // others in this process need not wait out our back-off
                        back_off(conflicts).await;
                        continue;
                    }
                    return Err(e.into());
                }
            };
            let Some(f) = attempt else {
                // It left pending since it was read (a cancel): the next read says how.
                let _ = session.abort_transaction().await;
                continue;
            };
            match commit(&mut session).await {
                Ok(()) => return Ok(f),
                Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                    conflicts += 1;
                    self.meter.store_conflict_retry();
                    drop(turn);
                    back_off(conflicts).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Takes stock and settles a pending order inside the session's transaction; None
    /// if the order is no longer pending.
    async fn attempt(
        &self,
        session: &mut ClientSession,
        mut order: Order,
        at: DateTime<Utc>,
    ) -> Result<Option<Fulfilment>, Error> {
        let id = order.id;
        let stock = self
            .read_stock(session, std::slice::from_ref(&order))
            .await?;
        let on_hand = |sku: &Sku| stock.get(sku.as_str()).copied();
        let Ok(settlement) = order.settlement(on_hand, at) else {
            return Ok(None);
        };
        for (sku, n) in settlement.takes(&order) {
            let qty = i64::from(n);
            let r = self
                .products
                .update_one(
                    doc! {"_id": sku.as_str(), "stock": {"$gte": qty}},
                    doc! {"$inc": {"stock": -qty}},
                )
                .session(&mut *session)
                .await?;
            if r.matched_count != 1 {
                // Read above inside this transaction; a concurrent change surfaces as
                // a write conflict, so this is only reachable if the store lies.
                return Err(Error::custom(format!(
                    "stock for {sku} changed inside the transaction"
                )));
            }
        }
        if order.apply(&settlement).is_err() {
            return Ok(None);
        }
        let r = self
            .orders
            .update_one(
                doc! {"_id": id.to_string(), "status": OrderStatus::Pending.as_str()},
                settled(&order, &settlement, None)?,
            )
            .session(&mut *session)
            .await?;
        if r.matched_count != 1 {
            return Ok(None);
        }
        let outcome = settlement.into_outcome();
        Ok(Some(Fulfilment {
            order,
            outcome,
            email_claimed_until: None,
        }))
    }
}

/// The write that records a settlement on its (still pending) order: its status change,
/// the outcome email owed (and claimed for the settling worker until `claim`, when
/// given), the change owed to the webhook endpoints.
pub(crate) fn settled(
    order: &Order,
    settlement: &Settlement,
    claim: Option<DateTime<Utc>>,
) -> Result<Document, Error> {
    let entry = mongodb::bson::to_document(&HistoryDoc::from(settlement.change()))
        .map_err(|e| Error::custom(e.to_string()))?;
    let mut set = doc! {
        "status": order.status.as_str(),
        "updated_at": bdate(order.updated_at),
        "notify_due_at": bdate(settlement.email_due_at()),
        "hooks_owed": true,
    };
    if let Some(until) = claim {
        set.insert("notify_claimed_until", bdate(until));
    }
    Ok(doc! {"$set": set, "$push": {"history": entry}})
}

/// Settlements in this process that share a product take turns, so a popular
/// product's orders are not run as concurrent transactions that all but one of them
/// lose on a write conflict and retry (three tries per order on average with one hot
/// product, see BENCHMARKS.md). Products are spread over a fixed set of locks; other
/// processes' settlements still conflict, and the transaction still decides.
pub(crate) struct Turns(Vec<Arc<Mutex<()>>>);

impl Turns {
    const LOCKS: usize = 64;

    pub(crate) fn new() -> Self {
        Self((0..Self::LOCKS).map(|_| Arc::default()).collect())
    }

    /// Locks for every product of the order, always taken in the same order so two
    /// orders sharing products cannot each hold what the other waits for.
    async fn take(&self, order: &Order) -> Vec<OwnedMutexGuard<()>> {
        self.take_all(std::slice::from_ref(order)).await
    }

    /// Locks for every product of the orders, in the same order as `take`.
    pub(crate) async fn take_all(&self, orders: &[Order]) -> Vec<OwnedMutexGuard<()>> {
        let mut slots: Vec<usize> = orders
            .iter()
            .flat_map(|o| o.lines.iter())
            .map(|l| {
                let mut h = std::hash::DefaultHasher::new();
                l.sku.as_str().hash(&mut h);
                (h.finish() % Self::LOCKS as u64) as usize
            })
            .collect();
        slots.sort_unstable();
        slots.dedup();
        let mut held = Vec::with_capacity(slots.len());
        for i in slots {
            held.push(self.0[i].clone().lock_owned().await);
        }
        held
    }
}

/// Pauses after the n-th write conflict in a row: random and growing, so transactions
/// racing for the same product (the last units of a popular SKU) spread out instead of
/// colliding again in lock-step.
const CONFLICT: Backoff = Backoff::new(Duration::from_millis(4), Duration::from_millis(250));

pub(crate) async fn back_off(conflicts: u32) {
    tokio::time::sleep(CONFLICT.after(conflicts)).await;
}

/// Commits, retrying only the commit on `UnknownTransactionCommitResult` as the
/// driver's specification prescribes.
pub(crate) async fn commit(session: &mut ClientSession) -> Result<(), Error> {
    loop {
        match session.commit_transaction().await {
            Ok(()) => return Ok(()),
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => continue,
            Err(e) => return Err(e),
        }
    }
}
