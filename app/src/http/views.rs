//! Request and response bodies. Requests refuse unknown fields, so a client can never
//! slip in `user_id`, `status` or a price.

use chrono::{DateTime, Utc};
use orderflow_core::domain::{
    Order, OrderLine, OrderPage, Product, ProductPage, StatusChange, User,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(example = "ada@example.com", min_length = 3, max_length = 254)]
    pub email: String,
    #[schema(example = "correct horse battery", min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    #[schema(example = "customer")]
    pub role: String,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.0,
            email: u.email.to_string(),
            role: u.role.as_str().into(),
            created_at: u.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    pub id: Uuid,
    pub email: String,
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub access_token: String,
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    #[schema(example = "admin")]
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProductView {
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: u32,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            sku: p.sku.to_string(),
            name: p.name.as_str().into(),
            price_cents: p.price_cents.cents(),
            currency: p.currency.to_string(),
            stock: p.stock,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProductPageView {
    pub items: Vec<ProductView>,
    pub next_cursor: Option<String>,
}

impl From<&ProductPage> for ProductPageView {
    fn from(p: &ProductPage) -> Self {
        Self {
            items: p.items.iter().map(Into::into).collect(),
            next_cursor: p.next.as_ref().map(|c| c.0.to_string()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    #[schema(
        example = "SKU-LAMP",
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9._-]+$"
    )]
    pub sku: String,
    #[schema(example = "Desk lamp")]
    pub name: String,
    #[schema(example = 4500, minimum = 0, maximum = 100_000_000_000_i64)]
    pub price_cents: i64,
    /// ISO 4217 code; USD when absent.
    #[schema(example = "USD")]
    pub currency: Option<String>,
    #[schema(example = 25, minimum = 0, maximum = 1_000_000_000)]
    pub stock: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProductRequest {
    pub name: Option<String>,
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub price_cents: Option<i64>,
    /// Added to the current stock (negative to remove); stock never goes below 0.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub stock_delta: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1..=100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItemRequest {
    #[schema(
        example = "SKU-MOUSE",
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9._-]+$"
    )]
    pub sku: String,
    #[schema(example = 1, minimum = 1, maximum = 1000)]
    pub quantity: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderRequest {
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<OrderItemRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderLineView {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
}

impl From<&OrderLine> for OrderLineView {
    fn from(l: &OrderLine) -> Self {
        Self {
            sku: l.sku.to_string(),
            name: l.name.clone(),
            quantity: l.quantity.get(),
            unit_price_cents: l.unit_price_cents.cents(),
            line_total_cents: l.line_total_cents(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatusChangeView {
    #[schema(example = "pending")]
    pub status: &'static str,
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&StatusChange> for StatusChangeView {
    fn from(h: &StatusChange) -> Self {
        Self {
            status: h.status.as_str(),
            at: h.at,
            reason: h.reason.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub user_id: Uuid,
    /// pending | completed | failed | cancelled
    #[schema(example = "pending")]
    pub status: &'static str,
    pub items: Vec<OrderLineView>,
    pub total_cents: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<StatusChangeView>,
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        Self {
            id: o.id.0,
            user_id: o.user_id.0,
            status: o.status.as_str(),
            items: o.lines.iter().map(Into::into).collect(),
            total_cents: o.total_cents,
            currency: o.currency.to_string(),
            created_at: o.created_at,
            updated_at: o.updated_at,
            history: o.history.iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderPageView {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<String>,
}

impl From<&OrderPage> for OrderPageView {
    fn from(p: &OrderPage) -> Self {
        Self {
            items: p.items.iter().map(Into::into).collect(),
            next_cursor: p.next.map(|c| c.encode()),
        }
    }
}

/// `limit` from a query: absent → default; out of range → a clear 422.
pub fn page_limit(raw: Option<i64>) -> Result<usize, super::error::ApiError> {
    match raw {
        None => Ok(20),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(_) => Err(super::error::ApiError::Validation(
            "limit: must be from 1 to 100".into(),
        )),
    }
}

/// Webhook events carry the order exactly as `GET /api/orders/{id}` shows it.
pub struct ApiOrderJson;

impl orderflow_core::usecases::OrderJson for ApiOrderJson {
    fn order_json(&self, order: &Order) -> serde_json::Value {
        serde_json::to_value(OrderView::from(order)).unwrap_or(serde_json::Value::Null)
    }
}
