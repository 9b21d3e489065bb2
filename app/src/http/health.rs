//! Liveness, readiness and metrics. The ops listener serves all three; the API serves
//! the first two as well, for load balancers that check the traffic port.

use crate::health::{Readiness, ReadinessView};
use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct HealthView {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up. Never looks at dependencies: restarting a process does not fix
/// a database.
#[utoipa::path(get, operation_id = "check_liveness", path = "/healthz", tag = "ops", responses((status = 200, description = "the process is alive", body = HealthView)))]
pub async fn healthz() -> Json<HealthView> {
    Json(HealthView { status: "ok" })
}

/// Whether this instance should get traffic. 503 `starting` until it can serve, 503
/// `draining` from SIGTERM on, 503 `unavailable` when a critical dependency (the
/// store) is down; 200 `degraded` when only the cache or the queue is (reads fall
/// through, placements wait in the outbox). Dependency results are reused for about a
/// second, and never carry the error text (it is logged).
#[utoipa::path(get, operation_id = "check_readiness", path = "/readyz", tag = "ops", responses(
    (status = 200, description = "ready (or degraded: an optional dependency is down)", body = ReadinessView), (status = 503, description = "not ready: a required dependency is down, or draining", body = ReadinessView)))]
pub async fn readyz(State(r): State<Arc<Readiness>>) -> (StatusCode, Json<ReadinessView>) {
    let view = r.report().await;
    let code = if view.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(view))
}

/// Prometheus metrics in the text exposition format; served on the ops listener only.
/// Readiness is read first (the same cached report `/readyz` gives), so a scrape shows
/// whether the instance is taking traffic.
pub async fn metrics(
    State(m): State<Arc<Metrics>>,
    State(r): State<Arc<Readiness>>,
) -> impl IntoResponse {
    m.record_readiness(&r.report().await);
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        m.render(),
    )
}
