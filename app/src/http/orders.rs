//! `/api/orders*`

use super::error::{ApiError, Problem};
use super::extract::{request_id, Authenticated, JsonBody, PathParam, QueryParams};
use super::order_cache::CacheStatus;
use super::views::{page_limit, OrderPageView, OrderView, PageQuery, PlaceOrderRequest};
use super::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use orderflow_core::domain::{OrderId, Origin};
use orderflow_core::usecases::PlaceOrder;

pub(super) fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(raw).ok_or(ApiError::NotFound("no such order"))
}

/// Place an order. It is processed asynchronously: poll `GET /api/orders/{id}`.
#[utoipa::path(post, operation_id = "place_order", path = "/api/orders", tag = "orders", security(("bearer" = [])), request_body = PlaceOrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays return the same order; max 255 chars")),
    responses((status = 202, description = "accepted: the order is pending until the worker settles it", body = OrderView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "insufficient_stock", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed, unknown_sku or idempotency_conflict", body = Problem, content_type = "application/problem+json")))]
pub async fn place(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PlaceOrderRequest>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let key =
        match headers.get("idempotency-key") {
            Some(v) => Some(v.to_str().map_err(|_| {
                ApiError::Validation("Idempotency-Key: must be visible ASCII".into())
            })?),
            None => None,
        };
    let items = body
        .items
        .into_iter()
        .map(|i| (i.sku, i.quantity))
        .collect();
    let origin = Origin {
        request_id: request_id(&headers),
        traceparent: crate::telemetry::traceparent_of(&tracing::Span::current()),
    };
    let req = PlaceOrder::parse(items, key, origin)?;
    let placed = s.services.orders.place(actor, req).await?;
    if !placed.replayed {
        s.services.metrics.orders_placed.inc();
    }
    Ok((StatusCode::ACCEPTED, Json(OrderView::from(&placed.order))))
}

/// Your orders, newest first.
#[utoipa::path(get, operation_id = "list_orders", path = "/api/orders", tag = "orders", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "a page of orders, newest first", body = OrderPageView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<OrderPageView>, ApiError> {
    let page = s
        .services
        .orders
        .list(actor, page_limit(q.limit)?, q.cursor.as_deref())
        .await?;
    Ok(Json(OrderPageView::from(&page)))
}

/// One order. `X-Cache` says whether it came from the cache.
#[utoipa::path(get, operation_id = "get_order", path = "/api/orders/{id}", tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "the order", body = OrderView, headers(("X-Cache" = String, description = "hit or miss"))),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found (also for other users' orders)", body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    PathParam(id): PathParam<String>,
) -> Result<Response, ApiError> {
    let (rendered, cache) = s.services.cached_orders.get(actor, order_id(&id)?).await?;
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        rendered,
    )
        .into_response();
    s.services.metrics.count_cache(cache);
    let v = match cache {
        CacheStatus::Hit => "hit",
        CacheStatus::Miss => "miss",
    };
    res.headers_mut()
        .insert("x-cache", HeaderValue::from_static(v));
    Ok(res)
}

/// Cancel a pending order.
#[utoipa::path(post, operation_id = "cancel_order", path = "/api/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "the order", body = OrderView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state: the order is no longer pending; order_busy (with Retry-After): the worker is settling it right now", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    PathParam(id): PathParam<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = s.services.orders.cancel(actor, order_id(&id)?).await?;
    s.services.metrics.orders_cancelled.inc();
    Ok(Json(OrderView::from(&order)))
}
