//! MongoDB adapters for the store ports.
//!
//! - [`MongoStore`]: one handle implementing `UserRepo`, `SessionRepo`, `OrderRepo`,
//!   `InventoryRepo` and `Leases` over five collections (`users`, `sessions`, `orders`,
//!   `products`, `leases`).
//! - `docs.rs`: the stored shapes and their conversion to domain types.
//! - `fulfil.rs`: the worker's step as one multi-document transaction with retries.
//!
//! Needs a replica set (transactions). Duplicate-key errors (11000) become the ports'
//! duplicate errors; every other driver error becomes `Unavailable`.

mod docs;
mod errors;
mod fulfil;
mod inventory;
mod leases;
mod orders;
mod sessions;
mod store;
mod users;

pub use store::{MongoSettings, MongoStore};
