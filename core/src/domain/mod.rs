//! Domain values. Every type here is parsed from raw input once; once it exists it is valid.

mod email;
mod idempotency;
mod ids;
mod money;
mod order;
mod order_search;
mod password;
mod product;
mod quantity;
mod reachable;
mod refusal;
mod reset;
mod role;
mod session;
mod settlement;
mod sku;
mod status;
mod user;
mod webhook;

pub use email::Email;
pub use idempotency::IdempotencyKey;
pub use ids::{AttemptId, OrderId, UserId, WebhookId};
pub use money::{Currency, Money, Price};
pub use order::{
    NewOrderLine, Order, OrderCursor, OrderLine, OrderPage, Origin, StatusChange, MAX_ORDER_LINES,
};
pub use order_search::OrderSearch;
pub use password::{Password, PasswordHash};
pub use product::{Product, ProductCursor, ProductName, ProductPage, ProductPatch};
pub use quantity::Quantity;
pub use reachable::is_globally_reachable;
pub use refusal::{PublishRefusal, Refusals};
pub use reset::{ResetSecret, ResetToken, ResetTokenHash};
pub use role::Role;
pub use session::{RefreshSecret, RefreshTokenHash, Revocation, Session, SessionFamilyId};
pub use settlement::{FulfilmentOutcome, Settlement};
pub use sku::Sku;
pub use status::OrderStatus;
pub use user::User;
pub use webhook::{
    signed_content, DeliveryAttempt, EventFilter, EventKind, SigningSecret, Webhook, WebhookEvent,
    WebhookEventId, WebhookSecret, WebhookUrl, MAX_WEBHOOK_URL,
};

/// Why a raw value was refused. `field` names the input so the API can say which one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    pub field: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
