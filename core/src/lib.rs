//! Orderflow's core: the domain, the ports it needs from the outside world, and the
//! use cases that tie them together. Nothing in this crate performs I/O; adapters
//! implement the ports and `app` wires them.
//!
//! - [`domain`]: values that cannot hold invalid data (`Email`, `Sku`, `Quantity`, `Order`…).
//! - [`ports`]: the traits adapters implement, each stating the errors it MUST return.
//! - [`retry`]: the one back-off shape, and the error that stops retrying.
//! - [`usecases`]: `AuthService`, `CatalogService`, `OrderService`, `OrderProcessor`, `Relay`.

pub mod domain;
pub mod ports;
pub mod retry;
pub mod usecases;

/// An error whose cause is outside the domain (a driver, the network). Carried as a
/// boxed error so the cause chain reaches the log at the edge.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
