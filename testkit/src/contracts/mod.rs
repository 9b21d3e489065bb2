//! One behavioural suite per port, written once and run against every adapter: same
//! tests, same assertions. Each suite is a set of `pub async fn`s plus a macro that
//! stamps them out as `#[tokio::test]`s for one adapter factory, e.g.
//!
//! ```text
//! orderflow_testkit::store_contract!(async { Some(my_store()) });
//! ```
//!
//! The factory is an async expression giving `Some(adapter)` with fresh, empty state,
//! or `None` to skip (a service that is not there; see `services`).

pub mod cache;
pub mod fixtures;
pub mod leases;
pub mod limiter;
pub mod mailer;
pub mod queue;
pub mod sessions;
pub mod store;
pub mod users;
