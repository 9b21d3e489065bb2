//! `Orders` contract: placing, reading, listing and cancelling orders.
//! The adapter is a [`Store`]: the ports one backing store implements, since the
//! tests set up state through its other ports.

use super::fixtures::{now, order, order_at, product};
use orderflow_core::domain::{OrderId, OrderStatus, UserId};
use orderflow_core::ports::{FulfilmentOutcome, OrderRepoError};

use super::store::Store;

pub async fn orders_round_trip_exactly(s: Store) {
    let p = product("RT-1", 250, 10);
    s.inventory.insert(&p).await.unwrap();
    let o = order(UserId::new(), &[(&p, 2)]);
    s.orders.insert(&o).await.unwrap();
    assert_eq!(s.orders.get(o.id).await.unwrap().expect("stored"), o);
    assert!(s.orders.get(OrderId::new()).await.unwrap().is_none());
}

pub async fn idempotency_keys_are_unique_per_user(s: Store) {
    let p = product("IK-1", 100, 10);
    let (alice, bob) = (UserId::new(), UserId::new());
    let first = order_at(alice, &[(&p, 1)], Some("key-1"), now());
    s.orders.insert(&first).await.unwrap();
    let again = order_at(alice, &[(&p, 1)], Some("key-1"), now());
    assert!(matches!(
        s.orders.insert(&again).await,
        Err(OrderRepoError::DuplicateIdempotencyKey)
    ));
    s.orders
        .insert(&order_at(bob, &[(&p, 1)], Some("key-1"), now()))
        .await
        .expect("other user, same key");
    s.orders
        .insert(&order(alice, &[(&p, 1)]))
        .await
        .expect("no key");
    s.orders
        .insert(&order(alice, &[(&p, 1)]))
        .await
        .expect("no key twice");
    let found = s
        .orders
        .by_idempotency_key(alice, first.idempotency_key.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(found.map(|o| o.id), Some(first.id));

    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (s, p) = (s.clone(), p.clone());
            tokio::spawn(async move {
                s.orders
                    .insert(&order_at(alice, &[(&p, 1)], Some("race"), now()))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for r in racers {
        match r.await.unwrap() {
            Ok(()) => ok += 1,
            Err(OrderRepoError::DuplicateIdempotencyKey) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1, "one insert per key wins a race");
}

pub async fn listing_is_newest_first_paged_and_stable(s: Store) {
    let p = product("LS-1", 100, 10);
    let (user, other) = (UserId::new(), UserId::new());
    let base = now();
    let mut ids = Vec::new();
    for i in 0..7 {
        let o = order_at(
            user,
            &[(&p, 1)],
            None,
            base + chrono::Duration::milliseconds(i * 10),
        );
        ids.push(o.id);
        s.orders.insert(&o).await.unwrap();
    }
    // Same timestamp: ties are broken by id, still a total order.
    let tie = order_at(
        user,
        &[(&p, 1)],
        None,
        base + chrono::Duration::milliseconds(60),
    );
    s.orders.insert(&tie).await.unwrap();
    s.orders.insert(&order(other, &[(&p, 1)])).await.unwrap();
    let mut expected: Vec<(chrono::DateTime<chrono::Utc>, OrderId)> = Vec::new();
    for id in ids.iter().chain(std::iter::once(&tie.id)) {
        let o = s.orders.get(*id).await.unwrap().unwrap();
        expected.push((o.created_at, o.id));
    }
    expected.sort();
    expected.reverse();

    let page1 = s.orders.list_for_user(user, 3, None).await.unwrap();
    assert_eq!(
        page1.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        expected[..3].iter().map(|e| e.1).collect::<Vec<_>>()
    );
    let cursor = page1.next.expect("more pages");
    // A newer order arriving between pages must not shift the next page.
    s.orders
        .insert(&order_at(
            user,
            &[(&p, 1)],
            None,
            base + chrono::Duration::seconds(5),
        ))
        .await
        .unwrap();
    let page2 = s.orders.list_for_user(user, 3, Some(cursor)).await.unwrap();
    assert_eq!(
        page2.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        expected[3..6].iter().map(|e| e.1).collect::<Vec<_>>()
    );
    let page3 = s.orders.list_for_user(user, 3, page2.next).await.unwrap();
    assert_eq!(
        page3.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        expected[6..].iter().map(|e| e.1).collect::<Vec<_>>()
    );
    assert!(page3.next.is_none(), "last page has no cursor");
    assert!(s
        .orders
        .list_for_user(UserId::new(), 3, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

pub async fn cancel_only_moves_pending_orders(s: Store) {
    let p = product("CX-1", 100, 10);
    s.inventory.insert(&p).await.unwrap();
    let o = order(UserId::new(), &[(&p, 1)]);
    s.orders.insert(&o).await.unwrap();
    let cancelled = s
        .orders
        .cancel(o.id, now(), Some("changed my mind".into()))
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.history.len(), 2);
    assert_eq!(
        cancelled.history[1].reason.as_deref(),
        Some("changed my mind")
    );
    assert!(matches!(
        s.orders.cancel(o.id, now(), None).await,
        Err(OrderRepoError::InvalidState(OrderStatus::Cancelled))
    ));
    assert!(matches!(
        s.orders.cancel(OrderId::new(), now(), None).await,
        Err(OrderRepoError::NotFound)
    ));
    let f = s.settlement.fulfil(o.id, now()).await.unwrap();
    assert_eq!(f.outcome, FulfilmentOutcome::AlreadyFinal);
    assert_eq!(
        s.inventory.get(&p.sku).await.unwrap().unwrap().stock,
        10,
        "a cancelled order takes no stock"
    );
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(s: Store) {
    s.orders
        .health()
        .await
        .expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! orders_contract {
    ($factory:expr) => {
        mod orders_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(orders, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            orders_round_trip_exactly,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            idempotency_keys_are_unique_per_user,
            #[tokio::test]
            listing_is_newest_first_paged_and_stable,
            #[tokio::test]
            cancel_only_moves_pending_orders,
            );
        }
    };
}
