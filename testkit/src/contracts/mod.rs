//! One behavioural suite per port, written once and run against every adapter: same
//! tests, same assertions. Each suite is a set of `pub async fn`s plus a macro that
//! stamps them out as `#[tokio::test]`s for one adapter factory, e.g.
//!
//! ```text
//! orderflow_testkit::store_contract!(async { orderflow_adapter_memory::MemoryStore::new() });
//! ```
//!
//! The factory is called once per test and must return fresh, empty state.

pub mod cache;
pub mod fixtures;
pub mod queue;
pub mod sessions;
pub mod store;
pub mod users;
