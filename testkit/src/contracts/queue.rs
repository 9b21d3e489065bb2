//! `Queue` contract. The factory takes the visibility timeout and max receives the
//! queue must be created with.

use orderflow_core::ports::{Delivery, Outgoing, Queue, Receipt, TraceContext, MAX_BODY_BYTES};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Receives until `n` deliveries arrived or `within` passed (real queues may hand out
/// fewer messages per call than are waiting).
pub async fn receive_n(q: &dyn Queue, n: usize, within: Duration) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n && tokio::time::Instant::now() < deadline {
        got.extend(q.receive(10, Duration::from_secs(1)).await.unwrap());
    }
    got
}

fn body(tag: &str) -> String {
    format!("{{\"tag\":\"{tag}\",\"n\":\"{}\"}}", uuid::Uuid::new_v4())
}

fn plain(bodies: &[String]) -> Vec<Outgoing> {
    bodies.iter().map(|b| b.as_str().into()).collect()
}

/// A trace context as a traced producer sends it.
fn traced(body: &str) -> Outgoing {
    let mut trace = TraceContext::from_traceparent(Some(&format!(
        "00-{}-00f067aa0ba902b7-01",
        uuid::Uuid::new_v4().simple()
    )));
    trace.0.insert("tracestate".into(), "vendor=opaque".into());
    Outgoing {
        body: body.to_owned(),
        trace,
    }
}

pub async fn publish_receive_ack(q: Arc<dyn Queue>) {
    let bodies: Vec<String> = (0..3).map(|i| body(&format!("m{i}"))).collect();
    let mut sent = plain(&bodies);
    sent[1] = traced(&bodies[1]);
    assert!(q.publish(&sent).await.unwrap().refused.is_empty());
    let got = receive_n(q.as_ref(), 3, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 3);
    let got_bodies: HashSet<_> = got.iter().map(|d| d.body.clone()).collect();
    assert_eq!(got_bodies, bodies.iter().cloned().collect());
    assert!(got.iter().all(|d| d.receive_count == 1));
    for d in &got {
        let published = sent.iter().find(|m| m.body == d.body).expect("published");
        assert_eq!(
            d.trace, published.trace,
            "the trace context arrives as published"
        );
    }
    for d in &got {
        q.ack(&d.receipt).await.unwrap();
    }
    assert!(
        receive_n(q.as_ref(), 1, Duration::from_secs(2))
            .await
            .is_empty(),
        "acked messages are gone"
    );
}

