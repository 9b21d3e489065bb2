use orderflow_core::BoxError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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

/// One connection shared by the Redis adapters of a process. Cheap to clone.
#[derive(Clone)]
pub struct RedisConn {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    settings: RedisSettings,
    started: Instant,
    /// Milliseconds since `started` of the last warning logged; MAX before the first.
    last_warn_ms: AtomicU64,
}

impl RedisConn {
    /// Parses the URL; does not connect yet.
    pub fn new(settings: RedisSettings) -> Result<Self, redis::RedisError> {
        Ok(Self {
            inner: Arc::new(Inner {
                client: redis::Client::open(settings.url.as_str())?,
                conn: OnceCell::new(),
                settings,
                started: Instant::now(),
                last_warn_ms: AtomicU64::new(u64::MAX),
            }),
        })
    }

    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}{}", self.inner.settings.key_prefix, key)
    }

    /// Runs `f` on the connection within the timeout; any failure is logged
    /// (rate-limited) and returned.
    pub(crate) async fn run<T, F, Fut>(&self, f: F) -> Result<T, BoxError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let timeout = self.inner.settings.timeout;
        let result = tokio::time::timeout(timeout, async {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(1);
            let client = self.inner.client.clone();
            let conn = self
                .inner
                .conn
                .get_or_try_init(|| ConnectionManager::new_with_config(client, config))
                .await?;
            f(conn.clone()).await
        })
        .await;
        let err: BoxError = match result {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => Box::new(e),
            Err(_) => format!("redis did not answer within {timeout:?}").into(),
        };
        self.warn(&err);
        Err(err)
    }

    fn warn(&self, e: &BoxError) {
        let now = self.inner.started.elapsed().as_millis() as u64;
        let last = self.inner.last_warn_ms.load(Ordering::Relaxed);
        let due = last == u64::MAX || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        if due
            && self
                .inner
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(error = %e, "redis unavailable (repeats of this warning are muted for 10 s)");
        }
    }

    /// A connection of its own subscribed to `channel` (a subscribed connection can
    /// do nothing else), made and subscribed within the timeout.
    pub(crate) async fn subscribed(&self, channel: &str) -> Result<redis::aio::PubSub, BoxError> {
        let timeout = self.inner.settings.timeout;
        let made = tokio::time::timeout(timeout, async {
            let mut pubsub = self.inner.client.get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match made {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(e)) => Err(Box::new(e)),
            Err(_) => Err(format!("redis did not answer within {timeout:?}").into()),
        }
    }

    /// A round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), BoxError> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
    }
}
