use crate::BoxError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    #[error("rate limiter unavailable")]
    Unavailable(#[source] BoxError),
}

/// Whether an attempt may go ahead, and if not, when the next one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub allowed: bool,
    /// Time until the window resets; zero when allowed.
    pub retry_after: Duration,
}

impl Allowance {
    /// The attempt may go ahead.
    pub fn granted() -> Self {
        Self {
            allowed: true,
            retry_after: Duration::ZERO,
        }
    }

    /// The attempt is refused until the window resets, `retry_after` from now.
    pub fn refused(retry_after: Duration) -> Self {
        Self {
            allowed: false,
            retry_after,
        }
    }
}

/// Counts attempts per key in fixed windows (login and refresh throttling).
///
/// MUST:
/// - count every `hit`, also concurrent ones from many processes sharing the adapter's
///   backend: of `limit + n` hits in one window exactly `limit` are allowed;
/// - start a fresh window for a key once `window` has passed since its first hit;
/// - let `peek` answer as a `hit` would for the next attempt, without counting it:
///   allowed while fewer than `limit` hits are counted in the key's current window;
/// - return `Unavailable` when the backend cannot answer within the adapter's timeout,
///   never wait longer. The use case decides what that means: logins are refused (429,
///   a short `Retry-After`), refreshes allowed.
#[async_trait::async_trait]
pub trait RateLimiter: super::Health {
    async fn hit(&self, key: &str, limit: u32, window: Duration)
        -> Result<Allowance, LimiterError>;
    /// Whether one more hit would be allowed, without counting one.
    async fn peek(&self, key: &str, limit: u32) -> Result<Allowance, LimiterError>;
}
