//! `Leases` contract.

use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use orderflow_core::ports::Leases;
use std::sync::Arc;
use std::time::Duration;

fn name() -> String {
    format!("contract-lease-{}", uuid::Uuid::new_v4())
}

/// Now, to the millisecond every store keeps.
fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Span::milliseconds(1))
        .unwrap_or_else(|_| Utc::now())
}

const TTL: Duration = Duration::from_secs(30);

pub async fn one_holder_at_a_time_until_released(leases: Arc<dyn Leases>) {
    let (lease, t) = (name(), now());
    assert!(leases.acquire(&lease, "a", TTL, t).await.unwrap(), "free");
    assert!(
        !leases.acquire(&lease, "b", TTL, t).await.unwrap(),
        "a holds it"
    );
    assert!(
        leases
            .acquire(&lease, "a", TTL, t + Span::seconds(20))
            .await
            .unwrap(),
        "the holder renews"
    );
    assert!(
        !leases
            .acquire(&lease, "b", TTL, t + Span::seconds(40))
            .await
            .unwrap(),
        "the renewal moved the lease's time on to t+50s"
    );
    leases.release(&lease, "b").await.unwrap();
    assert!(
        !leases
            .acquire(&lease, "b", TTL, t + Span::seconds(40))
            .await
            .unwrap(),
        "only the holder releases"
    );
    leases.release(&lease, "a").await.unwrap();
    assert!(
        leases
            .acquire(&lease, "b", TTL, t + Span::seconds(40))
            .await
            .unwrap(),
        "released"
    );
    leases.release(&lease, "nobody").await.unwrap();
    let other = name();
    assert!(
        leases.acquire(&other, "a", TTL, t).await.unwrap(),
        "leases are independent by name"
    );
}

pub async fn a_lapsed_lease_is_taken_over(leases: Arc<dyn Leases>) {
    let (lease, t) = (name(), now());
    assert!(leases.acquire(&lease, "a", TTL, t).await.unwrap());
    assert!(
        !leases
            .acquire(&lease, "b", TTL, t + Span::seconds(29))
            .await
            .unwrap(),
        "not lapsed yet"
    );
    assert!(
        leases
            .acquire(&lease, "b", TTL, t + Span::seconds(30))
            .await
            .unwrap(),
        "lapsed at its time"
    );
    assert!(
        !leases
            .acquire(&lease, "a", TTL, t + Span::seconds(31))
            .await
            .unwrap(),
        "the old holder cannot renew what was taken over"
    );
    leases.release(&lease, "a").await.unwrap();
    assert!(
        !leases
            .acquire(&lease, "c", TTL, t + Span::seconds(31))
            .await
            .unwrap(),
        "the old holder's release leaves the new holder's lease alone"
    );
}

pub async fn of_concurrent_takers_exactly_one_wins(leases: Arc<dyn Leases>) {
    for lapsed in [false, true] {
        let (lease, t) = (name(), now());
        if lapsed {
            assert!(leases
                .acquire(&lease, "gone", TTL, t - Span::seconds(60))
                .await
                .unwrap());
        }
        let tries = (0..8).map(|i| {
            let (leases, lease) = (leases.clone(), lease.clone());
            tokio::spawn(async move { leases.acquire(&lease, &format!("p{i}"), TTL, t).await })
        });
        let mut won = 0;
        for t in tries {
            if t.await.unwrap().unwrap() {
                won += 1;
            }
        }
        assert_eq!(won, 1, "lapsed before: {lapsed}");
    }
}

#[macro_export]
macro_rules! leases_contract {
    ($factory:expr) => {
        mod leases_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(leases, $factory;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            one_holder_at_a_time_until_released,
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            a_lapsed_lease_is_taken_over,
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            of_concurrent_takers_exactly_one_wins,
            );
        }
    };
}
