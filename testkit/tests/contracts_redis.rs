//! The cache, limiter and order-feed contracts against Redis (`ORDERFLOW_TEST_REDIS_URL`),
//! one key prefix per test.

use orderflow_adapter_redis::{RedisCache, RedisConn, RedisFeed, RedisLimiter, RedisSettings};
use orderflow_core::ports::{Cache, RateLimiter};
use orderflow_testkit::contracts::feed::Processes;
use orderflow_testkit::services::{redis_url, unique};
use std::sync::Arc;
use std::time::Duration;

async fn conn() -> Option<RedisConn> {
    conn_with(&format!("{}:", unique("orderflow-test"))).await
}

async fn conn_with(prefix: &str) -> Option<RedisConn> {
    let url = redis_url().await?;
    let settings = RedisSettings {
        url,
        key_prefix: prefix.to_owned(),
        timeout: Duration::from_secs(2),
    };
    Some(RedisConn::new(settings).expect("redis url"))
}

/// Two processes' feeds: connections of their own, one key prefix.
async fn feeds() -> Option<Processes> {
    let prefix = format!("{}:", unique("orderflow-test"));
    Some(Processes(
        Arc::new(RedisFeed::start(conn_with(&prefix).await?)),
        Arc::new(RedisFeed::start(conn_with(&prefix).await?)),
    ))
}

async fn cache() -> Option<Arc<dyn Cache>> {
    Some(Arc::new(RedisCache::new(conn().await?)))
}

async fn limiter() -> Option<Arc<dyn RateLimiter>> {
    Some(Arc::new(RedisLimiter::new(conn().await?)))
}

orderflow_testkit::cache_contract!(cache());
orderflow_testkit::limiter_contract!(limiter());
orderflow_testkit::order_feed_contract!(feeds());

/// A cache that cannot reach its server answers errors quickly, never hangs.
#[tokio::test]
async fn an_unreachable_redis_fails_fast() {
    let settings = RedisSettings {
        url: "redis://127.0.0.1:1".into(),
        key_prefix: String::new(),
        timeout: Duration::from_millis(500),
    };
    let cache = RedisCache::new(RedisConn::new(settings).unwrap());
    let r = tokio::time::timeout(Duration::from_secs(10), cache.get("k"))
        .await
        .expect("returned");
    assert!(r.is_err());
    assert!(cache.set("k", b"v", Duration::from_secs(1)).await.is_err());
}
