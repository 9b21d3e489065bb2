//! `Outbox` contract: unpublished orders, refusals, the set-aside list and the sweep.
//! The adapter is a [`Store`]: the ports one backing store implements, since the
//! tests set up state through its other ports.

use super::fixtures::{now, order, order_at, product};
use orderflow_core::domain::{OrderId, PublishRefusal, UserId};
use orderflow_core::ports::{OrderRepoError, Unpublished};

use super::store::Store;

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
        .outbox
        .unpublished(now() - chrono::Duration::seconds(5), now(), 10)
        .await
        .unwrap();
    assert_eq!(
        due.iter().map(|u| u.order.id).collect::<Vec<_>>(),
        vec![old.id],
        "only orders older than the cutoff"
    );
    assert_eq!(due[0].order, old, "the order reads back as stored");
    assert_eq!(due[0].refusal, None, "never refused");
    assert_eq!(s.outbox.count_unpublished(100).await.unwrap(), 2);
    assert_eq!(s.outbox.count_unpublished(1).await.unwrap(), 1, "capped");
    s.outbox.mark_published(&[old.id]).await.unwrap();
    assert_eq!(s.outbox.count_unpublished(100).await.unwrap(), 1);
    assert!(s
        .outbox
        .unpublished(now() - chrono::Duration::seconds(5), now(), 10)
        .await
        .unwrap()
        .is_empty());
    let all = s
        .outbox
        .unpublished(now() + chrono::Duration::seconds(1), now(), 10)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|u| u.order.id).collect::<Vec<_>>(),
        vec![young.id],
        "a published order is no longer listed, however old"
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
    s.outbox
        .refuse_publication(refused.id, &refusal(1, 60, false))
        .await
        .unwrap();
    s.outbox
        .refuse_publication(aside.id, &refusal(8, 60, true))
        .await
        .unwrap();
    let ids = |v: Vec<Unpublished>| v.iter().map(|u| u.order.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.outbox.unpublished(t0, t0, 10).await.unwrap()),
        vec![plain.id],
        "a refused order waits for its retry; a set-aside one for an operator"
    );
    assert_eq!(
        ids(s
            .outbox
            .unpublished(t0, t0 + chrono::Duration::minutes(2), 10)
            .await
            .unwrap()),
        vec![refused.id, plain.id],
        "due again once its retry time has come; never while set aside"
    );
    let due_later = s
        .outbox
        .unpublished(t0, t0 + chrono::Duration::minutes(2), 10)
        .await
        .unwrap();
    assert_eq!(
        due_later[0].refusal,
        Some(refusal(1, 60, false)),
        "a due order comes with its refusal so far, as written"
    );
    let listed = s.outbox.set_aside(10).await.unwrap();
    assert_eq!(
        listed.iter().map(|a| a.order.id).collect::<Vec<_>>(),
        vec![aside.id]
    );
    assert_eq!(
        listed[0].refusal,
        refusal(8, 60, true),
        "the refusal reads back as written"
    );
    assert_eq!(s.outbox.count_set_aside(10).await.unwrap(), 1);
    assert!(
        !s.outbox.retry_set_aside(refused.id).await.unwrap(),
        "only a set-aside order can be retried"
    );
    assert!(matches!(
        s.outbox.retry_set_aside(OrderId::new()).await,
        Err(OrderRepoError::NotFound)
    ));
    assert!(s.outbox.retry_set_aside(aside.id).await.unwrap());
    assert_eq!(s.outbox.count_set_aside(10).await.unwrap(), 0);
    assert_eq!(
        ids(s.outbox.unpublished(t0, t0, 10).await.unwrap()),
        vec![aside.id, plain.id],
        "a retried order is due at once"
    );
    s.outbox
        .refuse_publication(aside.id, &refusal(9, 60, true))
        .await
        .unwrap();
    s.outbox.mark_published(&[aside.id]).await.unwrap();
    assert_eq!(
        s.outbox.count_set_aside(10).await.unwrap(),
        0,
        "publishing clears the refusal"
    );
    assert!(
        !s.outbox.retry_set_aside(aside.id).await.unwrap(),
        "a published order is not set aside"
    );
    s.outbox
        .refuse_publication(aside.id, &refusal(10, 60, true))
        .await
        .unwrap();
    assert!(
        s.outbox.set_aside(10).await.unwrap().is_empty(),
        "a refusal recorded after the order was published is ignored"
    );
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
    s.outbox
        .mark_published(&[old.id, young.id, done.id])
        .await
        .unwrap();
    s.settlement.fulfil(done.id, t0).await.unwrap();
    let cutoff = t0 - chrono::Duration::minutes(10);
    let stale = s.outbox.stale_pending(cutoff, 10).await.unwrap();
    assert_eq!(
        stale.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![old.id],
        "only old pending orders the queue has accepted (unpublished ones are the scan's)"
    );
    s.outbox.mark_swept(&[old.id], t0).await.unwrap();
    assert!(
        s.outbox.stale_pending(cutoff, 10).await.unwrap().is_empty(),
        "not again within the age"
    );
    let later = t0 + chrono::Duration::minutes(11);
    let again = s.outbox.stale_pending(later, 10).await.unwrap();
    assert!(
        again.iter().any(|o| o.id == old.id),
        "again once the age has passed since the sweep"
    );
}

pub async fn pending_orders_are_counted_with_the_oldest_placement(s: Store) {
    let none = s.outbox.pending_orders(100).await.unwrap();
    assert_eq!((none.count, none.oldest), (0, None), "nothing pending");
    let p = product("PD-1", 100, 10);
    s.inventory.insert(&p).await.unwrap();
    let t0 = now();
    let placed = |mins: i64| {
        order_at(
            UserId::new(),
            &[(&p, 1)],
            None,
            t0 - chrono::Duration::minutes(mins),
        )
    };
    let (oldest, middle, youngest) = (placed(30), placed(10), placed(0));
    // Out of placement order, and published or not: both are pending.
    for o in [&middle, &youngest, &oldest] {
        s.orders.insert(o).await.unwrap();
    }
    s.outbox.mark_published(&[middle.id]).await.unwrap();
    let all = s.outbox.pending_orders(100).await.unwrap();
    assert_eq!((all.count, all.oldest), (3, Some(oldest.created_at)));
    let capped = s.outbox.pending_orders(2).await.unwrap();
    assert_eq!(
        (capped.count, capped.oldest),
        (2, Some(oldest.created_at)),
        "the count stops at the cap, the oldest is still the oldest"
    );
    s.settlement.fulfil(oldest.id, t0).await.unwrap();
    let after = s.outbox.pending_orders(100).await.unwrap();
    assert_eq!(
        (after.count, after.oldest),
        (2, Some(middle.created_at)),
        "a settled order is no longer pending"
    );
    s.orders.cancel(middle.id, t0, None, false).await.unwrap();
    let last = s.outbox.pending_orders(100).await.unwrap();
    assert_eq!(
        (last.count, last.oldest),
        (1, Some(youngest.created_at)),
        "nor is a cancelled one"
    );
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(s: Store) {
    s.outbox
        .health()
        .await
        .expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! outbox_contract {
    ($factory:expr) => {
        mod outbox_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(outbox, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            outbox_lists_unpublished_until_marked,
            #[tokio::test]
            refused_orders_wait_for_their_retry_and_set_aside_ones_for_an_operator,
            #[tokio::test]
            the_sweep_finds_orders_pending_too_long_once_per_age,
            #[tokio::test]
            pending_orders_are_counted_with_the_oldest_placement,
            );
        }
    };
}
