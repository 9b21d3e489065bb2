//! `OrderFeed` contract: what one process publishes, every subscription hears, in
//! this process and in another on the same backing service.

use futures::stream::BoxStream;
use futures::StreamExt;
use orderflow_core::domain::OrderId;
use orderflow_core::ports::{FeedEvent, OrderFeed};
use std::sync::Arc;
use std::time::Duration;

/// Two handles on one backing service, as two processes would hold them.
pub struct Processes(pub Arc<dyn OrderFeed>, pub Arc<dyn OrderFeed>);

/// The next `Changed` on `events` (skipping `Missed`, which a fresh subscription may
/// get while it connects), within a bounded while.
async fn next_change(events: &mut BoxStream<'static, FeedEvent>) -> OrderId {
    let wait = async {
        loop {
            match events.next().await {
                Some(FeedEvent::Changed(id)) => return id,
                Some(FeedEvent::Missed) => continue,
                None => panic!("the subscription ended"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("a published change arrives")
}

/// Subscriptions are live once the first publish from this side is heard: a service's
/// subscription may take a moment to be in place after `subscribe`.
async fn settled(feeds: &Processes, events: &mut [&mut BoxStream<'static, FeedEvent>]) {
    let probe = OrderId::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    for e in events.iter_mut() {
        loop {
            feeds.0.publish(probe).await;
            let heard = tokio::time::timeout(Duration::from_millis(200), async {
                loop {
                    match e.next().await {
                        Some(FeedEvent::Changed(id)) if id == probe => return,
                        Some(_) => continue,
                        None => panic!("the subscription ended"),
                    }
                }
            })
            .await;
            if heard.is_ok() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "the subscription never came up"
            );
        }
    }
    // Repeats of the probe still in flight are skipped by the tests' own ids.
}

pub async fn every_subscription_here_and_elsewhere_hears_a_change(feeds: Processes) {
    let mut here = feeds.0.subscribe();
    let mut elsewhere = feeds.1.subscribe();
    settled(&feeds, &mut [&mut here, &mut elsewhere]).await;
    let id = OrderId::new();
    feeds.0.publish(id).await;
    for events in [&mut here, &mut elsewhere] {
        loop {
            if next_change(events).await == id {
                break;
            }
        }
    }
    let back = OrderId::new();
    feeds.1.publish(back).await;
    loop {
        if next_change(&mut here).await == back {
            break;
        }
    }
}

pub async fn changes_arrive_in_the_order_they_were_published(feeds: Processes) {
    let mut events = feeds.1.subscribe();
    settled(&feeds, &mut [&mut events]).await;
    let ids: Vec<OrderId> = (0..20).map(|_| OrderId::new()).collect();
    for id in &ids {
        feeds.0.publish(*id).await;
    }
    let mut heard = Vec::new();
    while heard.len() < ids.len() {
        let id = next_change(&mut events).await;
        if ids.contains(&id) {
            heard.push(id);
        }
    }
    assert_eq!(heard, ids);
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(feeds: Processes) {
    feeds
        .0
        .health()
        .await
        .expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! order_feed_contract {
    ($factory:expr) => {
        mod order_feed_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(feed, $factory;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            health_is_ok_while_the_service_answers,
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            every_subscription_here_and_elsewhere_hears_a_change,
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            changes_arrive_in_the_order_they_were_published,
            );
        }
    };
}
