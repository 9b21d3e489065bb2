//! MongoDB adapters for the store ports.
//!
//! - [`MongoStore`]: one handle implementing `UserRepo`, `SessionRepo`, `Orders`,
//!   `Outbox`, `NotificationLedger`, `InventoryRepo`, `OrderSettlement`, `Leases` and
//!   `ResetTokens`, `WebhookEndpoints` and `WebhookDeliveries` over nine collections
//!   (`users`, `sessions`, `orders`, `products`, `leases`, `password_resets`,
//!   `webhooks`, `webhook_lanes`, `webhook_attempts`).
//! - `docs.rs`: the stored shapes and their conversion to domain types.
//! - `fulfil.rs`: the worker's step as one multi-document transaction with retries;
//!   `fulfil_many.rs`: a worker's batch of them as one transaction.
//! - `each_order.rs`: writes to many orders as one statement per order, which never
//!   hold up a settlement.
//!
//! BSON dates hold milliseconds, which is the precision the store ports promise. A
//! settlement is a transaction; one whose worker died holds its order until the server
//! reaps the transaction (about a minute), which is why a cancel meanwhile answers
//! `Busy` (`contracts_mongo.rs` tests it).
//!
//! Needs a replica set (transactions). Duplicate-key errors (11000) become the ports'
//! duplicate errors; every other driver error becomes `Unavailable`.

mod dead_settlements;
mod docs;
mod each_order;
mod errors;
mod fulfil;
mod fulfil_many;
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
