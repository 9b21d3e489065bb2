//! The `orderflow` binary as a library, so the test harness can start exactly what
//! production starts.
//!
//! - [`config`]: layered settings; [`wiring`]: adapters and use cases from settings.
//! - [`http`]: the axum API; [`worker`]: the queue consumer; [`relay`]: the outbox relay;
//!   [`webhook_deliveries`]: the worker's webhook fan-out and sender.
//! - [`startup`]: `Application::build` / `run_until_stopped`, for every role and for
//!   the test harness; [`run`]: a role as a process (signals).
//! - [`ops`]: the probes and metrics listener; [`health`]: readiness; [`metrics`].
//! - [`bootstrap`]: admin and demo data; [`telemetry`]: logs and traces.

pub mod admin_client;
pub mod aws;
pub mod background_mail;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod dlq;
pub mod emails;
pub mod fleet_lease;
pub mod gather;
pub mod gauges;
pub mod handoff;
pub mod health;
pub mod healthcheck;
pub mod http;
pub mod idle_pace;
pub mod mail_deadline;
pub mod metrics;
pub mod notifier;
pub mod ops;
pub mod outbox;
pub mod relay;
pub mod revocations;
pub mod run;
pub mod serve;
pub mod settle_batches;
pub mod startup;
pub mod sweeper;
pub mod telemetry;
mod until_up;
pub mod webhook_deliveries;
pub mod wiring;
pub mod worker;
