//! `OrderSettlement` contract: the one atomic stock-taking step, alone and racing
//! other settlements and cancels.
//! The adapter is a [`Store`]: the ports one backing store implements, since the
//! tests set up state through its other ports.

use super::fixtures::{now, order, product, stock_change};
use orderflow_core::domain::{OrderId, OrderStatus, UserId};
use orderflow_core::ports::{FulfilmentOutcome, InventoryError, OrderRepoError};

use super::store::Store;

pub async fn fulfil_is_all_or_nothing_and_happens_once(s: Store) {
    let (a, b) = (product("FF-A", 100, 5), product("FF-B", 200, 1));
    s.inventory.insert(&a).await.unwrap();
    s.inventory.insert(&b).await.unwrap();
    let short = order(UserId::new(), &[(&a, 2), (&b, 2)]);
    s.orders.insert(&short).await.unwrap();
    let settled_at = now();
    let f = s.settlement.fulfil(short.id, settled_at).await.unwrap();
    assert_eq!(
        f.outcome,
        FulfilmentOutcome::Failed {
            short: vec![b.sku.clone()]
        }
    );
    assert_eq!(f.order.status, OrderStatus::Failed);
    assert!(f
        .order
        .history
        .last()
        .unwrap()
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("FF-B"));
    assert_eq!(
        s.inventory.get(&a.sku).await.unwrap().unwrap().stock,
        5,
        "nothing taken from the line that fit"
    );
    let stored = s.orders.get(short.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, &stored.history),
        (f.order.status, &f.order.history),
        "the store holds exactly the settlement the domain decided"
    );
    let owed = s.ledger.due_notifications(settled_at, 10).await.unwrap();
    assert_eq!(
        owed.iter()
            .map(|e| (e.order.id, e.due_at))
            .collect::<Vec<_>>(),
        vec![(short.id, settled_at)],
        "the outcome email is owed from the settlement, in the same unit"
    );

    let ok = order(UserId::new(), &[(&a, 2), (&b, 1)]);
    s.orders.insert(&ok).await.unwrap();
    let f = s.settlement.fulfil(ok.id, now()).await.unwrap();
    assert_eq!(f.outcome, FulfilmentOutcome::Completed);
    assert_eq!(f.order.status, OrderStatus::Completed);
    assert_eq!(
        s.orders.get(ok.id).await.unwrap().unwrap().status,
        OrderStatus::Completed
    );
    let again = s.settlement.fulfil(ok.id, now()).await.unwrap();
    assert_eq!(again.outcome, FulfilmentOutcome::AlreadyFinal);
    assert_eq!(s.inventory.get(&a.sku).await.unwrap().unwrap().stock, 3);
    assert_eq!(s.inventory.get(&b.sku).await.unwrap().unwrap().stock, 0);
    assert!(matches!(
        s.settlement.fulfil(OrderId::new(), now()).await,
        Err(InventoryError::NotFound)
    ));
}

/// The orders whose outcome emails are due at `at`.
async fn owed_now(s: &Store, at: chrono::DateTime<chrono::Utc>) -> Vec<OrderId> {
    let owed = s.ledger.due_notifications(at, 10).await.unwrap();
    owed.iter().map(|e| e.order.id).collect()
}

/// A product with `units` in stock and `orders` one-unit orders of it, placed.
async fn last_units(
    s: &Store,
    sku: &str,
    units: u32,
    orders: usize,
) -> (orderflow_core::domain::Product, Vec<OrderId>) {
    let p = product(sku, 100, units);
    s.inventory.insert(&p).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..orders {
        let o = order(UserId::new(), &[(&p, 1)]);
        s.orders.insert(&o).await.unwrap();
        ids.push(o.id);
    }
    (p, ids)
}

/// Many orders race for the last units: stock ends at exactly zero, never below, and
/// exactly as many orders complete as there were units.
pub async fn concurrent_fulfilment_never_oversells(s: Store) {
    let units = 10u32;
    let (p, ids) = last_units(&s, "LAST", units, 40).await;
    // Every order is fulfilled twice at once, as duplicate deliveries would.
    let racers: Vec<_> = ids
        .iter()
        .chain(ids.iter())
        .map(|id| {
            let (s, id) = (s.clone(), *id);
            tokio::spawn(async move { s.settlement.fulfil(id, now()).await.unwrap().outcome })
        })
        .collect();
    let mut completed = 0;
    for r in racers {
        if r.await.unwrap() == FulfilmentOutcome::Completed {
            completed += 1;
        }
    }
    assert_eq!(completed, units as usize);
    assert_eq!(s.inventory.get(&p.sku).await.unwrap().unwrap().stock, 0);
    let mut statuses = (0, 0);
    for id in &ids {
        match s.orders.get(*id).await.unwrap().unwrap().status {
            OrderStatus::Completed => statuses.0 += 1,
            OrderStatus::Failed => statuses.1 += 1,
            other => panic!("order left {other:?}"),
        }
    }
    assert_eq!(statuses, (units as usize, ids.len() - units as usize));
}

