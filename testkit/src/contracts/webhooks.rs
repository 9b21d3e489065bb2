//! `WebhookEndpoints` and `WebhookDeliveries` contract: endpoints kept and rotated,
//! status changes owed from the write that makes them, one claim per lane, a lane's
//! events head first, the delivery log newest first.

use super::fixtures::{now, order, product};
use super::store::Store;
use chrono::{DateTime, Duration as Span, Utc};
use orderflow_core::domain::{
    AttemptId, DeliveryAttempt, EventFilter, EventKind, Order, SigningSecret, UserId, Webhook,
    WebhookEventId, WebhookId, WebhookSecret, WebhookUrl,
};
use orderflow_core::ports::{HandedOut, OwedEvents, WebhookDeliveries, WebhookEndpoints};
use std::sync::Arc;

/// The webhook ports of one store, with its order ports to make status changes.
#[derive(Clone)]
pub struct WebhookStore {
    pub endpoints: Arc<dyn WebhookEndpoints>,
    pub deliveries: Arc<dyn WebhookDeliveries>,
    pub store: Store,
}

fn hook(at: DateTime<Utc>) -> Webhook {
    Webhook {
        id: WebhookId::new(),
        url: WebhookUrl::parse("https://hooks.example.com/in?x=1").unwrap(),
        events: EventFilter::All,
        secrets: vec![SigningSecret {
            secret: WebhookSecret::from_key_256([9; 32]),
            retires_at: None,
        }],
        created_at: at,
    }
}

fn event(order: &Order, index: u32) -> WebhookEventId {
    WebhookEventId {
        order: order.id,
        index,
    }
}

/// A placed order (in the store) and the registered endpoint.
async fn placed(s: &WebhookStore, sku: &str) -> (Order, Webhook) {
    let p = product(sku, 100, 10);
    s.store.inventory.insert(&p).await.unwrap();
    let o = order(UserId::new(), &[(&p, 1)]);
    s.store.orders.insert(&o).await.unwrap();
    let h = hook(now());
    s.endpoints.add_webhook(&h).await.unwrap();
    (o, h)
}

async fn owed(s: &WebhookStore) -> Vec<(uuid::Uuid, usize, usize)> {
    s.deliveries
        .owed_events(100)
        .await
        .unwrap()
        .into_iter()
        .map(|OwedEvents { order, fanned }| (order.id.0, fanned, order.history.len()))
        .collect()
}

