//! `NotificationLedger` contract: owed outcome emails, their claims and their end.
//! The adapter is a [`Store`]: the ports one backing store implements, since the
//! tests set up state through its other ports.

use super::fixtures::{now, order, product};
use orderflow_core::domain::UserId;
use orderflow_core::ports::OwedEmail;

use super::store::Store;

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
        s.ledger
            .due_notifications(t0 + secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing is owed before settlement"
    );
    s.orders
        .cancel(cancelled.id, t0, None, false)
        .await
        .unwrap();
    for (o, at) in [(&a, t0), (&b, t0 + secs(1)), (&c, t0 + secs(2))] {
        s.settlement.fulfil(o.id, at).await.unwrap();
    }
    let owed = s.ledger.due_notifications(t0 + secs(60), 10).await.unwrap();
    assert_eq!(
        owed.iter()
            .map(|e| (e.order.id, e.due_at, e.failures))
            .collect::<Vec<_>>(),
        vec![
            (a.id, t0, 0),
            (b.id, t0 + secs(1), 0),
            (c.id, t0 + secs(2), 0)
        ],
        "the settlement makes the email owed from its time, with no failures yet"
    );
    assert_eq!(
        owed[0].order,
        s.orders.get(a.id).await.unwrap().unwrap(),
        "with the order as it is now"
    );
    let ids = |v: Vec<OwedEmail>| v.iter().map(|e| e.order.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.ledger.due_notifications(t0 + secs(1), 10).await.unwrap()),
        vec![a.id, b.id],
        "due by then, earliest first; a cancelled order owes nothing"
    );
    assert_eq!(s.ledger.count_owed_notifications(10).await.unwrap(), 3);

    assert!(s
        .ledger
        .claim_notification(a.id, t0, t0 + secs(30))
        .await
        .unwrap());
    assert_eq!(
        ids(s.ledger.due_notifications(t0 + secs(5), 10).await.unwrap()),
        vec![b.id, c.id],
        "a claimed email is left to its holder"
    );
    assert_eq!(
        ids(s.ledger.due_notifications(t0 + secs(31), 10).await.unwrap()),
        vec![a.id, b.id, c.id],
        "until the claim lapses"
    );

    s.ledger
        .defer_notification(a.id, t0 + secs(100), 1)
        .await
        .unwrap();
    let deferred = s
        .ledger
        .due_notifications(t0 + secs(100), 10)
        .await
        .unwrap();
    assert_eq!(
        (
            deferred[2].order.id,
            deferred[2].due_at,
            deferred[2].failures
        ),
        (a.id, t0 + secs(100), 1),
        "a deferral moves the due time and records the failures"
    );
    assert!(
        s.ledger
            .claim_notification(a.id, t0 + secs(1), t0 + secs(2))
            .await
            .unwrap(),
        "a deferral releases the claim (held until t0 + 30 s)"
    );
    s.ledger.release_notification(a.id).await.unwrap();
    assert_eq!(
        ids(s.ledger.due_notifications(t0 + secs(99), 10).await.unwrap()),
        vec![b.id, c.id]
    );

    s.ledger.finish_notification(b.id).await.unwrap();
    s.ledger.abandon_notification(c.id).await.unwrap();
    assert_eq!(
        ids(s
            .ledger
            .due_notifications(t0 + secs(1000), 10)
            .await
            .unwrap()),
        vec![a.id],
        "sent and given-up emails are no longer owed"
    );
    assert_eq!(s.ledger.count_owed_notifications(10).await.unwrap(), 1);
    for o in [&b, &c] {
        s.ledger
            .defer_notification(o.id, t0 + secs(100), 1)
            .await
            .unwrap();
    }
    assert_eq!(
        ids(s
            .ledger
            .due_notifications(t0 + secs(1000), 10)
            .await
            .unwrap()),
        vec![a.id],
        "a deferral after the send or the give-up changes nothing"
    );
    assert_eq!(s.ledger.count_owed_notifications(10).await.unwrap(), 1);
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
            tokio::spawn(async move { s.ledger.claim_notification(o.id, t, lease).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        won += usize::from(r.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one claim");
    assert!(
        s.ledger
            .claim_notification(
                o.id,
                lease + chrono::Duration::seconds(1),
                lease + chrono::Duration::seconds(31)
            )
            .await
            .unwrap(),
        "an expired claim can be taken over"
    );
    s.ledger.release_notification(o.id).await.unwrap();
    assert!(
        s.ledger.claim_notification(o.id, t, lease).await.unwrap(),
        "a released claim can be taken"
    );
    s.ledger.finish_notification(o.id).await.unwrap();
    assert!(
        !s.ledger
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

pub async fn emails_that_failed_to_send_are_counted_until_they_end(s: Store) {
    let p = product("NF-1", 100, 10);
    s.inventory.insert(&p).await.unwrap();
    let t0 = now();
    let later = t0 + chrono::Duration::seconds(60);
    let [a, b, c] = [(); 3].map(|_| order(UserId::new(), &[(&p, 1)]));
    for o in [&a, &b, &c] {
        s.orders.insert(o).await.unwrap();
        s.settlement.fulfil(o.id, t0).await.unwrap();
    }
    assert_eq!(
        s.ledger.count_failing_notifications(10).await.unwrap(),
        0,
        "owed, but no send has failed"
    );
    s.ledger.defer_notification(a.id, later, 1).await.unwrap();
    s.ledger.defer_notification(b.id, later, 3).await.unwrap();
    assert_eq!(s.ledger.count_failing_notifications(10).await.unwrap(), 2);
    assert_eq!(
        s.ledger.count_failing_notifications(1).await.unwrap(),
        1,
        "capped"
    );
    assert_eq!(s.ledger.count_owed_notifications(10).await.unwrap(), 3);
    s.ledger.finish_notification(a.id).await.unwrap();
    assert_eq!(
        s.ledger.count_failing_notifications(10).await.unwrap(),
        1,
        "sent at last"
    );
    s.ledger.abandon_notification(b.id).await.unwrap();
    assert_eq!(
        s.ledger.count_failing_notifications(10).await.unwrap(),
        0,
        "given up"
    );
}

pub async fn an_operator_makes_every_owed_email_due_now(s: Store) {
    let p = product("ND-1", 100, 10);
    s.inventory.insert(&p).await.unwrap();
    let t0 = now();
    let secs = chrono::Duration::seconds;
    let [soon, later, due, sent] = [(); 4].map(|_| order(UserId::new(), &[(&p, 1)]));
    for o in [&soon, &later, &due, &sent] {
        s.orders.insert(o).await.unwrap();
        s.settlement.fulfil(o.id, t0).await.unwrap();
    }
    s.ledger
        .defer_notification(soon.id, t0 + secs(60), 1)
        .await
        .unwrap();
    s.ledger
        .defer_notification(later.id, t0 + secs(600), 4)
        .await
        .unwrap();
    s.ledger.finish_notification(sent.id).await.unwrap();
    assert!(s
        .ledger
        .claim_notification(later.id, t0, t0 + secs(30))
        .await
        .unwrap());
    let ids = |v: Vec<OwedEmail>| v.iter().map(|e| e.order.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.ledger.due_notifications(t0 + secs(1), 10).await.unwrap()),
        vec![due.id]
    );
    assert_eq!(
        s.ledger.make_due(t0 + secs(1)).await.unwrap(),
        2,
        "the two waiting for a later time; the due one and the sent one stay as they are"
    );
    let now_due = s.ledger.due_notifications(t0 + secs(1), 10).await.unwrap();
    assert_eq!(
        now_due
            .iter()
            .map(|e| (e.order.id, e.failures))
            .collect::<Vec<_>>(),
        vec![(due.id, 0), (soon.id, 1)],
        "due now with their failures kept; the claimed one is left to its holder"
    );
    assert_eq!(
        ids(s.ledger.due_notifications(t0 + secs(31), 10).await.unwrap()),
        vec![due.id, soon.id, later.id],
        "and is due once its claim lapses"
    );
    assert_eq!(
        s.ledger.make_due(t0 + secs(1)).await.unwrap(),
        0,
        "nothing left to move"
    );
    assert!(
        !s.ledger
            .claim_notification(sent.id, t0 + secs(40), t0 + secs(70))
            .await
            .unwrap(),
        "a sent email is not owed again"
    );
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(s: Store) {
    s.ledger
        .health()
        .await
        .expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! notification_ledger_contract {
    ($factory:expr) => {
        mod notification_ledger_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(notification_ledger, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            owed_emails_are_due_from_settlement_until_sent_or_given_up,
            #[tokio::test]
            notification_claims_are_exclusive,
            #[tokio::test]
            emails_that_failed_to_send_are_counted_until_they_end,
            #[tokio::test]
            an_operator_makes_every_owed_email_due_now,
            );
        }
    };
}
