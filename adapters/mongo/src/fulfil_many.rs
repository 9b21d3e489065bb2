//! A worker's batch of settlements, without a multi-document transaction:
//!
//! 1. the orders, read together (one `find`);
//! 2. each product's stock taken for every order of the batch that wants it, by one
//!    conditional single-document statement per product that also records the units
//!    as held for those orders (`holds.rs`), in one `update` command;
//! 3. every order moved out of `pending` by one conditional statement each, in one
//!    `update` command;
//! 4. the holds ended, one `update` command.
//!
//! Four commands for a batch. Concurrent settlements of one hot product never undo each
//! other: the server applies single-document writes to it one after the other, where
//! transactions that write it abort on each other's commits (write conflicts) and
//! retry whole, which made four workers slower than one on a flash sale. A settlement
//! that dies after step 2 leaves its holds, and the orders' next delivery completes
//! them from there (`holds.rs`).
//!
//! Step 2 first takes everything the batch wants, unread: while the products have it
//! (all but the last units of a sale) every order completes. When a product is short,
//! the next try reads the stock and the holds and lets the domain decide order by
//! order, in the batch's order, against what the earlier ones left.

use crate::fulfil::{back_off, settled};
use crate::holds::{self, Held};
use crate::MongoStore;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::doc;
use orderflow_core::domain::{FulfilmentOutcome, Order, OrderId, OrderStatus, Settlement, Sku};
use orderflow_core::ports::{Fulfilment, InventoryError};
use orderflow_core::BoxError;
use std::collections::HashMap;

type Outcomes = Vec<Result<Fulfilment, InventoryError>>;
type Slots = Vec<Option<Result<Fulfilment, InventoryError>>>;
/// Orders read, with the settlement that wrote each; and why others could not be read.
type ReadOrders = (
    HashMap<OrderId, (Order, Option<String>)>,
    HashMap<OrderId, String>,
);

/// Every id's outcome; an id left without one (none is) would be reported unavailable.
fn answered(outcomes: Slots) -> Outcomes {
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(InventoryError::Unavailable("not settled".into()))))
        .collect()
}

/// What the domain decided for each pending order, and the units taken for them.
struct Plan {
    decided: Vec<(Order, Settlement)>,
    /// Per product, the orders whose units it holds now, this try's takes included.
    held: HashMap<Sku, Vec<OrderId>>,
}

impl Plan {
    /// Every order completes, its units taken unread by this try.
    fn all_complete(pending: Vec<Order>, at: DateTime<Utc>) -> Option<Self> {
        let mut decided = Vec::with_capacity(pending.len());
        let mut held: HashMap<Sku, Vec<OrderId>> = HashMap::new();
        for order in pending {
            let want = holds::wants(&order);
            let stock = |sku: &Sku| want.iter().find(|(s, _)| s == sku).map(|(_, n)| *n);
            let settlement = order.settlement(stock, at).ok()?;
            for (sku, _) in &want {
                held.entry(sku.clone()).or_default().push(order.id);
            }
            decided.push((order, settlement));
        }
        Some(Self { decided, held })
    }
}

/// Per product, the units each order wants.
fn takes_of<'a>(orders: impl Iterator<Item = &'a Order>) -> HashMap<Sku, Vec<(OrderId, u32)>> {
    let mut takes: HashMap<Sku, Vec<(OrderId, u32)>> = HashMap::new();
    for order in orders {
        for (sku, n) in holds::wants(order) {
            takes.entry(sku).or_default().push((order.id, n));
        }
    }
    takes
}

