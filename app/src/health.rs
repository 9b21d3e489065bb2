//! Readiness probes: one per outside dependency, each bounded in time.

use orderflow_core::BoxError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

type Check =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync>;

/// A named dependency check. A critical dependency that is down makes the instance
/// unready (503); a non-critical one (the cache) only makes it degraded (200).
#[derive(Clone)]
pub struct Probe {
    pub name: &'static str,
    pub critical: bool,
    check: Check,
}

impl Probe {
    pub fn new<F, Fut>(name: &'static str, critical: bool, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        Self {
            name,
            critical,
            check: Arc::new(move || Box::pin(check())),
        }
    }

    /// Runs the check within `timeout`: `Ok(latency)` or the reason it failed.
    pub async fn run(&self, timeout: Duration) -> Result<Duration, String> {
        let started = std::time::Instant::now();
        match tokio::time::timeout(timeout, (self.check)()).await {
            Ok(Ok(())) => Ok(started.elapsed()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }
}
