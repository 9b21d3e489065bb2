//! `OrderRepo` + `InventoryRepo` contract. They are tested together because the
//! worker's step (`fulfil`) is one atomic unit over both.

use super::fixtures::{now, order, order_at, product, sku};
use orderflow_core::domain::{
    Order, OrderId, OrderStatus, Price, ProductCursor, ProductPatch, PublishRefusal, UserId,
};
use orderflow_core::ports::{
    FulfilmentOutcome, InventoryError, InventoryRepo, OrderRepo, OrderRepoError,
};
use std::sync::Arc;

/// The two ports of one store.
#[derive(Clone)]
pub struct Store {
    pub orders: Arc<dyn OrderRepo>,
    pub inventory: Arc<dyn InventoryRepo>,
}

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
    let f = s.inventory.fulfil(o.id, now()).await.unwrap();
    assert_eq!(f.outcome, FulfilmentOutcome::AlreadyFinal);
    assert_eq!(
        s.inventory.get(&p.sku).await.unwrap().unwrap().stock,
        10,
        "a cancelled order takes no stock"
    );
}

pub async fn outbox_lists_unpublished_until_marked(s: Store) {
    let p = product("OB-1", 100, 10);
    let old = order_at(
        UserId::new(),
        &[(&p, 1)],
        None,
        now() - chrono::Duration::seconds(10),
    );
    let young = order(UserId::new(), &[(&p, 1)]);
    s.orders.insert(&old).await.unwrap();
    s.orders.insert(&young).await.unwrap();
    let due = s
        .orders
        .unpublished(now() - chrono::Duration::seconds(5), now(), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![old.id],
        "only orders older than the cutoff"
    );
    assert_eq!(s.orders.count_unpublished(100).await.unwrap(), 2);
    assert_eq!(s.orders.count_unpublished(1).await.unwrap(), 1, "capped");
    s.orders.mark_published(&[old.id]).await.unwrap();
    assert_eq!(s.orders.count_unpublished(100).await.unwrap(), 1);
    assert!(s
        .orders
        .unpublished(now() - chrono::Duration::seconds(5), now(), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s.orders.get(old.id).await.unwrap().unwrap().published);
    let all = s
        .orders
        .unpublished(now() + chrono::Duration::seconds(1), now(), 10)
        .await
        .unwrap();
    assert_eq!(all.iter().map(|o| o.id).collect::<Vec<_>>(), vec![young.id]);
}

pub async fn the_sweep_finds_orders_pending_too_long_once_per_age(s: Store) {
    let p = product("SW-1", 100, 10);
    s.inventory.insert(&p).await.unwrap();
    let t0 = now();
    let old = order_at(
        UserId::new(),
        &[(&p, 1)],
        None,
        t0 - chrono::Duration::minutes(30),
    );
    let young = order_at(UserId::new(), &[(&p, 1)], None, t0);
    let done = order_at(
        UserId::new(),
        &[(&p, 1)],
        None,
        t0 - chrono::Duration::minutes(30),
    );
    let unpublished = order_at(
        UserId::new(),
        &[(&p, 1)],
        None,
        t0 - chrono::Duration::minutes(30),
    );
    for o in [&old, &young, &done, &unpublished] {
        s.orders.insert(o).await.unwrap();
    }
    s.orders
        .mark_published(&[old.id, young.id, done.id])
        .await
        .unwrap();
    s.inventory.fulfil(done.id, t0).await.unwrap();
    let cutoff = t0 - chrono::Duration::minutes(10);
    let stale = s.orders.stale_pending(cutoff, 10).await.unwrap();
    assert_eq!(
        stale.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![old.id],
        "only old pending orders the queue has accepted (unpublished ones are the scan's)"
    );
    s.orders.mark_swept(&[old.id], t0).await.unwrap();
    assert!(
        s.orders.stale_pending(cutoff, 10).await.unwrap().is_empty(),
        "not again within the age"
    );
    let later = t0 + chrono::Duration::minutes(11);
    let again = s.orders.stale_pending(later, 10).await.unwrap();
    assert!(
        again.iter().any(|o| o.id == old.id),
        "again once the age has passed since the sweep"
    );
}

pub async fn refused_orders_wait_for_their_retry_and_set_aside_ones_for_an_operator(s: Store) {
    let p = product("RF-1", 100, 10);
    let t0 = now();
    let at = |secs: i64| t0 - chrono::Duration::seconds(secs);
    let refused = order_at(UserId::new(), &[(&p, 1)], None, at(30));
    let aside = order_at(UserId::new(), &[(&p, 1)], None, at(20));
    let plain = order_at(UserId::new(), &[(&p, 1)], None, at(10));
    for o in [&refused, &aside, &plain] {
        s.orders.insert(o).await.unwrap();
    }
    let refusal = |count, retry_in: i64, set_aside| PublishRefusal {
        count,
        reason: "too large".into(),
        at: t0,
        retry_at: t0 + chrono::Duration::seconds(retry_in),
        set_aside,
    };
    s.orders
        .refuse_publication(refused.id, &refusal(1, 60, false))
        .await
        .unwrap();
    s.orders
        .refuse_publication(aside.id, &refusal(8, 60, true))
        .await
        .unwrap();
    let ids = |v: Vec<Order>| v.iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.orders.unpublished(t0, t0, 10).await.unwrap()),
        vec![plain.id],
        "a refused order waits for its retry; a set-aside one for an operator"
    );
    assert_eq!(
        ids(s
            .orders
            .unpublished(t0, t0 + chrono::Duration::minutes(2), 10)
            .await
            .unwrap()),
        vec![refused.id, plain.id],
        "due again once its retry time has come; never while set aside"
    );
    let listed = s.orders.set_aside(10).await.unwrap();
    assert_eq!(ids(listed.clone()), vec![aside.id]);
    assert_eq!(
        listed[0].publish_refusal,
        Some(refusal(8, 60, true)),
        "the refusal reads back as written"
    );
    assert_eq!(s.orders.count_set_aside(10).await.unwrap(), 1);
    assert!(
        !s.orders.retry_set_aside(refused.id).await.unwrap(),
        "only a set-aside order can be retried"
    );
    assert!(matches!(
        s.orders.retry_set_aside(OrderId::new()).await,
        Err(OrderRepoError::NotFound)
    ));
    assert!(s.orders.retry_set_aside(aside.id).await.unwrap());
    assert_eq!(s.orders.count_set_aside(10).await.unwrap(), 0);
    assert_eq!(
        ids(s.orders.unpublished(t0, t0, 10).await.unwrap()),
        vec![aside.id, plain.id],
        "a retried order is due at once"
    );
    s.orders.mark_published(&[refused.id]).await.unwrap();
    let published = s.orders.get(refused.id).await.unwrap().unwrap();
    assert_eq!(
        published.publish_refusal, None,
        "publishing clears the refusal"
    );
    s.orders
        .refuse_publication(refused.id, &refusal(2, 60, false))
        .await
        .unwrap();
    assert_eq!(
        s.orders
            .get(refused.id)
            .await
            .unwrap()
            .unwrap()
            .publish_refusal,
        None,
        "a refusal recorded after the order was published is ignored"
    );
}

