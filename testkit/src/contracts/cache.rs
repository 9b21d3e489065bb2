//! `Cache` contract.

use orderflow_core::ports::Cache;
use std::sync::Arc;
use std::time::Duration;

fn key(name: &str) -> String {
    format!("contract:{name}:{}", uuid::Uuid::new_v4())
}

pub async fn set_get_overwrite_delete(cache: Arc<dyn Cache>) {
    let k = key("a");
    assert_eq!(cache.get(&k).await.unwrap(), None);
    cache
        .set(&k, b"one", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.get(&k).await.unwrap().as_deref(), Some(&b"one"[..]));
    cache
        .set(&k, b"two", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.get(&k).await.unwrap().as_deref(), Some(&b"two"[..]));
    cache.delete(&k).await.unwrap();
    assert_eq!(cache.get(&k).await.unwrap(), None);
    cache.delete(&k).await.unwrap();
}

pub async fn entries_expire_after_their_ttl(cache: Arc<dyn Cache>) {
    let (short, long) = (key("short"), key("long"));
    cache
        .set(&short, b"x", Duration::from_millis(1000))
        .await
        .unwrap();
    cache
        .set(&long, b"y", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(cache.get(&short).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(cache.get(&short).await.unwrap(), None, "expired");
    assert!(cache.get(&long).await.unwrap().is_some(), "not expired");
}

/// A working adapter says so when asked (`Health`).
pub async fn health_is_ok_while_the_service_answers(cache: Arc<dyn Cache>) {
    cache.health().await.expect("a working adapter is healthy");
}

#[macro_export]
macro_rules! cache_contract {
    ($factory:expr) => {
        mod cache_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(cache, $factory;
            #[tokio::test]
            health_is_ok_while_the_service_answers,
            #[tokio::test]
            set_get_overwrite_delete,
            #[tokio::test]
            entries_expire_after_their_ttl,
            );
        }
    };
}
