//! A worker's batch of settlements as ONE transaction: the orders read together (before
//! it), each product's stock taken by one conditional statement for the whole batch,
//! every order moved by one statement each in one `update` command, then the commit:
//! four commands for the batch instead of five per order (six with the session record
//! and its removal, `dead_settlements.rs`).
//!
//! The stock statements come first and take everything the batch wants, unread: while
//! the products have it (all but the last units of a sale), every order completes, and
//! the transaction writes the products within a round trip of its start, which is what
//! keeps the window in which another process's settlement of the same product conflicts
//! with it short. When a product is short, that try is abandoned and the next reads the
//! stock and lets the domain decide order by order, in the batch's order, against what
//! the earlier ones left.

use crate::docs::ProductDoc;
use crate::fulfil::{back_off, commit, settled};
use crate::MongoStore;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::{Error, TRANSIENT_TRANSACTION_ERROR};
use mongodb::ClientSession;
use orderflow_core::domain::{Order, OrderId, OrderStatus, Sku};
use orderflow_core::ports::{Fulfilment, FulfilmentOutcome, InventoryError};
use orderflow_core::BoxError;
use std::collections::HashMap;
use std::time::Instant;

type Outcomes = Vec<Result<Fulfilment, InventoryError>>;

/// What the orders want of each product, all of them together.
fn wanted(orders: &[Order]) -> Vec<(Sku, u32)> {
    let mut want: Vec<(Sku, u32)> = Vec::new();
    for line in orders.iter().flat_map(|o| o.lines.iter()) {
        let n = line.quantity.get();
        match want.iter_mut().find(|(s, _)| *s == line.sku) {
            Some((_, total)) => *total = total.saturating_add(n),
            None => want.push((line.sku.clone(), n)),
        }
    }
    want
}

/// Every id's outcome; an id left without one (none is) would be reported unavailable.
fn answered(outcomes: Vec<Option<Result<Fulfilment, InventoryError>>>) -> Outcomes {
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(InventoryError::Unavailable("not settled".into()))))
        .collect()
}

/// What one try of the batch's transaction came to.
enum Attempt {
    Settled(Vec<Fulfilment>),
    /// An order left pending meanwhile (a cancel), or a statement met a concurrent
    /// write: read again and retry.
    Changed,
    /// A product could not cover the whole batch's want: retry reading the stock.
    Short,
}

/// How a try takes the stock.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Take {
    /// Everything the batch wants, unread (the usual case).
    Whole,
    /// What the stock read in the transaction allows, order by order.
    AsRead,
}

impl MongoStore {
    pub(crate) async fn fulfil_many_in_transaction(
        &self,
        ids: &[OrderId],
        at: DateTime<Utc>,
        claim: Option<DateTime<Utc>>,
    ) -> Result<Outcomes, BoxError> {
        // An order named twice (a duplicate delivery in the same receive) is settled
        // once; its second mention answers as a second `fulfil` would: already final.
        let mut unique: Vec<OrderId> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        let mut session = self.client.start_session().await?;
        let lsid = session.id().clone();
        let settled = self
            .settle_recorded(&mut session, &lsid, &unique, at, claim)
            .await;
        self.forget_settlement_session(&lsid).await;
        let settled = settled?;
        let mut answered = vec![false; unique.len()];
        Ok(ids
            .iter()
            .map(|id| {
                let at = unique.iter().position(|u| u == id).unwrap_or_default();
                let again = std::mem::replace(&mut answered[at], true);
                match &settled[at] {
                    Ok(f) if again => Ok(Fulfilment {
                        order: f.order.clone(),
                        outcome: FulfilmentOutcome::AlreadyFinal,
                        email_claimed_until: None,
                    }),
                    Ok(f) => Ok(f.clone()),
                    Err(InventoryError::NotFound) => Err(InventoryError::NotFound),
                    Err(e) => Err(InventoryError::Unavailable(e.to_string().into())),
                }
            })
            .collect())
    }