/// A batch settles each order as `fulfil` would, in the batch's order: an earlier order
/// takes the stock a later one wanted, unknown and final orders are answered as such,
/// every settled order's email is owed, and a second pass changes nothing.
pub async fn fulfil_many_settles_each_in_order(s: Store) {
    let p = product("MANY", 100, 3);
    s.inventory.insert(&p).await.unwrap();
    let mut placed = Vec::new();
    for qty in [2, 2, 1] {
        let o = order(UserId::new(), &[(&p, qty)]);
        s.orders.insert(&o).await.unwrap();
        placed.push(o.id);
    }
    let finished = order(UserId::new(), &[(&p, 1)]);
    s.orders.insert(&finished).await.unwrap();
    s.orders
        .cancel(finished.id, now(), None, false)
        .await
        .unwrap();
    let unknown = OrderId::new();
    let batch = [placed[0], unknown, placed[1], finished.id, placed[2]];
    let at = now();
    let got = s.settlement.fulfil_many(&batch, at, None).await;
    assert_eq!(got.len(), batch.len());
    let outcome = |i: usize| match &got[i] {
        Ok(f) => {
            assert_eq!(f.order.id, batch[i], "answers in the batch's order");
            Some(f.outcome.clone())
        }
        Err(InventoryError::NotFound) => None,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(outcome(0), Some(FulfilmentOutcome::Completed));
    assert_eq!(outcome(1), None, "an unknown order is NotFound");
    assert_eq!(
        outcome(2),
        Some(FulfilmentOutcome::Failed {
            short: vec![p.sku.clone()]
        }),
        "the first order took what the second wanted"
    );
    assert_eq!(outcome(3), Some(FulfilmentOutcome::AlreadyFinal));
    assert_eq!(outcome(4), Some(FulfilmentOutcome::Completed));
    assert_eq!(s.inventory.get(&p.sku).await.unwrap().unwrap().stock, 0);
    for (id, status) in [
        (placed[0], OrderStatus::Completed),
        (placed[1], OrderStatus::Failed),
        (placed[2], OrderStatus::Completed),
        (finished.id, OrderStatus::Cancelled),
    ] {
        assert_eq!(s.orders.get(id).await.unwrap().unwrap().status, status);
    }
    let mut owed = owed_now(&s, at).await;
    owed.sort();
    let mut want = placed.clone();
    want.sort();
    assert_eq!(owed, want, "each settled order's email is owed with it");

    // An order twice in one batch (a duplicate delivery): settled once, then final.
    let twice = order(UserId::new(), &[(&p, 1)]);
    s.orders.insert(&twice).await.unwrap();
    s.inventory.update(&p.sku, &stock_change(5)).await.unwrap();
    let got = s
        .settlement
        .fulfil_many(&[twice.id, twice.id], now(), None)
        .await;
    let outcomes: Vec<_> = got
        .iter()
        .map(|r| r.as_ref().unwrap().outcome.clone())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            FulfilmentOutcome::Completed,
            FulfilmentOutcome::AlreadyFinal
        ]
    );
    assert_eq!(
        s.inventory.get(&p.sku).await.unwrap().unwrap().stock,
        4,
        "taken once"
    );
    s.inventory.update(&p.sku, &stock_change(-4)).await.unwrap();

    let again = s.settlement.fulfil_many(&batch, now(), None).await;
    for (i, r) in again.iter().enumerate() {
        if batch[i] != unknown {
            assert_eq!(r.as_ref().unwrap().outcome, FulfilmentOutcome::AlreadyFinal);
        }
    }
    assert_eq!(s.inventory.get(&p.sku).await.unwrap().unwrap().stock, 0);
}

