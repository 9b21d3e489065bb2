//! Use cases: one service per area, one error enum per use case. Services hold their
//! ports as `Arc<dyn Port>` so the binary picks adapters at run time.

mod account;
mod auth;
mod catalog;
mod dead_letters;
mod emails;
mod message;
mod orders;
mod owed_emails;
mod password_reset;
mod processor;
mod products;
mod relay;
mod revocations;
mod webhook_dispatch;
mod webhooks;

pub use account::{PasswordChangeError, RoleChangeError, UserLookupError};
pub use auth::{
    AuthError, AuthService, LoginError, RefreshError, RegisterError, Throttle, TokenPair,
};
pub use catalog::{CatalogError, CatalogService, NewProduct};
pub use dead_letters::{DeadLetterError, DeadLetters};
pub use emails::outcome_email;
pub use message::OrderMessage;
pub use orders::{
    Actor, CancelOrderError, GetOrderError, ListOrdersError, OrderService, PlaceOrder,
    PlaceOrderError, Placed,
};
pub use owed_emails::{OwedEmails, OwedEmailsError};
pub use password_reset::{ResetConfirmError, ResetRequestError, ResetSettings};
pub use processor::{DueSent, NotifyRetry, OrderProcessor, ProcessError, Processed};
pub use products::{product_cache_key, ProductSnapshots};
pub use relay::{Relay, Relayed, SetAsideError};
pub use revocations::RevokedSessions;
pub use webhook_dispatch::{FannedOut, OrderJson, Sent, WebhookDispatch, WebhookSettings};
pub use webhooks::{AttemptPage, CreateWebhookError, RedeliverError, WebhookError};
