//! `/api/admin/*`: operator endpoints.

use super::error::{ApiError, Problem};
use super::extract::{Admin, PathParam, QueryParams};
use super::views::{OrderView, RoleChange, UserView};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use orderflow_core::ports::SetAside;
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
#[utoipa::path(get, operation_id = "list_dead_letters", path = "/api/admin/dead-letters", tag = "admin", security(("bearer" = [])), params(LimitQuery),
    responses((status = 200, description = "the dead letters, oldest first", body = DeadLetterPage),
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
#[utoipa::path(post, operation_id = "redrive_dead_letters", path = "/api/admin/dead-letters/redrive", tag = "admin", security(("bearer" = [])), params(LimitQuery),
    responses((status = 200, description = "how many dead letters went back to the queue", body = RedriveView),
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

/// Deletes one dead letter for good, for a message no redrive can help (admin): the
/// order it named, if any, stays as it is (the relay's sweep publishes a pending order
/// again).
#[utoipa::path(delete, operation_id = "drop_dead_letter", path = "/api/admin/dead-letters/{message_id}", tag = "admin", security(("bearer" = [])), params(("message_id" = String, Path)),
    responses((status = 204, description = "the dead letter is gone"),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json")))]
pub async fn drop_dead_letter(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam(message_id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    s.services.dead_letters.drop_one(&message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct EmailsRetriedView {
    /// How many owed emails were waiting for a later try and are due now.
    pub due_now: usize,
}

/// Makes every owed outcome email due now (admin): after a mail outage, instead of each
/// waiting out its back-off. The workers' due-email scans send them, each once.
#[utoipa::path(post, operation_id = "retry_failed_emails", path = "/api/admin/emails/retry", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "how many owed emails are due now", body = EmailsRetriedView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "unavailable", body = Problem, content_type = "application/problem+json")))]
pub async fn retry_emails(
    State(s): State<AppState>,
    Admin(_admin): Admin,
) -> Result<Json<EmailsRetriedView>, ApiError> {
    Ok(Json(EmailsRetriedView {
        due_now: s.services.owed_emails.retry_now().await?,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SetAsideView {
    pub order: OrderView,
    /// How often the queue refused the order's message.
    pub refusals: u32,
    /// The queue's reason, the last time.
    pub reason: String,
    pub last_refused_at: DateTime<Utc>,
}

impl From<&SetAside> for SetAsideView {
    fn from(s: &SetAside) -> Self {
        Self {
            order: OrderView::from(&s.order),
            refusals: s.refusal.count,
            reason: s.refusal.reason.clone(),
            last_refused_at: s.refusal.at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SetAsidePage {
    pub items: Vec<SetAsideView>,
}

#[derive(Serialize, ToSchema)]
pub struct RetriedView {
    pub retried: bool,
}

/// Orders whose message the queue refused until the relay set them aside (admin).
#[utoipa::path(get, operation_id = "list_set_aside_orders", path = "/api/admin/outbox/set-aside", tag = "admin", security(("bearer" = [])), params(LimitQuery),
    responses((status = 200, description = "the set-aside orders", body = SetAsidePage),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
pub async fn set_aside(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    QueryParams(q): QueryParams<LimitQuery>,
) -> Result<Json<SetAsidePage>, ApiError> {
    let orders = s.services.relay.list_set_aside(limit(q.limit)?).await?;
    Ok(Json(SetAsidePage {
        items: orders.iter().map(SetAsideView::from).collect(),
    }))
}

/// Hands a set-aside order back to the relay, which publishes it on its next scan and
/// counts refusals from zero again (admin).
#[utoipa::path(post, operation_id = "retry_set_aside_order", path = "/api/admin/outbox/set-aside/{id}/retry", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 202, description = "handed back to the relay", body = RetriedView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state: the order is not set aside", body = Problem, content_type = "application/problem+json")))]
pub async fn retry_set_aside(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
) -> Result<(StatusCode, Json<RetriedView>), ApiError> {
    let id = super::orders::order_id(&id)?;
    if s.services.relay.retry_set_aside(id).await? {
        Ok((StatusCode::ACCEPTED, Json(RetriedView { retried: true })))
    } else {
        Err(ApiError::InvalidState("the order is not set aside".into()))
    }
}

/// Give a user another role (admin). Their logins end, so no token keeps the old role:
/// they log in again to get the new one. An admin cannot change their own role.
#[utoipa::path(patch, operation_id = "change_user_role", path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)), request_body = RoleChange,
    responses((status = 200, description = "the user with the new role; their logins ended", body = UserView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state: the admin's own role", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: not a role", body = Problem, content_type = "application/problem+json")))]
pub async fn change_role(
    State(s): State<AppState>,
    Admin(admin): Admin,
    PathParam(id): PathParam<String>,
    super::extract::JsonBody(body): super::extract::JsonBody<RoleChange>,
) -> Result<Json<UserView>, ApiError> {
    let id =
        orderflow_core::domain::UserId::parse(&id).ok_or(ApiError::NotFound("no such user"))?;
    let user = s
        .services
        .auth
        .change_role(admin.user_id, id, &body.role)
        .await?;
    Ok(Json(UserView::from(&user)))
}