pub async fn owed_emails_are_due_from_settlement_until_sent_or_given_up(s: Store) {
    let p = product("NL-1", 100, 10);
    s.inventory.insert(&p).await.unwrap();
    let t0 = now();
    let secs = chrono::Duration::seconds;
    let [a, b, c, cancelled] = [(); 4].map(|_| order(UserId::new(), &[(&p, 1)]));
    for o in [&a, &b, &c, &cancelled] {
        s.orders.insert(o).await.unwrap();
    }
    assert!(
        s.orders
            .due_notifications(t0 + secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing is owed before settlement"
    );
    s.orders.cancel(cancelled.id, t0, None).await.unwrap();
    for (o, at) in [(&a, t0), (&b, t0 + secs(1)), (&c, t0 + secs(2))] {
        let f = s.inventory.fulfil(o.id, at).await.unwrap();
        assert_eq!(
            f.order.notify_due_at,
            Some(at),
            "the settlement makes the email owed"
        );
    }
    let ids = |v: Vec<Order>| v.iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.orders.due_notifications(t0 + secs(1), 10).await.unwrap()),
        vec![a.id, b.id],
        "due by then, earliest first; a cancelled order owes nothing"
    );
    assert_eq!(s.orders.count_owed_notifications(10).await.unwrap(), 3);

    assert!(s
        .orders
        .claim_notification(a.id, t0, t0 + secs(30))
        .await
        .unwrap());
    assert_eq!(
        ids(s.orders.due_notifications(t0 + secs(5), 10).await.unwrap()),
        vec![b.id, c.id],
        "a claimed email is left to its holder"
    );
    assert_eq!(
        ids(s.orders.due_notifications(t0 + secs(31), 10).await.unwrap()),
        vec![a.id, b.id, c.id],
        "until the claim lapses"
    );

    s.orders
        .defer_notification(a.id, t0 + secs(100), 1)
        .await
        .unwrap();
    let deferred = s.orders.get(a.id).await.unwrap().unwrap();
    assert_eq!(
        (
            deferred.notify_due_at,
            deferred.notify_failures,
            deferred.notify_claimed_until
        ),
        (Some(t0 + secs(100)), 1, None)
    );
    assert_eq!(
        ids(s.orders.due_notifications(t0 + secs(99), 10).await.unwrap()),
        vec![b.id, c.id]
    );

    s.orders.finish_notification(b.id).await.unwrap();
    s.orders.abandon_notification(c.id).await.unwrap();
    assert_eq!(
        ids(s
            .orders
            .due_notifications(t0 + secs(1000), 10)
            .await
            .unwrap()),
        vec![a.id],
        "sent and given-up emails are no longer owed"
    );
    assert_eq!(s.orders.count_owed_notifications(10).await.unwrap(), 1);
    let given_up = s.orders.get(c.id).await.unwrap().unwrap();
    assert!(!given_up.notified && given_up.notify_due_at.is_none());
    s.orders
        .defer_notification(b.id, t0 + secs(100), 1)
        .await
        .unwrap();
    assert_eq!(
        s.orders.get(b.id).await.unwrap().unwrap().notify_due_at,
        None,
        "a deferral after the send changes nothing"
    );
}

