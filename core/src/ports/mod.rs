//! The ports: what the core needs from the outside world. Every trait is object-safe and
//! `Send + Sync` so `app` can hold adapters as `Arc<dyn Port>` chosen by configuration.
//! Each trait's doc states the guarantees an adapter MUST give and the errors it MUST
//! return; the contract suites in `testkit` check every adapter against those words.
//!
//! `Unavailable` in any port means "the dependency could not answer in time": the caller
//! may retry, and the API answers 503. It never means "the data says no".

mod cache;
mod clock;
mod handoff;
mod health;
mod inventory;
mod leases;
mod limiter;
mod mailer;
mod meter;
mod notification_ledger;
mod order_changes;
mod order_feed;
mod orders;
mod outbox;
mod passwords;
mod queue;
mod resets;
mod sessions;
mod settlement;
mod tokens;
mod users;
mod webhooks;

pub use crate::domain::FulfilmentOutcome;
pub use cache::{Cache, CacheError};
pub use clock::{Clock, SystemClock};
pub use handoff::{Handoff, NoHandoff};
pub use health::Health;
pub use inventory::{InventoryError, InventoryRepo};
pub use leases::{lease_until, LeaseError, Leases};
pub use limiter::{Allowance, LimiterError, RateLimiter};
pub use mailer::{MailError, Mailer, OutgoingEmail};
pub use meter::{CallMeter, NoMeter};
pub use notification_ledger::{NotificationLedger, OwedEmail};
pub use order_changes::{NoCopies, OrderChanges};
pub use order_feed::{AllOf, FeedEvent, OrderFeed, PublishChanges};
pub use orders::{OrderRepoError, Orders};
pub use outbox::{Outbox, PendingOrders, SetAside, Unpublished};
pub use passwords::{HashError, PasswordHasher};
pub use queue::{
    DeadLetter, Delivery, Outgoing, Published, Queue, QueueError, Receipt, Refused, TraceContext,
    MAX_BODY_BYTES,
};
pub use resets::{ResetRepoError, ResetTokens};
pub use sessions::{Rotation, SessionRepo, SessionRepoError};
pub use settlement::{Fulfilment, OrderSettlement};
pub use tokens::{AccessClaims, AccessToken, TokenError, TokenIssuer};
pub use users::{UserRepo, UserRepoError};
pub use webhooks::{
    HandedOut, Lane, OwedEvents, SendOutcome, WebhookDeliveries, WebhookEndpoints,
    WebhookRepoError, WebhookSender, WebhookSigner,
};
