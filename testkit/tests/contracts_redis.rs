//! The cache contract against Redis (`ORDERFLOW_TEST_REDIS_URL`), one key prefix per test.

use orderflow_adapter_redis::{RedisCache, RedisSettings};
use orderflow_core::ports::Cache;
use orderflow_testkit::services::{redis_url, unique};
use std::sync::Arc;
use std::time::Duration;

async fn cache() -> Option<Arc<dyn Cache>> {
    let url = redis_url().await?;
    let settings = RedisSettings {
        url,
        key_prefix: format!("{}:", unique("orderflow-test")),
        timeout: Duration::from_secs(2),
    };
    Some(Arc::new(RedisCache::new(settings).expect("redis url")))
}

orderflow_testkit::cache_contract!(cache());

/// A cache that cannot reach its server answers errors quickly, never hangs.
#[tokio::test]
async fn an_unreachable_redis_fails_fast() {
    let settings = RedisSettings {
        url: "redis://127.0.0.1:1".into(),
        key_prefix: String::new(),
        timeout: Duration::from_millis(500),
    };
    let cache = RedisCache::new(settings).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), cache.get("k"))
        .await
        .expect("returned");
    assert!(r.is_err());
    assert!(cache.set("k", b"v", Duration::from_secs(1)).await.is_err());
}