pub async fn notification_claims_are_exclusive(s: Store) {
    let p = product("NC-1", 100, 10);
    let o = order(UserId::new(), &[(&p, 1)]);
    s.orders.insert(&o).await.unwrap();
    let t = now();
    let lease = t + chrono::Duration::seconds(30);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.orders.claim_notification(o.id, t, lease).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        won += usize::from(r.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one claim");
    assert!(
        s.orders
            .claim_notification(
                o.id,
                lease + chrono::Duration::seconds(1),
                lease + chrono::Duration::seconds(31)
            )
            .await
            .unwrap(),
        "an expired claim can be taken over"
    );
    s.orders.release_notification(o.id).await.unwrap();
    assert!(
        s.orders.claim_notification(o.id, t, lease).await.unwrap(),
        "a released claim can be taken"
    );
    s.orders.finish_notification(o.id).await.unwrap();
    assert!(s.orders.get(o.id).await.unwrap().unwrap().notified);
    assert!(
        !s.orders
            .claim_notification(
                o.id,
                lease + chrono::Duration::days(1),
                lease + chrono::Duration::days(2)
            )
            .await
            .unwrap(),
        "never after it was sent"
    );
}

pub async fn products_are_unique_and_listed_in_sku_order(s: Store) {
    for (sk, price) in [("B-2", 2), ("A-1", 1), ("C-3", 3), ("D-4", 4)] {
        s.inventory.insert(&product(sk, price, 5)).await.unwrap();
    }
    assert!(matches!(
        s.inventory.insert(&product("A-1", 9, 9)).await,
        Err(InventoryError::DuplicateSku)
    ));
    let page = s.inventory.list(3, None).await.unwrap();
    let skus: Vec<_> = page.items.iter().map(|p| p.sku.to_string()).collect();
    assert_eq!(skus, ["A-1", "B-2", "C-3"]);
    assert_eq!(page.next, Some(ProductCursor(sku("C-3"))));
    let rest = s.inventory.list(3, page.next.as_ref()).await.unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|p| p.sku.to_string())
            .collect::<Vec<_>>(),
        ["D-4"]
    );
    assert!(rest.next.is_none());
    let many = s
        .inventory
        .get_many(&[sku("D-4"), sku("nope"), sku("A-1")])
        .await
        .unwrap();
    let mut found: Vec<_> = many.iter().map(|p| p.sku.to_string()).collect();
    found.sort();
    assert_eq!(found, ["A-1", "D-4"]);
    assert_eq!(
        s.inventory
            .get(&sku("B-2"))
            .await
            .unwrap()
            .unwrap()
            .price_cents
            .cents(),
        2
    );
}

