//! HTTP API tests: one binary, one module per area. Each test spawns its own app.

mod admin_desk;
mod auth;
mod errors;
mod fleet;
mod handoff;
mod lifecycle;
mod live_status;
mod ops;
mod orders;
mod outbox;
mod password_reset;
mod processing;
mod product_copies;
mod products;
mod webhooks;
