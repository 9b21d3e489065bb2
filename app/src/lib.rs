//! The `orderflow` binary as a library, so the test harness can start exactly what
//! production starts.
//!
//! - [`config`]: layered settings; [`wiring`]: adapters and use cases from settings.
//! - [`http`]: the axum API; [`worker`]: the queue consumer; [`relay`]: the outbox relay.
//! - [`bootstrap`]: admin and demo data; [`telemetry`]: logs; [`run`]: roles and shutdown.

pub mod aws;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod dlq;
pub mod health;
pub mod http;
pub mod metrics;
pub mod relay;
pub mod run;
pub mod serve;
pub mod telemetry;
pub mod wiring;
pub mod worker;
