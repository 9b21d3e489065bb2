//! HTTP API tests: one binary, one module per area. Each test spawns its own app.

mod auth;
mod errors;
mod fleet;
mod handoff;
mod lifecycle;
mod ops;
mod orders;
mod outbox;
mod processing;
mod product_copies;
mod products;