impl MongoStore {
    pub(crate) async fn fulfil_many_held(
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
        let settled = self.settle(&unique, at, claim).await?;
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

    /// The batch, tried until every order is settled or final.
    async fn settle(
        &self,
        ids: &[OrderId],
        at: DateTime<Utc>,
        claim: Option<DateTime<Utc>>,
    ) -> Result<Outcomes, BoxError> {
        let marker = uuid::Uuid::new_v4().to_string();
        let mut tries = 0u32;
        let mut read_stock = false;
        let mut released_finals = false;
        loop {
            let (mut outcomes, pending, finals) = self.read_batch(ids).await?;
            if !released_finals && !finals.is_empty() {
                // Delivered again after a settlement that died before step 4: their
                // holds, if any, end now.
                let finals: Vec<&Order> = finals.iter().collect();
                holds::release(self, &finals).await?;
                released_finals = true;
            }
            if pending.is_empty() {
                return Ok(answered(outcomes));
            }
            let plan = if read_stock {
                self.plan_as_read(pending, at).await?
            } else if holds::take(self, &takes_of(pending.iter())).await? {
                Plan::all_complete(pending, at)
            } else {
                None
            };
            let Some(plan) = plan else {
                // Short, or the stock moved between the read and the take: what was
                // taken is held, and the next try reads it.
                if read_stock {
                    tries += 1;
                    self.meter.store_conflict_retry();
                    back_off(tries).await;
                }
                read_stock = true;
                continue;
            };
            let done = self.record(plan, claim, &marker).await?;
            for f in done {
                if let Some(at) = ids.iter().position(|id| *id == f.order.id) {
                    outcomes[at] = Some(Ok(f));
                }
            }
            return Ok(answered(outcomes));
        }
    }

    /// Steps 3 and 4: each order's settlement written (if it is still pending), then
    /// the holds ended by how each order ended. An order that left pending meanwhile
    /// (a cancel, or a second delivery settled at once elsewhere) answers as already
    /// final.
    async fn record(
        &self,
        plan: Plan,
        claim: Option<DateTime<Utc>>,
        marker: &str,
    ) -> Result<Vec<Fulfilment>, BoxError> {
        let mut statements = Vec::with_capacity(plan.decided.len());
        let mut decided = Vec::with_capacity(plan.decided.len());
        for (mut order, settlement) in plan.decided {
            if order.apply(&settlement).is_err() {
                continue;
            }
            let mut u = settled(&order, &settlement, claim)?;
            if let Ok(set) = u.get_document_mut("$set") {
                set.insert("settled_by", marker);
            }
            statements.push(doc! {
                "q": {"_id": order.id.to_string(), "status": OrderStatus::Pending.as_str()},
                "u": u,
            });
            decided.push((order, settlement.into_outcome()));
        }
        let want = statements.len();
        let matched = self
            .update_statements(self.orders.name(), statements)
            .await?;
        let mut done: Vec<Fulfilment> = Vec::with_capacity(decided.len());
        if matched == want {
            done.extend(decided.into_iter().map(|(order, outcome)| Fulfilment {
                order,
                outcome,
                email_claimed_until: claim,
            }));
        } else {
            // Some left pending before their statement: read how each ended.
            let ids: Vec<OrderId> = decided.iter().map(|(o, _)| o.id).collect();
            let (now, _) = self.read_orders(&ids).await?;
            for (order, outcome) in decided {
                match now.get(&order.id) {
                    Some((_, by)) if by.as_deref() == Some(marker) => {
                        done.push(Fulfilment {
                            order,
                            outcome,
                            email_claimed_until: claim,
                        });
                    }
                    Some((o, _)) => done.push(Fulfilment {
                        order: o.clone(),
                        outcome: FulfilmentOutcome::AlreadyFinal,
                        email_claimed_until: None,
                    }),
                    None => {}
                }
            }
        }
        let ended: Vec<&Order> = done
            .iter()
            .map(|f| &f.order)
            .filter(|o| o.status != OrderStatus::Pending)
            .filter(|o| {
                holds::wants(o)
                    .iter()
                    .any(|(sku, _)| plan.held.get(sku).is_some_and(|h| h.contains(&o.id)))
            })
            .collect();
        holds::release(self, &ended).await?;
        Ok(done)
    }

    /// Reads the products' stock and holds and lets the domain decide each order in the
    /// batch's order: an order whose units a product holds has them; the others share
    /// the stock, earlier first. Takes what the completing ones still need; `None` when
    /// the stock moved since the read (the next try reads again).
    async fn plan_as_read(
        &self,
        pending: Vec<Order>,
        at: DateTime<Utc>,
    ) -> Result<Option<Plan>, BoxError> {
        let skus: Vec<&Sku> = {
            let mut s: Vec<&Sku> = pending
                .iter()
                .flat_map(|o| o.lines.iter().map(|l| &l.sku))
                .collect();
            s.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
            s.dedup();
            s
        };
        let mut products = holds::read(self, &skus).await?;
        let mut held: HashMap<Sku, Vec<OrderId>> = HashMap::new();
        let mut to_take: Vec<&Order> = Vec::new();
        let mut decided = Vec::with_capacity(pending.len());
        for order in &pending {
            let holds_of = |sku: &Sku, p: &HashMap<Sku, Held>| {
                p.get(sku).and_then(|h| h.holds.get(&order.id).copied())
            };
            let stock =
                |sku: &Sku| holds_of(sku, &products).or_else(|| products.get(sku).map(|h| h.stock));
            let Ok(settlement) = order.settlement(stock, at) else {
                continue;
            };
            let mut needs_take = false;
            for (sku, n) in holds::wants(order) {
                if holds_of(&sku, &products).is_some() {
                    held.entry(sku).or_default().push(order.id);
                } else if *settlement.outcome() == FulfilmentOutcome::Completed {
                    needs_take = true;
                    if let Some(p) = products.get_mut(&sku) {
                        p.stock = p.stock.saturating_sub(n);
                    }
                    held.entry(sku).or_default().push(order.id);
                }
            }
            if needs_take {
                to_take.push(order);
            }
            decided.push(settlement);
        }
        // Orders whose held units are only partly on hand take the rest too.
        let takes: HashMap<Sku, Vec<(OrderId, u32)>> = takes_of(to_take.iter().copied())
            .into_iter()
            .map(|(sku, orders)| {
                let p = products.get(&sku);
                let new: Vec<(OrderId, u32)> = orders
                    .into_iter()
                    .filter(|(o, _)| p.is_none_or(|p| !p.holds.contains_key(o)))
                    .collect();
                (sku, new)
            })
            .filter(|(_, orders)| !orders.is_empty())
            .collect();
        if !holds::take(self, &takes).await? {
            return Ok(None);
        }
        Ok(Some(Plan {
            decided: pending.into_iter().zip(decided).collect(),
            held,
        }))
    }

    /// The batch's orders in one read: an outcome for each id that is not pending (not
    /// found, already final, unreadable), the pending orders in the batch's order, and
    /// the final ones.
    async fn read_batch(
        &self,
        ids: &[OrderId],
    ) -> Result<(Slots, Vec<Order>, Vec<Order>), BoxError> {
        let (mut found, unreadable) = self.read_orders(ids).await?;
        let mut outcomes = Vec::with_capacity(ids.len());
        let mut pending = Vec::new();
        let mut finals = Vec::new();
        for id in ids {
            outcomes.push(match found.remove(id) {
                Some((order, _)) if order.status == OrderStatus::Pending => {
                    pending.push(order);
                    None
                }
                Some((order, _)) => {
                    finals.push(order.clone());
                    Some(Ok(Fulfilment {
                        order,
                        outcome: FulfilmentOutcome::AlreadyFinal,
                        email_claimed_until: None,
                    }))
                }
                None => Some(Err(match unreadable.get(id) {
                    Some(e) => InventoryError::Unavailable(e.clone().into()),
                    None => InventoryError::NotFound,
                })),
            });
        }
        Ok((outcomes, pending, finals))
    }

    /// The orders of `ids` that exist, each with the settlement that wrote it, if any;
    /// and why each one that exists could not be read.
    async fn read_orders(&self, ids: &[OrderId]) -> Result<ReadOrders, BoxError> {
        let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let docs: Vec<mongodb::bson::Document> = self
            .bounded(async {
                self.orders
                    .clone_with_type::<mongodb::bson::Document>()
                    .find(doc! {"_id": {"$in": keys}})
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        let mut found = HashMap::with_capacity(docs.len());
        let mut unreadable = HashMap::new();
        for d in docs {
            let by = d.get_str("settled_by").ok().map(str::to_owned);
            let id = d.get_str("_id").ok().and_then(OrderId::parse);
            let order = mongodb::bson::from_document::<crate::docs::OrderDoc>(d)
                .map_err(BoxError::from)
                .and_then(|d| Order::try_from(d).map_err(BoxError::from));
            match (order, id) {
                (Ok(order), _) => {
                    found.insert(order.id, (order, by));
                }
                (Err(e), Some(id)) => {
                    unreadable.insert(id, e.to_string());
                }
                (Err(_), None) => {}
            }
        }
        Ok((found, unreadable))
    }
}
