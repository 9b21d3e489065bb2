//! Shared test support.
//!
//! - [`spawn_app`] / [`TestApp`]: the real router on port 0 with fresh in-memory
//!   adapters per test, the worker and relay stepped by the test itself.
//! - [`addresses`]: addresses webhooks must not reach, and test names for them.
//! - [`faults`]: adapters that can be switched to fail, for outage tests.
//! - [`meter`]: a `CallMeter` that remembers the requests adapters counted.
//! - [`receiver`]: a webhook endpoint that records, fails or hangs as told.
//! - [`sqs_proxy`]: an SQS emulator answering receives as AWS may (fewer, none, errors).
//! - [`contracts`]: one behavioural suite per port, run against every adapter.
//! - [`services`]: where service-backed tests find MongoDB, Redis, SQS/SES and SMTP.
//!
//! Set `TEST_LOG=1` to see the application's logs.

pub mod addresses;
#[cfg(feature = "docker")]
mod containers;
pub mod contracts;
pub mod faults;
pub mod meter;
pub mod receiver;
pub mod services;
mod spawn;
pub mod sqs_proxy;
pub mod sse;

pub use spawn::{
    memory_adapters, spawn_app, spawn_app_custom, spawn_app_with, spawn_stack, start, test_config,
    Reply, RunningApp, TestApp, TestUser, ADMIN_EMAIL, ADMIN_PASSWORD, TEST_JWT_SECRET,
};

/// Turns on logs when `TEST_LOG` is set; safe to call from every test.
pub fn init_test_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
    }
}
