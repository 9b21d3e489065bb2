use crate::RedisConn;
use orderflow_core::ports::{Allowance, LimiterError, RateLimiter};
use std::time::Duration;

/// INCR and the window's expiry in one atomic step, so concurrent hits from many
/// processes are all counted and the first one of a window sets its end.
const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// The key's count and remaining window, counting nothing.
const PEEK: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}
";

pub struct RedisLimiter {
    conn: RedisConn,
    script: redis::Script,
    peek: redis::Script,
}

impl RedisLimiter {
    pub fn new(conn: RedisConn) -> Self {
        Self {
            conn,
            script: redis::Script::new(HIT),
            peek: redis::Script::new(PEEK),
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Allowance, LimiterError> {
        let k = self.conn.key(&format!("ratelimit:{key}"));
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let script = self.script.clone();
        let (count, ttl_ms): (i64, i64) = self
            .conn
            .run(|mut c| async move { script.key(k).arg(ms).invoke_async(&mut c).await })
            .await
            .map_err(LimiterError::Unavailable)?;
        Ok(if count <= i64::from(limit) {
            Allowance::granted()
        } else {
            Allowance::refused(Duration::from_millis(ttl_ms.max(0) as u64))
        })
    }

    async fn peek(&self, key: &str, limit: u32) -> Result<Allowance, LimiterError> {
        let k = self.conn.key(&format!("ratelimit:{key}"));
        let script = self.peek.clone();
        let (count, ttl_ms): (i64, i64) = self
            .conn
            .run(|mut c| async move { script.key(k).invoke_async(&mut c).await })
            .await
            .map_err(LimiterError::Unavailable)?;
        Ok(if count < i64::from(limit) {
            Allowance::granted()
        } else {
            Allowance::refused(Duration::from_millis(ttl_ms.max(0) as u64))
        })
    }
}

/// A `PING`, bounded by the adapter's timeout.
#[async_trait::async_trait]
impl orderflow_core::ports::Health for RedisLimiter {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        self.conn.ping().await
    }
}
