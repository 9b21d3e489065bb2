//! `/api/admin/*`: operator endpoints.

use super::error::{ApiError, Problem};
use super::extract::{Admin, QueryParams};
use super::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// 1..=100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

fn limit(raw: Option<i64>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(10),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(_) => Err(ApiError::Validation("limit: must be from 1 to 100".into())),
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeadLetterView {
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
}

#[derive(Serialize, ToSchema)]
pub struct DeadLetterPage {
    pub items: Vec<DeadLetterView>,
}

#[derive(Serialize, ToSchema)]
pub struct RedriveView {
    pub redriven: usize,
}

/// Messages the queue gave up on after their maximum receives (admin).
#[utoipa::path(get, path = "/api/admin/dead-letters", tag = "admin", security(("bearer" = [])), params(LimitQuery),
    responses((status = 200, body = DeadLetterPage),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
pub async fn dead_letters(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    QueryParams(q): QueryParams<LimitQuery>,
) -> Result<Json<DeadLetterPage>, ApiError> {
    let items = s.services.dead_letters.list(limit(q.limit)?).await?;
    Ok(Json(DeadLetterPage {
        items: items
            .into_iter()
            .map(|d| DeadLetterView {
                message_id: d.message_id,
                body: d.body,
                receive_count: d.receive_count,
            })
            .collect(),
    }))
}

/// Moves dead letters back to the work queue (admin).
#[utoipa::path(post, path = "/api/admin/dead-letters/redrive", tag = "admin", security(("bearer" = [])), params(LimitQuery),
    responses((status = 200, body = RedriveView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
pub async fn redrive(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    QueryParams(q): QueryParams<LimitQuery>,
) -> Result<Json<RedriveView>, ApiError> {
    Ok(Json(RedriveView {
        redriven: s.services.dead_letters.redrive(limit(q.limit)?).await?,
    }))
}
