//! HTTP API tests: one binary, one module per area. Each test spawns its own app.

mod auth;
mod errors;
mod ops;
mod orders;
mod processing;
mod products;
