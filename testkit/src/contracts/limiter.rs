//! `RateLimiter` contract.

use orderflow_core::ports::RateLimiter;
use std::sync::Arc;
use std::time::Duration;

fn key() -> String {
    format!("contract:{}", uuid::Uuid::new_v4())
}

pub async fn allows_exactly_the_limit_even_concurrently(l: Arc<dyn RateLimiter>) {
    let k = key();
    let hits: Vec<_> = (0..25)
        .map(|_| {
            let (l, k) = (l.clone(), k.clone());
            tokio::spawn(async move { l.hit(&k, 10, Duration::from_secs(60)).await.unwrap() })
        })
        .collect();
    let mut allowed = 0;
    for h in hits {
        let a = h.await.unwrap();
        if a.allowed {
            allowed += 1;
        } else {
            assert!(
                a.retry_after > Duration::ZERO && a.retry_after <= Duration::from_secs(60),
                "{a:?}"
            );
        }
    }
    assert_eq!(allowed, 10);
    assert!(
        l.hit(&key(), 10, Duration::from_secs(60))
            .await
            .unwrap()
            .allowed,
        "other keys are separate"
    );
}

pub async fn a_new_window_starts_after_the_old_one(l: Arc<dyn RateLimiter>) {
    let k = key();
    let w = Duration::from_millis(1000);
    assert!(l.hit(&k, 1, w).await.unwrap().allowed);
    assert!(!l.hit(&k, 1, w).await.unwrap().allowed);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(l.hit(&k, 1, w).await.unwrap().allowed, "window over");
}

pub async fn peek_answers_as_the_next_hit_would_without_counting(l: Arc<dyn RateLimiter>) {
    let k = key();
    let w = Duration::from_secs(60);
    assert!(l.peek(&k, 2).await.unwrap().allowed, "nothing counted yet");
    for _ in 0..5 {
        assert!(
            l.peek(&k, 2).await.unwrap().allowed,
            "peeking counts nothing"
        );
    }
    assert!(l.hit(&k, 2, w).await.unwrap().allowed);
    assert!(l.peek(&k, 2).await.unwrap().allowed, "one of two used");
    assert!(l.hit(&k, 2, w).await.unwrap().allowed);
    let full = l.peek(&k, 2).await.unwrap();
    assert!(!full.allowed, "the next hit would be refused");
    assert!(
        full.retry_after > Duration::ZERO && full.retry_after <= w,
        "{full:?}"
    );
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(limiter: Arc<dyn RateLimiter>) {
    limiter
        .health()
        .await
        .expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! limiter_contract {
    ($factory:expr) => {
        mod limiter_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(limiter, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            peek_answers_as_the_next_hit_would_without_counting,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            allows_exactly_the_limit_even_concurrently,
            #[tokio::test]
            a_new_window_starts_after_the_old_one,
            );
        }
    };
}
