//! Stock taken for orders and recorded in the product it was taken from: the product
//! document keeps `holds: {<order id>: units}` for every order whose units it gave and
//! whose settlement has not finished. Taking (the stock and the record) is one
//! single-document update, so a settlement that dies after it loses nothing: the
//! order's next settlement finds its units held and completes it without taking again,
//! or, if the order left `pending` meanwhile (cancelled), gives them back.

use crate::MongoStore;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use orderflow_core::domain::{Order, OrderId, OrderStatus, Sku};
use orderflow_core::BoxError;
use std::collections::HashMap;

/// A product's stock as read, with the units it holds for each order.
#[derive(Debug, Default)]
pub(crate) struct Held {
    pub stock: u32,
    pub holds: HashMap<OrderId, u32>,
}

/// What an order wants of each of its products (lines naming one SKU twice summed).
pub(crate) fn wants(order: &Order) -> Vec<(Sku, u32)> {
    let mut want: Vec<(Sku, u32)> = Vec::new();
    for line in &order.lines {
        let n = line.quantity.get();
        match want.iter_mut().find(|(s, _)| *s == line.sku) {
            Some((_, total)) => *total = total.saturating_add(n),
            None => want.push((line.sku.clone(), n)),
        }
    }
    want
}

fn hold_path(order: OrderId) -> String {
    format!("holds.{order}")
}

/// Takes, from each product, the units of the orders listed for it, and records them
/// as held for those orders: one statement per product, each applied only if the
/// product has all of them and holds none of those orders yet. Whether every
/// statement applied (those that did keep their holds either way).
pub(crate) async fn take(
    store: &MongoStore,
    takes: &HashMap<Sku, Vec<(OrderId, u32)>>,
) -> Result<bool, BoxError> {
    if takes.is_empty() {
        return Ok(true);
    }
    let statements: Vec<Document> = takes
        .iter()
        .map(|(sku, orders)| {
            let total: i64 = orders.iter().map(|(_, n)| i64::from(*n)).sum();
            let mut q = doc! {"_id": sku.as_str(), "stock": {"$gte": total}};
            let mut set = Document::new();
            for (order, n) in orders {
                q.insert(hold_path(*order), doc! {"$exists": false});
                set.insert(hold_path(*order), i64::from(*n));
            }
            doc! {"q": q, "u": {"$inc": {"stock": -total}, "$set": set}}
        })
        .collect();
    let matched = store
        .update_statements(store.products.name(), statements)
        .await?;
    Ok(matched == takes.len())
}

/// The products' stock and holds.
pub(crate) async fn read(
    store: &MongoStore,
    skus: &[&Sku],
) -> Result<HashMap<Sku, Held>, BoxError> {
    let ids: Vec<&str> = skus.iter().map(|s| s.as_str()).collect();
    let docs: Vec<Document> = store
        .bounded(async {
            store
                .products
                .clone_with_type::<Document>()
                .find(doc! {"_id": {"$in": ids}})
                .projection(doc! {"stock": 1, "holds": 1})
                .await?
                .try_collect()
                .await
        })
        .await?;
    let mut out = HashMap::new();
    for d in docs {
        let Some(sku) = d.get_str("_id").ok().and_then(|s| Sku::parse(s).ok()) else {
            continue;
        };
        let stock = d
            .get_i64("stock")
            .or_else(|_| d.get_i32("stock").map(i64::from))
            .unwrap_or(0);
        let mut holds = HashMap::new();
        if let Ok(h) = d.get_document("holds") {
            for (k, v) in h {
                let n = v
                    .as_i64()
                    .or_else(|| v.as_i32().map(i64::from))
                    .unwrap_or(0);
                if let Some(id) = OrderId::parse(k) {
                    holds.insert(id, u32::try_from(n.max(0)).unwrap_or(u32::MAX));
                }
            }
        }
        out.insert(
            sku,
            Held {
                stock: u32::try_from(stock.max(0)).unwrap_or(u32::MAX),
                holds,
            },
        );
    }
    Ok(out)
}

/// Ends the holds of orders whose settlement is over, in one command: an order that
/// ended completed used its units (the hold is dropped), any other gives them back
/// (each only while the product still holds them, so they go back once).
pub(crate) async fn release(store: &MongoStore, ended: &[&Order]) -> Result<(), BoxError> {
    let mut used: HashMap<Sku, Vec<OrderId>> = HashMap::new();
    let mut statements = Vec::new();
    for order in ended {
        for (sku, n) in wants(order) {
            if order.status == OrderStatus::Completed {
                used.entry(sku).or_default().push(order.id);
            } else {
                let path = hold_path(order.id);
                statements.push(doc! {
                    "q": {"_id": sku.as_str(), &path: {"$exists": true}},
                    "u": {"$unset": {&path: ""}, "$inc": {"stock": i64::from(n)}},
                });
            }
        }
    }
    for (sku, orders) in used {
        let mut unset = Document::new();
        for o in orders {
            unset.insert(hold_path(o), "");
        }
        statements.push(doc! {"q": {"_id": sku.as_str()}, "u": {"$unset": unset}});
    }
    if statements.is_empty() {
        return Ok(());
    }
    store
        .update_statements(store.products.name(), statements)
        .await?;
    Ok(())
}