pub async fn ack_is_idempotent(q: Arc<dyn Queue>) {
    assert!(q
        .publish(&[body("once").into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    let d = receive_n(q.as_ref(), 1, Duration::from_secs(10))
        .await
        .pop()
        .expect("delivered");
    q.ack(&d.receipt).await.unwrap();
    q.ack(&d.receipt).await.unwrap();
}

pub async fn ack_many_acks_every_receipt_and_is_idempotent(q: Arc<dyn Queue>) {
    // More than one SQS batch (ten) on purpose.
    let bodies: Vec<String> = (0..13).map(|i| body(&format!("b{i}"))).collect();
    assert!(q.publish(&plain(&bodies)).await.unwrap().refused.is_empty());
    let got = receive_n(q.as_ref(), 13, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 13);
    let receipts: Vec<Receipt> = got.iter().map(|d| d.receipt.clone()).collect();
    q.ack_many(&receipts).await.unwrap();
    q.ack_many(&receipts).await.unwrap();
    q.ack_many(&[]).await.unwrap();
    assert!(
        receive_n(q.as_ref(), 1, Duration::from_secs(2))
            .await
            .is_empty(),
        "acked messages are gone"
    );
}

pub async fn unacked_messages_return_after_visibility_timeout(q: Arc<dyn Queue>) {
    let b = body("again");
    assert!(q
        .publish(&[b.as_str().into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    let first = receive_n(q.as_ref(), 1, Duration::from_secs(10))
        .await
        .pop()
        .expect("first delivery");
    assert_eq!((first.body.as_str(), first.receive_count), (b.as_str(), 1));
    let second = receive_n(q.as_ref(), 1, Duration::from_secs(15))
        .await
        .pop()
        .expect("redelivered");
    assert_eq!(second.body, b);
    assert_eq!(second.message_id, first.message_id);
    assert_eq!(second.receive_count, 2, "receive count rises");
    q.ack(&second.receipt).await.unwrap();
}

pub async fn retry_after_zero_redelivers_at_once(q: Arc<dyn Queue>) {
    assert!(q
        .publish(&[body("retry").into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    let d = receive_n(q.as_ref(), 1, Duration::from_secs(10))
        .await
        .pop()
        .expect("delivered");
    q.retry_after(&d.receipt, Duration::ZERO).await.unwrap();
    let again = receive_n(q.as_ref(), 1, Duration::from_secs(10))
        .await
        .pop()
        .expect("visible again");
    assert_eq!(again.receive_count, 2);
    q.ack(&again.receipt).await.unwrap();
}

/// Expects a queue created with `max_receives = 2`.
pub async fn dead_letters_after_max_receives_and_redrives(q: Arc<dyn Queue>) {
    let b = body("poison");
    let sent = traced(&b);
    assert!(q
        .publish(std::slice::from_ref(&sent))
        .await
        .unwrap()
        .refused
        .is_empty());
    for expected in 1..=2 {
        let d = receive_n(q.as_ref(), 1, Duration::from_secs(10))
            .await
            .pop()
            .expect("delivered");
        assert_eq!(d.receive_count, expected);
        assert_eq!(d.trace, sent.trace);
        q.retry_after(&d.receipt, Duration::ZERO).await.unwrap();
    }
    assert!(
        receive_n(q.as_ref(), 1, Duration::from_secs(3))
            .await
            .is_empty(),
        "not delivered a third time"
    );
    let mut dead = Vec::new();
    for _ in 0..20 {
        dead = q.dead_letters(10).await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(dead.len(), 1, "dead-lettered");
    assert_eq!(
        q.dead_letters(10).await.unwrap().len(),
        1,
        "a listing leaves the dead letter in place, visible to the next at once"
    );
    assert_eq!(dead[0].body, b);
    assert_eq!(
        dead[0].trace, sent.trace,
        "dead letters keep their trace context"
    );
    assert_eq!(q.redrive(10).await.unwrap(), 1);
    let back = receive_n(q.as_ref(), 1, Duration::from_secs(10))
        .await
        .pop()
        .expect("redriven");
    assert_eq!(back.body, b);
    assert_eq!(back.receive_count, 1, "fresh count after redrive");
    assert_eq!(back.trace, sent.trace, "and so do redriven messages");
    q.ack(&back.receipt).await.unwrap();
    assert!(q.dead_letters(10).await.unwrap().is_empty());
}

/// A body of `bytes` bytes that still names `tag`.
fn padded(tag: &str, bytes: usize) -> String {
    let b = body(tag);
    format!("{b}{}", " ".repeat(bytes.saturating_sub(b.len())))
}

pub async fn an_entry_the_queue_cannot_take_is_refused_alone(q: Arc<dyn Queue>) {
    // Two large entries that fit one by one but not in one call, and one too large
    // for any call: the first two arrive, the third is refused on its own.
    let sent = vec![
        Outgoing::from(padded("large-1", 150 * 1024)),
        Outgoing::from(padded("too-large", MAX_BODY_BYTES + 1)),
        Outgoing::from(padded("large-2", 150 * 1024)),
        Outgoing::from(body("small")),
    ];
    let published = q.publish(&sent).await.unwrap();
    assert_eq!(
        published
            .refused
            .iter()
            .map(|r| r.index)
            .collect::<Vec<_>>(),
        vec![1],
        "only the oversize entry is refused: {published:?}"
    );
    assert!(
        published.refused[0].reason.contains("bytes"),
        "the reason says why: {published:?}"
    );
    let got = receive_n(q.as_ref(), 3, Duration::from_secs(10)).await;
    let mut got_bodies: Vec<_> = got.iter().map(|d| d.body.clone()).collect();
    got_bodies.sort();
    let mut expected = vec![
        sent[0].body.clone(),
        sent[2].body.clone(),
        sent[3].body.clone(),
    ];
    expected.sort();
    assert_eq!(got_bodies, expected, "every other entry arrives, intact");
    for d in &got {
        q.ack(&d.receipt).await.unwrap();
    }
}

pub async fn receive_never_waits_past_its_wait(q: Arc<dyn Queue>) {
    let r = tokio::time::timeout(
        Duration::from_secs(15),
        q.receive(10, Duration::from_secs(1)),
    )
    .await;
    assert!(r.expect("receive returned").unwrap().is_empty());
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(q: Arc<dyn Queue>) {
    q.health().await.expect("a working adapter is healthy");
}

/// Expects a queue created with `max_receives = 1`.
pub async fn dead_letters_are_counted_and_dropped_one_by_one(q: Arc<dyn Queue>) {
    assert_eq!(q.count_dead_letters().await.unwrap(), 0);
    let (first, second) = (body("poison-1"), body("poison-2"));
    assert!(q
        .publish(&[first.as_str().into(), second.as_str().into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    for d in receive_n(q.as_ref(), 2, Duration::from_secs(10)).await {
        q.retry_after(&d.receipt, Duration::ZERO).await.unwrap();
    }
    // The next receive finds both past their allowed receives: the queue moves them.
    assert!(receive_n(q.as_ref(), 1, Duration::from_secs(3))
        .await
        .is_empty());
    let mut counted = 0;
    for _ in 0..40 {
        counted = q.count_dead_letters().await.unwrap();
        if counted == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(counted, 2, "both are counted");
    let dead = q.dead_letters(10).await.unwrap();
    let doomed = dead
        .iter()
        .find(|d| d.body == first)
        .expect("listed")
        .message_id
        .clone();
    assert!(q.drop_dead_letter(&doomed).await.unwrap(), "dropped");
    assert!(
        !q.drop_dead_letter(&doomed).await.unwrap(),
        "a dropped dead letter is gone"
    );
    assert!(!q.drop_dead_letter("no-such-message").await.unwrap());
    let left = q.dead_letters(10).await.unwrap();
    assert_eq!(
        left.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(),
        [second.as_str()],
        "the other stays where it was"
    );
    for _ in 0..40 {
        counted = q.count_dead_letters().await.unwrap();
        if counted == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(counted, 1);
}

#[macro_export]
macro_rules! queue_contract {
    ($factory:expr) => {
        mod queue_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(queue, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers(std::time::Duration::from_secs(30), 5),
            #[tokio::test]
            publish_receive_ack(std::time::Duration::from_secs(30), 5),
            #[tokio::test]
            an_entry_the_queue_cannot_take_is_refused_alone(std::time::Duration::from_secs(30), 5),
            #[tokio::test]
            ack_is_idempotent(std::time::Duration::from_secs(30), 5),
            #[tokio::test]
            ack_many_acks_every_receipt_and_is_idempotent(std::time::Duration::from_secs(30), 5),
            #[tokio::test]
            unacked_messages_return_after_visibility_timeout(std::time::Duration::from_secs(2), 5),
            #[tokio::test]
            retry_after_zero_redelivers_at_once(std::time::Duration::from_secs(30), 5),
            #[tokio::test]
            dead_letters_after_max_receives_and_redrives(std::time::Duration::from_secs(30), 2),
            #[tokio::test]
            dead_letters_are_counted_and_dropped_one_by_one(std::time::Duration::from_secs(30), 1),
            #[tokio::test]
            receive_never_waits_past_its_wait(std::time::Duration::from_secs(30), 5),
            );
        }
    };
}
