//! Liveness, readiness and metrics.

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct HealthView {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct CheckView {
    /// up | down
    pub status: &'static str,
    pub critical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReadinessView {
    /// ready | degraded (a non-critical dependency is down) | unavailable
    pub status: &'static str,
    pub checks: BTreeMap<&'static str, CheckView>,
}

/// The process is up. Never looks at dependencies: restarting a process does not fix
/// a database.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = HealthView)))]
pub async fn healthz() -> Json<HealthView> {
    Json(HealthView { status: "ok" })
}

/// Whether this instance can serve: every dependency checked now, with its latency.
/// 503 when a critical one (the store) is down; 200 `degraded` when only the cache or
/// the queue is (reads fall through, placements wait in the outbox).
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, body = ReadinessView), (status = 503, body = ReadinessView)))]
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<ReadinessView>) {
    let probes = &s.services.adapters.probes;
    let results =
        futures::future::join_all(probes.iter().map(|p| p.run(Duration::from_secs(2)))).await;
    let mut checks = BTreeMap::new();
    let (mut critical_down, mut any_down) = (false, false);
    for (p, r) in probes.iter().zip(results) {
        let view = match r {
            Ok(latency) => CheckView {
                status: "up",
                critical: p.critical,
                latency_ms: Some(latency.as_secs_f64() * 1000.0),
                error: None,
            },
            Err(e) => {
                any_down = true;
                critical_down |= p.critical;
                CheckView {
                    status: "down",
                    critical: p.critical,
                    latency_ms: None,
                    error: Some(e),
                }
            }
        };
        checks.insert(p.name, view);
    }
    let (code, status) = match (critical_down, any_down) {
        (true, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (false, true) => (StatusCode::OK, "degraded"),
        _ => (StatusCode::OK, "ready"),
    };
    (code, Json(ReadinessView { status, checks }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.services.metrics.render(),
    )
}
