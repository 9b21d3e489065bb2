//! MongoDB adapters for the store ports.
//!
//! - [`MongoStore`]: one handle implementing `UserRepo`, `SessionRepo`, `Orders`,
//!   `Outbox`, `NotificationLedger`, `InventoryRepo`, `OrderSettlement`, `Leases` and
//!   `ResetTokens`, `WebhookEndpoints` and `WebhookDeliveries` over nine collections
//!   (`users`, `sessions`, `orders`, `products`, `leases`, `password_resets`,
//!   `webhooks`, `webhook_lanes`, `webhook_attempts`).
//! - `docs.rs`: the stored shapes and their conversion to domain types.
//! - `fulfil_many.rs`: a worker's batch of settlements (and `fulfil`, a batch of one)
//!   as single-document writes: the stock taken and recorded as held for its orders
//!   (`holds.rs`), the orders moved, the holds ended; `fulfil.rs`: what a settlement
//!   writes on its order.
//! - `each_order.rs`: writes to many orders as one statement per order, which never
//!   hold up a settlement.
//!
//! BSON dates hold milliseconds, which is the precision the store ports promise. No
//! write of this crate is a multi-document transaction; a cancel that meets one all the
//! same (another client's, held by a dead process until the server reaps it, about a
//! minute) answers `Busy` after a moment (`contracts_mongo.rs` tests it).
//!
//! Needs a replica set (change streams, and the majority writes production asks for). Duplicate-key errors (11000) become the ports'
//! duplicate errors; every other driver error becomes `Unavailable`.

mod docs;
mod each_order;
mod errors;
mod fulfil;
mod fulfil_many;
mod holds;
mod inventory;
mod leases;
mod metering;
mod order_search;
mod orders;
mod resets;
mod sessions;
mod store;
mod users;
mod webhooks;

pub use store::{MongoSettings, MongoStore};
