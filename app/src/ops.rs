//! The operations listener every role serves (`[ops] bind`): `/healthz`, `/readyz`,
//! `/metrics`. It is bound before any dependency is contacted, so an orchestrator's
//! probes get answers (ready: 503 `starting`) while the process waits for MongoDB or
//! SQS, instead of a refused connection that reads as a dead process.

use crate::health::Readiness;
use crate::http::health;
use crate::metrics::Metrics;
use axum::extract::FromRef;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

#[derive(Clone)]
pub struct OpsState {
    pub readiness: Arc<Readiness>,
    pub metrics: Arc<Metrics>,
}

impl FromRef<OpsState> for Arc<Readiness> {
    fn from_ref(s: &OpsState) -> Self {
        s.readiness.clone()
    }
}

impl FromRef<OpsState> for Arc<Metrics> {
    fn from_ref(s: &OpsState) -> Self {
        s.metrics.clone()
    }
}

pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .with_state(state)
}
