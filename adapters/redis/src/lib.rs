//! `Cache` on Redis through a `ConnectionManager` (reconnects by itself).
//!
//! A cache must never decide whether a request succeeds: every Redis error or timeout
//! is returned as `Unavailable` (callers treat it as a miss) and logged here at most
//! once per `WARN_EVERY`, so an outage does not flood the log. The connection is made
//! lazily, so the service starts, and recovers, whether or not Redis is up.

use orderflow_core::ports::{Cache, CacheError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

const WARN_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    /// Prepended to every key, so several deployments (or tests) can share a server.
    pub key_prefix: String,
    /// Bound on one command, connection included: a slow Redis is a miss, not a stall.
    pub timeout: Duration,
}

pub struct RedisCache {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    settings: RedisSettings,
    started: Instant,
    /// Milliseconds since `started` of the last warning logged.
    last_warn_ms: AtomicU64,
}

impl RedisCache {
    /// Parses the URL; does not connect yet.
    pub fn new(settings: RedisSettings) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(settings.url.as_str())?,
            conn: OnceCell::new(),
            settings,
            started: Instant::now(),
            last_warn_ms: AtomicU64::new(u64::MAX),
        })
    }

    async fn conn(&self) -> Result<ConnectionManager, CacheError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.settings.timeout))
            .set_response_timeout(Some(self.settings.timeout))
            .set_number_of_retries(1);
        let client = self.client.clone();
        let conn = tokio::time::timeout(
            self.settings.timeout,
            self.conn
                .get_or_try_init(|| ConnectionManager::new_with_config(client, config)),
        )
        .await
        .map_err(|_| self.fail("redis connect timed out"))?
        .map_err(|e| self.fail(e))?;
        Ok(conn.clone())
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.settings.key_prefix, key)
    }

    fn fail(&self, e: impl Into<orderflow_core::BoxError>) -> CacheError {
        let e = e.into();
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        let due = last == u64::MAX || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        if due
            && self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(error = %e, "redis cache unavailable; reading through to the store");
        }
        CacheError::Unavailable(e)
    }

    async fn run<T>(
        &self,
        f: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CacheError> {
        match tokio::time::timeout(self.settings.timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.fail(e)),
            Err(_) => Err(self.fail("redis command timed out")),
        }
    }

    /// A round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut c = self.conn().await?;
        self.run(async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
    }
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut c = self.conn().await?;
        let k = self.key(key);
        self.run(async move { c.get::<_, Option<Vec<u8>>>(k).await })
            .await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let mut c = self.conn().await?;
        let k = self.key(key);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let v = value.to_vec();
        self.run(async move { c.pset_ex::<_, _, ()>(k, v, ms).await })
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut c = self.conn().await?;
        let k = self.key(key);
        self.run(async move { c.del::<_, ()>(k).await }).await
    }
}
