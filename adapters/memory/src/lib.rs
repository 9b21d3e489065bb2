//! Adapters that need no external service: the embedded profile runs on these alone,
//! and the contract suites use them as the reference every real adapter must match.
//!
//! - [`MemoryStore`]: users, sessions, orders, inventory, leases and password-reset
//!   tokens, webhook endpoints and deliveries behind one set of locks.
//! - [`MemoryCache`], [`NoCache`]: TTL cache, and the "no cache" choice.
//! - [`MemoryFeed`]: the order feed within one process (a broadcast channel).
//! - [`MemoryQueue`]: visibility timeouts, receive counts, dead-lettering.
//! - [`LogMailer`], [`RecordingMailer`]: log lines, test capture.
//! - [`MemoryLimiter`]: fixed-window attempt counters for login throttling.
//! - [`ManualClock`]: time that only moves when a test says so.

mod cache;
mod clock;
mod feed;
mod inventory;
mod leases;
mod limiter;
mod mailers;
mod orders;
mod queue;
mod resets;
mod sessions;
mod store;
mod users;
mod webhooks;

pub use cache::{MemoryCache, NoCache};
pub use clock::ManualClock;
pub use feed::{events, MemoryFeed};
pub use limiter::MemoryLimiter;
pub use mailers::{LogMailer, RecordingMailer};
pub use queue::MemoryQueue;
pub use store::MemoryStore;
