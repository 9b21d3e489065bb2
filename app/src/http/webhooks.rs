//! Webhook endpoints (admin): add, list, remove, rotate the secret, read the delivery
//! log, redeliver an event.

use super::error::{ApiError, Problem};
use super::extract::{Admin, JsonBody, PathParam, QueryParams};
use super::views::page_limit;
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{AttemptId, DeliveryAttempt, Webhook, WebhookId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where events are posted: `http` or `https`; outside the embedded configuration
    /// not a private, loopback or link-local address unless
    /// `webhooks.allow_private_networks`.
    #[schema(
        example = "https://example.com/hooks/orderflow",
        min_length = 1,
        max_length = 2048
    )]
    pub url: String,
    /// Event types, or `["*"]` for all.
    #[schema(min_items = 1, max_items = 5, example = json!(["order.completed", "order.failed"]),
        value_type = Vec<WebhookEventType>)]
    pub events: Vec<String>,
}

/// An event type, or `*` (every type, also ones added later).
#[derive(Serialize, ToSchema)]
pub enum WebhookEventType {
    #[serde(rename = "*")]
    All,
    #[serde(rename = "order.placed")]
    Placed,
    #[serde(rename = "order.completed")]
    Completed,
    #[serde(rename = "order.failed")]
    Failed,
    #[serde(rename = "order.cancelled")]
    Cancelled,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    #[schema(value_type = String, format = Uuid)]
    pub id: WebhookId,
    pub url: String,
    #[schema(example = json!(["*"]))]
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Webhook> for WebhookView {
    fn from(h: &Webhook) -> Self {
        Self {
            id: h.id,
            url: h.url.as_str().to_owned(),
            events: h.events.names(),
            created_at: h.created_at,
        }
    }
}

/// A new endpoint, with its signing secret: shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookView {
    #[schema(value_type = String, format = Uuid)]
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<String>,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks).
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookListView {
    pub items: Vec<WebhookView>,
}

#[derive(Serialize, ToSchema)]
pub struct SecretView {
    /// The new `whsec_…` secret; the previous ones keep signing beside it for
    /// `webhooks.rotation_overlap_ms`.
    pub secret: String,
}

/// One try at delivering an event.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    #[schema(value_type = String, format = Uuid)]
    pub id: AttemptId,
    /// The `webhook-id` header receivers deduplicate on.
    pub event_id: String,
    #[schema(example = "order.completed")]
    pub event_type: String,
    /// 1 for the first try of the event at this endpoint.
    pub attempt: u32,
    /// The endpoint's answer; null when there was none.
    pub status_code: Option<u16>,
    /// Why the try failed; null when it succeeded.
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<&DeliveryAttempt> for DeliveryView {
    fn from(a: &DeliveryAttempt) -> Self {
        Self {
            id: a.id,
            event_id: a.event.to_string(),
            event_type: a.kind.as_str().to_owned(),
            attempt: a.attempt,
            status_code: a.status_code,
            error: a.error.clone(),
            at: a.at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPageView {
    pub items: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// 1..=100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

fn webhook_id(raw: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(raw).ok_or(ApiError::NotFound("no such webhook"))
}

/// Register an endpoint (admin). Its secret is in this answer only.
#[utoipa::path(post, operation_id = "create_webhook", path = "/api/admin/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = CreateWebhookRequest,
    responses((status = 201, description = "created", body = CreatedWebhookView),
        (status = 400, description = "invalid_json", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported_media_type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: the URL or the event types; webhook_url_refused: the URL resolves to a refused address or not at all", body = Problem, content_type = "application/problem+json")))]
pub async fn create_webhook(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    JsonBody(b): JsonBody<CreateWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhookView>), ApiError> {
    let (hook, secret) = s
        .services
        .webhooks
        .create_webhook(&b.url, &b.events)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookView {
            id: hook.id,
            url: hook.url.as_str().to_owned(),
            events: hook.events.names(),
            secret: secret.expose(),
            created_at: hook.created_at,
        }),
    ))
}

/// Every registered endpoint (admin), oldest first.
#[utoipa::path(get, operation_id = "list_webhooks", path = "/api/admin/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, description = "the endpoints", body = WebhookListView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json")))]
pub async fn list_webhooks(
    State(s): State<AppState>,
    Admin(_admin): Admin,
) -> Result<Json<WebhookListView>, ApiError> {
    let hooks = s.services.webhooks.webhooks().await?;
    Ok(Json(WebhookListView {
        items: hooks.iter().map(WebhookView::from).collect(),
    }))
}

/// Remove an endpoint (admin): nothing more is sent to it.
#[utoipa::path(delete, operation_id = "delete_webhook", path = "/api/admin/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "removed"),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    s.services.webhooks.remove_webhook(webhook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret (admin). For `webhooks.rotation_overlap_ms` every delivery
/// carries a signature by the old secret and one by the new.
#[utoipa::path(post, operation_id = "rotate_webhook_secret", path = "/api/admin/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "the new secret", body = SecretView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json")))]
pub async fn rotate_secret(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
) -> Result<Json<SecretView>, ApiError> {
    let secret = s.services.webhooks.rotate_secret(webhook_id(&id)?).await?;
    Ok(Json(SecretView {
        secret: secret.expose(),
    }))
}

/// The endpoint's delivery tries, newest first (admin).
#[utoipa::path(get, operation_id = "list_webhook_deliveries", path = "/api/admin/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path), DeliveryQuery),
    responses((status = 200, description = "a page of tries, newest first", body = DeliveryPageView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: the limit or the cursor", body = Problem, content_type = "application/problem+json")))]
pub async fn deliveries(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
    QueryParams(q): QueryParams<DeliveryQuery>,
) -> Result<Json<DeliveryPageView>, ApiError> {
    let id = webhook_id(&id)?;
    let limit = page_limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| {
            AttemptId::parse(c).ok_or_else(|| {
                ApiError::Validation("cursor: is not a cursor this API returned".into())
            })
        })
        .transpose()?;
    let page = s.services.webhooks.attempts(id, before, limit).await?;
    Ok(Json(DeliveryPageView {
        items: page.items.iter().map(DeliveryView::from).collect(),
        next_cursor: page.next.map(|a| a.to_string()),
    }))
}

/// One more delivery of an event to this endpoint (admin): after it was given up, or
/// when the receiver lost it. It goes behind what the endpoint's queue for that order
/// holds, with the same `webhook-id`.
#[utoipa::path(post, operation_id = "redeliver_webhook_event", path = "/api/admin/webhooks/{id}/events/{event_id}/redeliver", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path), ("event_id" = String, Path)),
    responses((status = 202, description = "queued"),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found: no such webhook, or no such event for it", body = Problem, content_type = "application/problem+json")))]
pub async fn redeliver(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam((id, event_id)): PathParam<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.services
        .webhooks
        .redeliver(webhook_id(&id)?, &event_id)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
