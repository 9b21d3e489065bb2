//! `Orders` contract: placing, reading, listing and cancelling orders.
//! The adapter is a [`Store`]: the ports one backing store implements, since the
//! tests set up state through its other ports.

use super::fixtures::{now, order, order_at, product};
use orderflow_core::domain::{OrderCursor, OrderId, OrderPage, OrderSearch, OrderStatus, UserId};
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
        .cancel(o.id, now(), Some("changed my mind".into()), false)
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.history.len(), 2);
    assert_eq!(
        s.ledger.count_owed_notifications(10).await.unwrap(),
        0,
        "a cancel without `email_owed` owes nothing"
    );
    assert_eq!(
        cancelled.history[1].reason.as_deref(),
        Some("changed my mind")
    );
    assert!(matches!(
        s.orders.cancel(o.id, now(), None, false).await,
        Err(OrderRepoError::InvalidState(OrderStatus::Cancelled))
    ));
    assert!(matches!(
        s.orders.cancel(OrderId::new(), now(), None, false).await,
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

pub async fn search_filters_combine_newest_first_and_pages_stably(s: Store) {
    let (a, b) = (product("SR-A", 100, 100), product("SR-B", 100, 100));
    s.inventory.insert(&a).await.unwrap();
    s.inventory.insert(&b).await.unwrap();
    let t0 = now();
    let at = |mins: i64| t0 - chrono::Duration::minutes(mins);
    let (ann, bob) = (UserId::new(), UserId::new());
    let o1 = order_at(ann, &[(&a, 1)], None, at(60));
    let o2 = order_at(bob, &[(&b, 1)], None, at(50));
    let o3 = order_at(ann, &[(&b, 1), (&a, 1)], None, at(40));
    let o4 = order_at(bob, &[(&a, 1)], None, at(30));
    let o5 = order_at(ann, &[(&b, 2)], None, at(20));
    let o6 = order_at(bob, &[(&a, 1)], None, at(10));
    for o in [&o1, &o2, &o3, &o4, &o5, &o6] {
        s.orders.insert(o).await.unwrap();
    }
    s.orders.cancel(o4.id, t0, None, false).await.unwrap();
    s.settlement.fulfil(o5.id, t0).await.unwrap();

    let search = |filter: OrderSearch, limit: usize, cursor: Option<OrderCursor>| {
        let s = s.clone();
        async move { s.orders.search(&filter, limit, cursor).await.unwrap() }
    };
    let ids = |p: &OrderPage| p.items.iter().map(|o| o.id).collect::<Vec<_>>();
    let all = search(OrderSearch::default(), 10, None).await;
    assert_eq!(
        ids(&all),
        vec![o6.id, o5.id, o4.id, o3.id, o2.id, o1.id],
        "every user's orders, newest first"
    );
    assert_eq!(all.next, None);
    assert_eq!(all.items[1].status, OrderStatus::Completed, "as stored now");
    let sku_a = a.sku.clone();
    let cases = [
        (
            OrderSearch {
                status: Some(OrderStatus::Pending),
                ..OrderSearch::default()
            },
            vec![o6.id, o3.id, o2.id, o1.id],
            "by status",
        ),
        (
            OrderSearch {
                user_id: Some(ann),
                ..OrderSearch::default()
            },
            vec![o5.id, o3.id, o1.id],
            "by customer",
        ),
        (
            OrderSearch {
                sku: Some(sku_a.clone()),
                ..OrderSearch::default()
            },
            vec![o6.id, o4.id, o3.id, o1.id],
            "by a SKU on any line",
        ),
        (
            OrderSearch {
                created_from: Some(at(40)),
                created_to: Some(at(10)),
                ..OrderSearch::default()
            },
            vec![o5.id, o4.id, o3.id],
            "from inclusive, to exclusive",
        ),
        (
            OrderSearch {
                status: Some(OrderStatus::Pending),
                user_id: Some(ann),
                sku: Some(sku_a.clone()),
                created_from: Some(at(45)),
                created_to: None,
            },
            vec![o3.id],
            "filters combine",
        ),
        (
            OrderSearch {
                user_id: Some(UserId::new()),
                ..OrderSearch::default()
            },
            vec![],
            "a customer without orders",
        ),
    ];
    for (filter, want, why) in cases {
        assert_eq!(ids(&search(filter, 10, None).await), want, "{why}");
    }

    let by_sku = OrderSearch {
        sku: Some(sku_a),
        ..OrderSearch::default()
    };
    let first = search(by_sku.clone(), 2, None).await;
    assert_eq!(ids(&first), vec![o6.id, o4.id]);
    let newer = order_at(bob, &[(&a, 1)], None, t0);
    s.orders.insert(&newer).await.unwrap();
    let second = search(by_sku.clone(), 2, first.next).await;
    assert_eq!(
        ids(&second),
        vec![o3.id, o1.id],
        "a newer order does not shift later pages"
    );
    assert_eq!(second.next, None, "the last page says so");
    assert_eq!(
        ids(&search(by_sku, 10, None).await)[0],
        newer.id,
        "and shows on the first page"
    );
}

pub async fn a_cancel_with_email_owed_records_the_email_with_it(s: Store) {
    let p = product("CE-1", 100, 10);
    let o = order(UserId::new(), &[(&p, 1)]);
    s.orders.insert(&o).await.unwrap();
    let at = now();
    s.orders
        .cancel(o.id, at, Some("cancelled by an administrator".into()), true)
        .await
        .unwrap();
    let owed = s.ledger.due_notifications(at, 10).await.unwrap();
    assert_eq!(
        owed.iter()
            .map(|e| (e.order.id, e.order.status, e.due_at))
            .collect::<Vec<_>>(),
        vec![(o.id, OrderStatus::Cancelled, at)],
        "owed from the cancel's time, with the cancelled order"
    );
    assert!(
        s.orders.cancel(o.id, at, None, true).await.is_err(),
        "refused: already cancelled"
    );
    assert_eq!(
        s.ledger.count_owed_notifications(10).await.unwrap(),
        1,
        "a refused cancel owes nothing more"
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
            #[tokio::test]
            a_cancel_with_email_owed_records_the_email_with_it,
            #[tokio::test]
            search_filters_combine_newest_first_and_pages_stably,
            );
        }
    };
}