pub async fn stock_updates_are_relative_and_never_negative(s: Store) {
    s.inventory.insert(&product("ST-1", 100, 5)).await.unwrap();
    let patch = |d: i64| ProductPatch {
        stock_delta: Some(d),
        ..Default::default()
    };
    assert!(matches!(
        s.inventory.update(&sku("ST-1"), &patch(-6)).await,
        Err(InventoryError::InsufficientStock)
    ));
    assert_eq!(
        s.inventory.get(&sku("ST-1")).await.unwrap().unwrap().stock,
        5,
        "unchanged after refusal"
    );
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.inventory
                    .update(&sku("ST-1"), &patch(3))
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    for r in racers {
        r.await.unwrap().unwrap();
    }
    assert_eq!(
        s.inventory.get(&sku("ST-1")).await.unwrap().unwrap().stock,
        65,
        "no lost update"
    );
    let renamed = s
        .inventory
        .update(
            &sku("ST-1"),
            &ProductPatch {
                name: Some(orderflow_core::domain::ProductName::parse("New").unwrap()),
                price_cents: Some(Price::parse(7).unwrap()),
                stock_delta: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.price_cents.cents(),
            renamed.stock
        ),
        ("New", 7, 65)
    );
    assert!(matches!(
        s.inventory.update(&sku("missing"), &patch(1)).await,
        Err(InventoryError::NotFound)
    ));
}

pub async fn fulfil_is_all_or_nothing_and_happens_once(s: Store) {
    let (a, b) = (product("FF-A", 100, 5), product("FF-B", 200, 1));
    s.inventory.insert(&a).await.unwrap();
    s.inventory.insert(&b).await.unwrap();
    let short = order(UserId::new(), &[(&a, 2), (&b, 2)]);
    s.orders.insert(&short).await.unwrap();
    let f = s.inventory.fulfil(short.id, now()).await.unwrap();
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
        (stored.status, &stored.history, stored.notify_due_at),
        (f.order.status, &f.order.history, f.order.notify_due_at),
        "the store holds exactly the settlement the domain decided"
    );
    assert!(stored.notify_due_at.is_some(), "the outcome email is owed");

    let ok = order(UserId::new(), &[(&a, 2), (&b, 1)]);
    s.orders.insert(&ok).await.unwrap();
    let f = s.inventory.fulfil(ok.id, now()).await.unwrap();
    assert_eq!(f.outcome, FulfilmentOutcome::Completed);
    assert_eq!(f.order.status, OrderStatus::Completed);
    assert_eq!(
        s.orders.get(ok.id).await.unwrap().unwrap().status,
        OrderStatus::Completed
    );
    let again = s.inventory.fulfil(ok.id, now()).await.unwrap();
    assert_eq!(again.outcome, FulfilmentOutcome::AlreadyFinal);
    assert_eq!(s.inventory.get(&a.sku).await.unwrap().unwrap().stock, 3);
    assert_eq!(s.inventory.get(&b.sku).await.unwrap().unwrap().stock, 0);
    assert!(matches!(
        s.inventory.fulfil(OrderId::new(), now()).await,
        Err(InventoryError::NotFound)
    ));
}

/// Many orders race for the last units: stock ends at exactly zero, never below, and
/// exactly as many orders complete as there were units.
pub async fn concurrent_fulfilment_never_oversells(s: Store) {
    let units = 10u32;
    let p = product("LAST", 100, units);
    s.inventory.insert(&p).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..40 {
        let o = order(UserId::new(), &[(&p, 1)]);
        s.orders.insert(&o).await.unwrap();
        ids.push(o.id);
    }
    // Every order is fulfilled twice at once, as duplicate deliveries would.
    let racers: Vec<_> = ids
        .iter()
        .chain(ids.iter())
        .map(|id| {
            let (s, id) = (s.clone(), *id);
            tokio::spawn(async move { s.inventory.fulfil(id, now()).await.unwrap().outcome })
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
            tokio::spawn(async move { s1.inventory.fulfil(o.id, now()).await.unwrap().outcome });
        let cancel = tokio::spawn(async move { s2.orders.cancel(o.id, now(), None).await });
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
    s.orders
        .health()
        .await
        .and(s.inventory.health().await)
        .expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! store_contract {
    ($factory:expr) => {
        mod store_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(store, $factory;
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
            outbox_lists_unpublished_until_marked,
            #[tokio::test]
            refused_orders_wait_for_their_retry_and_set_aside_ones_for_an_operator,
            #[tokio::test]
            owed_emails_are_due_from_settlement_until_sent_or_given_up,
            #[tokio::test]
            the_sweep_finds_orders_pending_too_long_once_per_age,
            #[tokio::test]
            notification_claims_are_exclusive,
            #[tokio::test]
            products_are_unique_and_listed_in_sku_order,
            #[tokio::test]
            stock_updates_are_relative_and_never_negative,
            #[tokio::test]
            fulfil_is_all_or_nothing_and_happens_once,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            concurrent_fulfilment_never_oversells,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            cancel_racing_fulfil_has_one_winner,
            );
        }
    };
}
