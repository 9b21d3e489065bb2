//! The admin order desk: finding orders across customers, cancelling one, and
//! looking up who placed it.

use super::error::{ApiError, Problem};
use super::extract::{Admin, PathParam, QueryParams};
use super::views::{page_limit, OrderPageView, OrderView, UserView};
use super::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{OrderSearch, OrderStatus, ParseError, Sku, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters of the order desk; they combine (every one given must hold).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeskQuery {
    /// `pending`, `completed`, `failed` or `cancelled`.
    pub status: Option<String>,
    /// The customer's id.
    pub user_id: Option<String>,
    /// Orders with at least one line of this SKU.
    pub sku: Option<String>,
    /// RFC 3339: created at or after.
    pub created_from: Option<String>,
    /// RFC 3339: created before.
    pub created_to: Option<String>,
    /// 1..=100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page (with the same filters).
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

impl DeskQuery {
    fn search(&self) -> Result<OrderSearch, ParseError> {
        let time = |field: &'static str, raw: &Option<String>| {
            raw.as_deref()
                .map(|r| {
                    DateTime::parse_from_rfc3339(r)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| ParseError::new(field, "must be an RFC 3339 date-time"))
                })
                .transpose()
        };
        OrderSearch::new(
            self.status.as_deref().map(OrderStatus::parse).transpose()?,
            self.user_id
                .as_deref()
                .map(|u| {
                    UserId::parse(u).ok_or_else(|| ParseError::new("user_id", "is not a user id"))
                })
                .transpose()?,
            self.sku.as_deref().map(Sku::parse).transpose()?,
            time("created_from", &self.created_from)?,
            time("created_to", &self.created_to)?,
        )
    }
}

/// Every customer's orders, newest first, filtered (admin). Pages are stable like the
/// customer list's: orders placed meanwhile never shift later pages.
#[utoipa::path(get, operation_id = "search_orders", path = "/api/admin/orders", tag = "admin", security(("bearer" = [])), params(DeskQuery),
    responses((status = 200, description = "a page of orders, newest first", body = OrderPageView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: a filter, the limit or the cursor", body = Problem, content_type = "application/problem+json")))]
pub async fn search_orders(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    QueryParams(q): QueryParams<DeskQuery>,
) -> Result<Json<OrderPageView>, ApiError> {
    let filter = q.search()?;
    let page = s
        .services
        .orders
        .search(&filter, page_limit(q.limit)?, q.cursor.as_deref())
        .await?;
    Ok(Json(OrderPageView::from(&page)))
}

/// One user's account (admin): to see who placed an order.
#[utoipa::path(get, operation_id = "get_user", path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "the user", body = UserView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json")))]
pub async fn get_user(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
) -> Result<Json<UserView>, ApiError> {
    let id = UserId::parse(&id).ok_or(ApiError::NotFound("no such user"))?;
    Ok(Json(UserView::from(&s.services.auth.user(id).await?)))
}

/// Cancel any customer's pending order (admin), with the same race rules as the
/// customer's own cancel: exactly one of the cancel and the worker's settlement wins.
/// The customer's order history records that an administrator cancelled it.
#[utoipa::path(post, operation_id = "cancel_any_order", path = "/api/admin/orders/{id}/cancel", tag = "admin", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "the order", body = OrderView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_state: the order is no longer pending; order_busy (with Retry-After): the worker is settling it right now", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_order(
    State(s): State<AppState>,
    Admin(admin): Admin,
    PathParam(id): PathParam<String>,
) -> Result<Json<OrderView>, ApiError> {
    let id = super::orders::order_id(&id)?;
    let order = s.services.orders.cancel(admin, id).await?;
    s.services.metrics.orders_cancelled.inc();
    Ok(Json(OrderView::from(&order)))
}
