//! What the probes report: the process's phase (starting, ready, draining) and, once
//! it is ready, its outside dependencies, each checked within a bound and the result
//! kept for a moment, so a burst of probes is not a burst of database calls.

use orderflow_core::BoxError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use utoipa::ToSchema;

type Check =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync>;

/// A named dependency check. A critical dependency that is down makes the instance
/// unready (503); a non-critical one only makes it degraded (200).
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
        let started = Instant::now();
        match tokio::time::timeout(timeout, (self.check)()).await {
            Ok(Ok(())) => Ok(started.elapsed()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }
}

/// Where the process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Listening for probes, still connecting to its dependencies.
    Starting,
    Ready,
    /// SIGTERM arrived: finishing what it holds, taking nothing new once the drain
    /// delay is over.
    Draining,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckView {
    /// up | down
    pub status: &'static str,
    pub critical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadinessView {
    /// ready | degraded (a non-critical dependency is down) | unavailable (a critical
    /// one is) | starting | draining
    pub status: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<&'static str, CheckView>,
}

impl ReadinessView {
    /// Whether the instance should get traffic (200) or not (503).
    pub fn ready(&self) -> bool {
        matches!(self.status, "ready" | "degraded")
    }

    fn bare(status: &'static str) -> Self {
        Self {
            status,
            checks: BTreeMap::new(),
        }
    }
}

/// The process's readiness, shared by the ops listener and the API's `/readyz`.
pub struct Readiness {
    phase: watch::Sender<Phase>,
    probes: OnceLock<Vec<Probe>>,
    /// The last dependency report and when it was made. The async lock makes a burst
    /// of probes wait for one round of checks instead of each starting its own.
    last: tokio::sync::Mutex<Option<(Instant, ReadinessView)>>,
    ttl: Duration,
    timeout: Duration,
}

impl Readiness {
    /// Results are reused for `ttl`; each check is bounded by `timeout`.
    pub fn new(ttl: Duration, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            phase: watch::channel(Phase::Starting).0,
            probes: OnceLock::new(),
            last: tokio::sync::Mutex::new(None),
            ttl,
            timeout,
        })
    }

    /// The dependencies to check once the process is ready; set once.
    pub fn set_probes(&self, probes: Vec<Probe>) {
        let _ = self.probes.set(probes);
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    /// Follows the phase, for work that ends when the process starts draining.
    pub fn watch(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub async fn report(&self) -> ReadinessView {
        match self.phase() {
            Phase::Starting => return ReadinessView::bare("starting"),
            Phase::Draining => return ReadinessView::bare("draining"),
            Phase::Ready => {}
        }
        let mut last = self.last.lock().await;
        if let Some((at, view)) = last.as_ref() {
            if at.elapsed() < self.ttl {
                return view.clone();
            }
        }
        let view = self.check_now().await;
        *last = Some((Instant::now(), view.clone()));
        view
    }

    async fn check_now(&self) -> ReadinessView {
        let probes = self.probes.get().map(Vec::as_slice).unwrap_or_default();
        let results = futures::future::join_all(probes.iter().map(|p| p.run(self.timeout))).await;
        let mut checks = BTreeMap::new();
        let (mut critical_down, mut any_down) = (false, false);
        for (p, r) in probes.iter().zip(results) {
            let latency_ms = match r {
                Ok(latency) => Some(latency.as_secs_f64() * 1000.0),
                Err(e) => {
                    any_down = true;
                    critical_down |= p.critical;
                    // The cause goes to the log, never to the (unauthenticated) probe's
                    // body: driver errors can name hosts, users and internals.
                    tracing::warn!(dependency = p.name, error = %e, "readiness check failed");
                    None
                }
            };
            let status = if latency_ms.is_some() { "up" } else { "down" };
            checks.insert(
                p.name,
                CheckView {
                    status,
                    critical: p.critical,
                    latency_ms,
                },
            );
        }
        let status = match (critical_down, any_down) {
            (true, _) => "unavailable",
            (false, true) => "degraded",
            _ => "ready",
        };
        ReadinessView { status, checks }
    }
}