    /// The batch's transaction, tried until it commits, its session recorded (and the
    /// record kept fresh) before each try: a worker that dies inside it holds its
    /// products until the record's time at most (`dead_settlements.rs`).
    async fn settle_recorded(
        &self,
        session: &mut ClientSession,
        lsid: &Document,
        ids: &[OrderId],
        at: DateTime<Utc>,
        claim: Option<DateTime<Utc>>,
    ) -> Result<Outcomes, BoxError> {
        let hold = crate::dead_settlements::hold(self);
        let mut recorded: Option<Instant> = None;
        let mut stalled: Option<Instant> = None;
        let mut reaped: Option<Instant> = None;
        let mut conflicts = 0u32;
        let mut take = Take::Whole;
        loop {
            // Read outside the transaction, as `fulfil` does: lines never change, and
            // each order's status is checked again by its conditional statement.
            let (mut outcomes, pending) = self.read_batch(ids).await?;
            if pending.is_empty() {
                return Ok(answered(outcomes));
            }
            let turn = self.turns.take_all(&pending).await;
            if recorded.is_none_or(|t| t.elapsed() >= hold / 2) {
                let until = Utc::now() + chrono::Duration::from_std(hold).unwrap_or_default();
                self.record_settlement_session(lsid, until).await?;
                recorded = Some(Instant::now());
            }
            session.start_transaction().await?;
            let attempt = match self.attempt_many(session, pending, at, claim, take).await {
                Ok(Attempt::Settled(done)) => match commit(session).await {
                    Ok(()) => Some(done),
                    Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => None,
                    Err(e) => return Err(e.into()),
                },
                Ok(Attempt::Short) => {
                    let _ = session.abort_transaction().await;
                    take = Take::AsRead;
                    continue;
                }
                Ok(Attempt::Changed) => {
                    let _ = session.abort_transaction().await;
                    None
                }
                Err(e) => {
                    let _ = session.abort_transaction().await;
                    if !e.contains_label(TRANSIENT_TRANSACTION_ERROR) {
                        return Err(e.into());
                    }
                    None
                }
            };
            let Some(done) = attempt else {
                conflicts += 1;
                self.meter.store_conflict_retry();
                drop(turn);
                let since = *stalled.get_or_insert_with(Instant::now);
                if since.elapsed() >= crate::dead_settlements::STALLED
                    && reaped.is_none_or(|t| t.elapsed() >= crate::dead_settlements::STALLED)
                {
                    reaped = Some(Instant::now());
                    if let Err(e) = self.reap_dead_settlements(Utc::now()).await {
                        tracing::warn!(error = %e, "could not look for dead settlements");
                    }
                }
                back_off(conflicts).await;
                continue;
            };
            for f in done {
                if let Some(at) = ids.iter().position(|id| *id == f.order.id) {
                    outcomes[at] = Some(Ok(f));
                }
            }
            return Ok(answered(outcomes));
        }
    }