pub async fn endpoints_are_kept_rotated_and_removed(s: WebhookStore) {
    let t = now();
    let (a, mut b) = (hook(t), hook(t + Span::milliseconds(1)));
    b.events = EventFilter::Only(vec![EventKind::Placed, EventKind::Failed]);
    s.endpoints.add_webhook(&a).await.unwrap();
    s.endpoints.add_webhook(&b).await.unwrap();
    assert_eq!(
        s.endpoints.webhooks().await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(s.endpoints.webhook(b.id).await.unwrap(), Some(b.clone()));

    let mut rotated = b.clone();
    rotated.rotate(WebhookSecret::from_key_256([3; 32]), t, t + Span::hours(24));
    assert!(s.endpoints.replace_secrets(&rotated).await.unwrap());
    assert_eq!(s.endpoints.webhook(b.id).await.unwrap(), Some(rotated));
    assert!(
        !s.endpoints.replace_secrets(&hook(t)).await.unwrap(),
        "unknown"
    );

    assert!(s.endpoints.remove_webhook(a.id).await.unwrap());
    assert!(!s.endpoints.remove_webhook(a.id).await.unwrap());
    assert_eq!(s.endpoints.webhook(a.id).await.unwrap(), None);
    assert_eq!(s.endpoints.webhooks().await.unwrap().len(), 1);
}

pub async fn status_changes_are_owed_from_their_write_until_handed_out(s: WebhookStore) {
    let (o, _) = placed(&s, "WH-OWED").await;
    assert_eq!(owed(&s).await, vec![(o.id.0, 0, 1)], "a placement is owed");
    let hand = |fanned, upto| HandedOut {
        order: o.id,
        fanned,
        upto,
    };
    s.deliveries
        .fan_out(&[], &[hand(0, 1)], now())
        .await
        .unwrap();
    assert!(owed(&s).await.is_empty());

    s.store.settlement.fulfil(o.id, now()).await.unwrap();
    assert_eq!(owed(&s).await, vec![(o.id.0, 1, 2)], "a settlement is owed");
    // A hand-out that read the order before it changed, or by another process that
    // got there first, changes nothing.
    s.deliveries
        .fan_out(&[], &[hand(0, 1)], now())
        .await
        .unwrap();
    s.deliveries
        .fan_out(&[], &[hand(1, 1)], now())
        .await
        .unwrap();
    assert_eq!(owed(&s).await, vec![(o.id.0, 1, 2)]);
    s.deliveries
        .fan_out(&[], &[hand(1, 2)], now())
        .await
        .unwrap();
    assert!(owed(&s).await.is_empty());

    let p = product("WH-OWED-2", 100, 10);
    s.store.inventory.insert(&p).await.unwrap();
    let c = order(UserId::new(), &[(&p, 1)]);
    s.store.orders.insert(&c).await.unwrap();
    s.store
        .orders
        .cancel(c.id, now(), None, false)
        .await
        .unwrap();
    assert_eq!(owed(&s).await, vec![(c.id.0, 0, 2)], "a cancel is owed too");
}

pub async fn a_lane_is_granted_to_one_claimer_until_its_claim_lapses(s: WebhookStore) {
    let (o, h) = placed(&s, "WH-CLAIM").await;
    let t = now();
    s.deliveries
        .fan_out(&[(h.id, event(&o, 0))], &[], t)
        .await
        .unwrap();
    assert_eq!(
        s.deliveries
            .claim_lane(t, t + Span::seconds(30), &[h.id])
            .await
            .unwrap(),
        None,
        "a skipped endpoint's lanes are not granted"
    );
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let d = s.deliveries.clone();
            tokio::spawn(async move { d.claim_lane(t, t + Span::seconds(30), &[]).await.unwrap() })
        })
        .collect();
    let mut won = Vec::new();
    for r in racers {
        won.extend(r.await.unwrap());
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let lane = &won[0];
    assert_eq!(
        (lane.webhook, lane.order, lane.event),
        (h.id, o.id, event(&o, 0))
    );
    assert_eq!((lane.failures, lane.since), (0, t));
    let later = t + Span::seconds(31);
    let again = s
        .deliveries
        .claim_lane(later, later + Span::seconds(30), &[])
        .await
        .unwrap()
        .expect("a lapsed claim is granted again");
    // The first claimer's writes no longer count.
    s.deliveries.finish_head(lane, later).await.unwrap();
    s.deliveries
        .retry_head(&again, 2, later + Span::seconds(5))
        .await
        .unwrap();
    let third = s
        .deliveries
        .claim_lane(later + Span::seconds(5), later + Span::seconds(60), &[])
        .await
        .unwrap()
        .expect("the head is still there, due after its pause");
    assert_eq!((third.event, third.failures), (event(&o, 0), 2));
}

pub async fn a_lanes_events_go_out_head_first_each_queued_once(s: WebhookStore) {
    let (o, h) = placed(&s, "WH-ORDER").await;
    let t = now();
    let queue = [(h.id, event(&o, 0)), (h.id, event(&o, 1))];
    s.deliveries.fan_out(&queue, &[], t).await.unwrap();
    s.deliveries.fan_out(&queue, &[], t).await.unwrap();
    let claim = |at: DateTime<Utc>| {
        let d = s.deliveries.clone();
        async move { d.claim_lane(at, at + Span::seconds(30), &[]).await.unwrap() }
    };
    let head = claim(t).await.expect("due");
    assert_eq!(head.event, event(&o, 0));
    assert_eq!(claim(t).await, None, "one lane, claimed");
    s.deliveries
        .retry_head(&head, 1, t + Span::seconds(10))
        .await
        .unwrap();
    assert_eq!(
        claim(t + Span::seconds(9)).await,
        None,
        "the later event waits"
    );
    let head = claim(t + Span::seconds(10)).await.expect("due again");
    assert_eq!((head.event, head.failures), (event(&o, 0), 1));
    s.deliveries
        .finish_head(&head, t + Span::seconds(10))
        .await
        .unwrap();
    let next = claim(t + Span::seconds(10)).await.expect("the next event");
    assert_eq!((next.event, next.failures), (event(&o, 1), 0));
    s.deliveries
        .finish_head(&next, t + Span::seconds(10))
        .await
        .unwrap();
    assert_eq!(claim(t + Span::seconds(11)).await, None, "queued once each");

    // A redelivery queues the event again, even one already sent.
    s.deliveries
        .enqueue(h.id, event(&o, 0), t + Span::seconds(12))
        .await
        .unwrap();
    let redo = claim(t + Span::seconds(12)).await.expect("queued again");
    assert_eq!(
        (redo.event, redo.since),
        (event(&o, 0), t + Span::seconds(12))
    );
}

