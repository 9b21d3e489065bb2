use crate::RedisConn;
use orderflow_core::ports::{Cache, CacheError};
use redis::AsyncCommands;
use std::time::Duration;

pub struct RedisCache {
    conn: RedisConn,
}

impl RedisCache {
    pub fn new(conn: RedisConn) -> Self {
        Self { conn }
    }
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let k = self.conn.key(key);
        self.conn
            .run(|mut c| async move { c.get::<_, Option<Vec<u8>>>(k).await })
            .await
            .map_err(CacheError::Unavailable)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let k = self.conn.key(key);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let v = value.to_vec();
        self.conn
            .run(|mut c| async move { c.pset_ex::<_, _, ()>(k, v, ms).await })
            .await
            .map_err(CacheError::Unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let k = self.conn.key(key);
        self.conn
            .run(|mut c| async move { c.del::<_, ()>(k).await })
            .await
            .map_err(CacheError::Unavailable)
    }
}

/// A `PING`, bounded by the adapter's timeout.
#[async_trait::async_trait]
impl orderflow_core::ports::Health for RedisCache {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        self.conn.ping().await
    }
}
