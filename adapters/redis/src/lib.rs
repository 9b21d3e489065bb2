//! Redis adapters, sharing one lazily made `ConnectionManager` (it reconnects by itself):
//!
//! - [`RedisCache`]: `Cache`. A cache must never decide whether a request succeeds:
//!   every error or timeout is `Unavailable` (callers treat it as a miss).
//! - [`RedisFeed`]: `OrderFeed` over pub/sub, on a connection of its own per process.
//! - [`RedisLimiter`]: `RateLimiter`, fixed windows counted atomically by a Lua script,
//!   shared by every process.
//!
//! Failures are logged here at most once per 10 s, so an outage does not flood the log.
//! The connection is made on first use, so the service starts, and recovers, whether
//! or not Redis is up.

mod cache;
mod conn;
mod feed;
mod limiter;

pub use cache::RedisCache;
pub use conn::{RedisConn, RedisSettings};
pub use feed::RedisFeed;
pub use limiter::RedisLimiter;