pub async fn removing_an_endpoint_drops_its_queue(s: WebhookStore) {
    let (o, h) = placed(&s, "WH-GONE").await;
    let t = now();
    s.deliveries
        .fan_out(&[(h.id, event(&o, 0))], &[], t)
        .await
        .unwrap();
    assert!(s.endpoints.remove_webhook(h.id).await.unwrap());
    assert_eq!(
        s.deliveries
            .claim_lane(t, t + Span::seconds(30), &[])
            .await
            .unwrap(),
        None
    );
}

pub async fn the_delivery_log_pages_newest_first(s: WebhookStore) {
    let (o, h) = placed(&s, "WH-LOG").await;
    let t = now();
    let mut written = Vec::new();
    for n in 1..=5u32 {
        let a = DeliveryAttempt {
            id: AttemptId::new(),
            webhook: h.id,
            event: event(&o, 0),
            kind: EventKind::Placed,
            attempt: n,
            status_code: (n == 5).then_some(204).or(Some(500)).filter(|_| n != 3),
            error: (n != 5).then(|| format!("try {n}")),
            at: t + Span::milliseconds(i64::from(n)),
        };
        s.deliveries.record_attempt(&a).await.unwrap();
        written.push(a);
    }
    let first = s.deliveries.attempts(h.id, None, 2).await.unwrap();
    assert_eq!(first, vec![written[4].clone(), written[3].clone()]);
    let rest = s
        .deliveries
        .attempts(h.id, Some(first[1].id), 10)
        .await
        .unwrap();
    assert_eq!(
        rest,
        vec![written[2].clone(), written[1].clone(), written[0].clone()]
    );
    assert!(s
        .deliveries
        .attempts(WebhookId::new(), None, 10)
        .await
        .unwrap()
        .is_empty());
}

/// With no endpoint, what a settled order changed before a time is owed to no one;
/// later changes stay, and so does a pending order's (its settlement writes it anyway).
pub async fn changes_before_a_time_can_be_forgotten(s: WebhookStore) {
    let p = product("WH-FORGET", 100, 10);
    s.store.inventory.insert(&p).await.unwrap();
    let t = now();
    let old = |at| super::fixtures::order_at(UserId::new(), &[(&p, 1)], None, at);
    let (settled, pending, new) = (
        old(t - Span::seconds(60)),
        old(t - Span::seconds(60)),
        old(t),
    );
    for o in [&settled, &pending, &new] {
        s.store.orders.insert(o).await.unwrap();
    }
    s.store
        .orders
        .cancel(settled.id, t - Span::seconds(50), None, false)
        .await
        .unwrap();
    let forgotten = s
        .deliveries
        .forget_owed(t - Span::seconds(30))
        .await
        .unwrap();
    assert_eq!(forgotten, 1);
    let sorted = |mut v: Vec<(uuid::Uuid, usize, usize)>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(owed(&s).await),
        sorted(vec![(new.id.0, 0, 1), (pending.id.0, 0, 1)])
    );
    // Its change after the time is owed with what it owed before.
    s.store
        .orders
        .cancel(pending.id, t, None, false)
        .await
        .unwrap();
    assert_eq!(
        sorted(owed(&s).await),
        sorted(vec![(new.id.0, 0, 1), (pending.id.0, 0, 2)])
    );
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(s: WebhookStore) {
    s.endpoints.health().await.expect("healthy");
    s.deliveries.health().await.expect("healthy");
}

#[macro_export]
macro_rules! webhooks_contract {
    ($factory:expr) => {
        mod webhooks_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(webhooks, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            endpoints_are_kept_rotated_and_removed,
            #[tokio::test]
            status_changes_are_owed_from_their_write_until_handed_out,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            a_lane_is_granted_to_one_claimer_until_its_claim_lapses,
            #[tokio::test]
            a_lanes_events_go_out_head_first_each_queued_once,
            #[tokio::test]
            removing_an_endpoint_drops_its_queue,
            #[tokio::test]
            the_delivery_log_pages_newest_first,
            #[tokio::test]
            changes_before_a_time_can_be_forgotten,
            );
        }
    };
}
