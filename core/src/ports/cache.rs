use crate::BoxError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache unavailable")]
    Unavailable(#[source] BoxError),
}

/// A best-effort key/value cache with expiry.
///
/// MUST:
/// - return `Ok(None)` for a missing or expired key (an entry is gone once its TTL passes);
/// - make `delete` of a missing key succeed;
/// - return `Unavailable` on any failure. Callers treat every error as a miss: the cache
///   never decides whether a request succeeds.
#[async_trait::async_trait]
pub trait Cache: super::Health {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
}