    /// The batch's orders in one read: an outcome for each id that is not pending (not
    /// found, already final, unreadable), and the pending orders in the batch's order.
    async fn read_batch(
        &self,
        ids: &[OrderId],
    ) -> Result<(Vec<Option<Result<Fulfilment, InventoryError>>>, Vec<Order>), BoxError> {
        let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let docs: Vec<crate::docs::OrderDoc> = self
            .bounded(async {
                self.orders
                    .find(doc! {"_id": {"$in": keys}})
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        let mut found: HashMap<OrderId, Order> = HashMap::new();
        let mut unreadable = Vec::new();
        for d in docs {
            let id = d.id.clone();
            match Order::try_from(d) {
                Ok(o) => {
                    found.insert(o.id, o);
                }
                Err(e) => unreadable.push((id, e.to_string())),
            }
        }
        let mut outcomes = Vec::with_capacity(ids.len());
        let mut pending = Vec::new();
        for id in ids {
            outcomes.push(match found.remove(id) {
                Some(order) if order.status == OrderStatus::Pending => {
                    pending.push(order);
                    None
                }
                Some(order) => Some(Ok(Fulfilment {
                    order,
                    outcome: FulfilmentOutcome::AlreadyFinal,
                    email_claimed_until: None,
                })),
                None => Some(Err(
                    match unreadable.iter().find(|(k, _)| *k == id.to_string()) {
                        Some((_, e)) => InventoryError::Unavailable(e.clone().into()),
                        None => InventoryError::NotFound,
                    },
                )),
            });
        }
        Ok((outcomes, pending))
    }

    /// Takes the stock and settles every pending order of the batch inside the
    /// session's transaction.
    async fn attempt_many(
        &self,
        session: &mut ClientSession,
        orders: Vec<Order>,
        at: DateTime<Utc>,
        claim: Option<DateTime<Utc>>,
        take: Take,
    ) -> Result<Attempt, Error> {
        let want = wanted(&orders);
        let mut on_hand: HashMap<String, u32> = match take {
            Take::Whole => match self.take_stock(session, &want).await? {
                Some(true) => want
                    .iter()
                    .map(|(sku, n)| (sku.as_str().to_owned(), *n))
                    .collect(),
                Some(false) => return Ok(Attempt::Short),
                None => return Ok(Attempt::Changed),
            },
            Take::AsRead => self.read_stock(session, &orders).await?,
        };
        let mut taken: Vec<(Sku, u32)> = Vec::new();
        let mut statements = Vec::with_capacity(orders.len());
        let mut done = Vec::with_capacity(orders.len());
        for mut order in orders {
            let stock = |sku: &Sku| on_hand.get(sku.as_str()).copied();
            let Ok(settlement) = order.settlement(stock, at) else {
                return Ok(Attempt::Changed);
            };
            for (sku, n) in settlement.takes(&order) {
                if let Some(left) = on_hand.get_mut(sku.as_str()) {
                    *left = left.saturating_sub(n);
                }
                match taken.iter_mut().find(|(s, _)| s == sku) {
                    Some((_, total)) => *total += n,
                    None => taken.push((sku.clone(), n)),
                }
            }
            if order.apply(&settlement).is_err() {
                return Ok(Attempt::Changed);
            }
            statements.push(doc! {
                "q": {"_id": order.id.to_string(), "status": OrderStatus::Pending.as_str()},
                "u": settled(&order, &settlement, claim)?,
            });
            done.push(Fulfilment {
                order,
                outcome: settlement.into_outcome(),
                email_claimed_until: claim,
            });
        }
        if take == Take::Whole && taken != want {
            // The domain did not take all it was given (it decided otherwise than the
            // stock alone would): what was taken unread is undone with this try.
            return Ok(Attempt::Short);
        }
        if take == Take::AsRead {
            match self.take_stock(session, &taken).await? {
                Some(true) => {}
                Some(false) => {
                    // Read above inside this transaction; a concurrent change surfaces
                    // as a write conflict, so this is only reachable if the store lies.
                    return Err(Error::custom("stock changed inside the transaction"));
                }
                None => return Ok(Attempt::Changed),
            }
        }
        let want = statements.len();
        if self
            .update_in(session, self.orders.name(), statements)
            .await?
            != Some(want)
        {
            return Ok(Attempt::Changed);
        }
        Ok(Attempt::Settled(done))
    }

    /// The stock of the orders' products as the transaction reads it.
    pub(crate) async fn read_stock(
        &self,
        session: &mut ClientSession,
        orders: &[Order],
    ) -> Result<HashMap<String, u32>, Error> {
        let mut skus: Vec<&str> = orders
            .iter()
            .flat_map(|o| o.lines.iter().map(|l| l.sku.as_str()))
            .collect();
        skus.sort_unstable();
        skus.dedup();
        let products: Vec<ProductDoc> = self
            .products
            .find(doc! {"_id": {"$in": skus}})
            .session(&mut *session)
            .await?
            .stream(&mut *session)
            .try_collect()
            .await?;
        Ok(products
            .iter()
            .map(|p| {
                (
                    p.sku.clone(),
                    u32::try_from(p.stock.max(0)).unwrap_or(u32::MAX),
                )
            })
            .collect())
    }

    /// Takes `n` of each product, each only if its stock covers it, in one command:
    /// whether every one could (`None`: a statement failed, retry).
    async fn take_stock(
        &self,
        session: &mut ClientSession,
        takes: &[(Sku, u32)],
    ) -> Result<Option<bool>, Error> {
        if takes.is_empty() {
            return Ok(Some(true));
        }
        let statements: Vec<Document> = takes
            .iter()
            .map(|(sku, n)| {
                let n = i64::from(*n);
                doc! {"q": {"_id": sku.as_str(), "stock": {"$gte": n}}, "u": {"$inc": {"stock": -n}}}
            })
            .collect();
        Ok(self
            .update_in(session, self.products.name(), statements)
            .await?
            .map(|n| n == takes.len()))
    }

    /// One `update` command of single-document statements inside the session's
    /// transaction; how many documents they matched, or `None` when a statement failed
    /// (a write conflict reported per statement), for the transaction to be tried again.
    async fn update_in(
        &self,
        session: &mut ClientSession,
        collection: &str,
        statements: Vec<Document>,
    ) -> Result<Option<usize>, Error> {
        let reply = self
            .db
            .run_command(doc! {"update": collection, "updates": statements, "ordered": true})
            .session(&mut *session)
            .await?;
        if reply.get_array("writeErrors").is_ok_and(|e| !e.is_empty()) {
            return Ok(None);
        }
        Ok(Some(match reply.get("n") {
            Some(Bson::Int32(n)) => usize::try_from(*n).unwrap_or(0),
            Some(Bson::Int64(n)) => usize::try_from(*n).unwrap_or(0),
            _ => 0,
        }))
    }
}
