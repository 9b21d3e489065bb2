//! Liveness and readiness.

use super::views::HealthView;
use axum::Json;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = HealthView)))]
pub async fn healthz() -> Json<HealthView> {
    Json(HealthView { status: "ok" })
}

/// The process can serve requests: start-up (bootstrap) finished before the listener
/// opened, and the embedded adapters have no outside dependency to lose.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = HealthView)))]
pub async fn readyz() -> Json<HealthView> {
    Json(HealthView { status: "ready" })
}