/// A batch asked to claim its orders' emails either claims each settled one for the
/// caller, in the same unit (nobody else can claim it, the due-email scan skips it),
/// or claims none and says so; an already final order is never claimed.
pub async fn a_batch_claims_its_emails_or_says_it_did_not(s: Store) {
    let p = product("CLAIMED", 100, 10);
    s.inventory.insert(&p).await.unwrap();
    let fresh = order(UserId::new(), &[(&p, 1)]);
    s.orders.insert(&fresh).await.unwrap();
    let done = order(UserId::new(), &[(&p, 1)]);
    s.orders.insert(&done).await.unwrap();
    s.settlement.fulfil(done.id, now()).await.unwrap();
    let at = now();
    let until = at + chrono::Duration::seconds(60);
    let got = s
        .settlement
        .fulfil_many(&[fresh.id, done.id], at, Some(until))
        .await;
    let settled = got[0].as_ref().unwrap();
    assert_eq!(settled.outcome, FulfilmentOutcome::Completed);
    assert_eq!(
        got[1].as_ref().unwrap().email_claimed_until,
        None,
        "not settled here"
    );
    let someone_else = s
        .ledger
        .claim_notification(fresh.id, at, until)
        .await
        .unwrap();
    match settled.email_claimed_until {
        Some(claimed) => {
            assert_eq!(claimed, until);
            assert!(!someone_else, "the claim is the caller's");
            let due = owed_now(&s, at).await;
            assert!(
                !due.contains(&fresh.id),
                "the scan leaves a claimed email alone"
            );
            assert!(
                s.ledger
                    .claim_notification(fresh.id, until, until + chrono::Duration::seconds(1))
                    .await
                    .unwrap(),
                "the claim lapses at its time"
            );
        }
        None => assert!(someone_else, "unclaimed: the ledger's claim is free"),
    }
}

/// Batches racing for the last units, each order in two batches at once (duplicate
/// deliveries in two workers): exactly as many complete as there were units.
pub async fn concurrent_batches_never_oversell(s: Store) {
    let units = 10u32;
    let (p, ids) = last_units(&s, "LAST-MANY", units, 40).await;
    let mut batches: Vec<Vec<OrderId>> = ids.chunks(10).map(<[OrderId]>::to_vec).collect();
    batches.extend(ids.rchunks(7).map(<[OrderId]>::to_vec));
    let racers: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let s = s.clone();
            tokio::spawn(async move { s.settlement.fulfil_many(&batch, now(), None).await })
        })
        .collect();
    for r in racers {
        for outcome in r.await.unwrap() {
            outcome.unwrap();
        }
    }
    assert_eq!(s.inventory.get(&p.sku).await.unwrap().unwrap().stock, 0);
    let mut completed = 0;
    for id in &ids {
        match s.orders.get(*id).await.unwrap().unwrap().status {
            OrderStatus::Completed => completed += 1,
            OrderStatus::Failed => {}
            other => panic!("order left {other:?}"),
        }
    }
    assert_eq!(completed, units);
}

/// A cancel racing the worker: exactly one of them moves the order.
pub async fn cancel_racing_fulfil_has_one_winner(s: Store) {
    let p = product("RACE", 100, 1000);
    s.inventory.insert(&p).await.unwrap();
    let mut completed = 0;
    for _ in 0..20 {
        let o = order(UserId::new(), &[(&p, 1)]);
        s.orders.insert(&o).await.unwrap();
        let (s1, s2) = (s.clone(), s.clone());
        let fulfil =
            tokio::spawn(async move { s1.settlement.fulfil(o.id, now()).await.unwrap().outcome });
        let cancel = tokio::spawn(async move { s2.orders.cancel(o.id, now(), None, false).await });
        let (f, c) = (fulfil.await.unwrap(), cancel.await.unwrap());
        match (&f, &c) {
            (
                FulfilmentOutcome::Completed,
                Err(OrderRepoError::InvalidState(OrderStatus::Completed)),
            ) => completed += 1,
            (FulfilmentOutcome::AlreadyFinal, Ok(c)) if c.status == OrderStatus::Cancelled => {}
            other => panic!("both or neither won: {other:?}"),
        }
        let stored = s.orders.get(o.id).await.unwrap().unwrap();
        assert_eq!(stored.history.len(), 2, "exactly one transition recorded");
    }
    assert_eq!(
        s.inventory.get(&p.sku).await.unwrap().unwrap().stock,
        1000 - completed
    );
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(s: Store) {
    s.settlement
        .health()
        .await
        .expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! settlement_contract {
    ($factory:expr) => {
        mod settlement_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(settlement, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            fulfil_is_all_or_nothing_and_happens_once,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            concurrent_fulfilment_never_oversells,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            cancel_racing_fulfil_has_one_winner,
            #[tokio::test]
            fulfil_many_settles_each_in_order,
            #[tokio::test]
            a_batch_claims_its_emails_or_says_it_did_not,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            concurrent_batches_never_oversell,
            );
        }
    };
}
