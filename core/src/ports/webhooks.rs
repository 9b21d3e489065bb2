use crate::domain::{
    AttemptId, DeliveryAttempt, Order, OrderId, Webhook, WebhookEventId, WebhookId, WebhookSecret,
    WebhookUrl,
};
use crate::BoxError;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum WebhookRepoError {
    #[error("webhook store unavailable")]
    Unavailable(#[source] BoxError),
}

/// The registered endpoints.
///
/// MUST:
/// - list in `webhooks` every endpoint added and not removed, oldest first;
/// - make `remove_webhook` also drop the endpoint's queued deliveries (none is sent
///   after it answers) and answer whether the endpoint existed;
/// - make `replace_secrets` change only the secrets, atomically, and answer `false`
///   for an unknown endpoint;
/// - keep times to the millisecond and return `Unavailable` when the store cannot
///   answer.
#[async_trait::async_trait]
pub trait WebhookEndpoints: super::Health {
    async fn add_webhook(&self, hook: &Webhook) -> Result<(), WebhookRepoError>;
    async fn webhooks(&self) -> Result<Vec<Webhook>, WebhookRepoError>;
    async fn webhook(&self, id: WebhookId) -> Result<Option<Webhook>, WebhookRepoError>;
    async fn remove_webhook(&self, id: WebhookId) -> Result<bool, WebhookRepoError>;
    async fn replace_secrets(&self, hook: &Webhook) -> Result<bool, WebhookRepoError>;
}

/// An order whose status changes have not all been handed to the endpoints yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedEvents {
    pub order: Order,
    /// How many of its history's entries were handed out already.
    pub fanned: usize,
}

/// An order's changes `fanned..upto` handed to the endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandedOut {
    pub order: OrderId,
    pub fanned: usize,
    pub upto: usize,
}

/// The event at the head of one endpoint's queue for one order, claimed by a sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub webhook: WebhookId,
    pub order: OrderId,
    pub event: WebhookEventId,
    /// When this event was queued (its give-up clock starts here).
    pub since: DateTime<Utc>,
    /// Failed tries of this event so far.
    pub failures: u32,
    /// The claim: later writes about this lane are made only while it still holds.
    pub claimed_until: DateTime<Utc>,
}

/// Webhook deliveries: which status changes are owed to the endpoints, one queue per
/// endpoint and order (so one order's events go out in the order they happened and
/// different orders and endpoints do not wait for each other), and the log of tries.
///
/// An order's status changes are owed from the moment they are written: the store
/// records that in the same atomic unit as the placement, settlement or cancel (an
/// order inserted by `Orders::insert` owes its placement; `OrderSettlement::fulfil` and
/// `Orders::cancel` owe the change they make), so no crash loses an event.
///
/// MUST:
/// - list in `owed_events` orders with status changes not yet handed out, with how
///   many were (0 for a new order), oldest first, up to `limit`;
/// - make `fan_out` queue each given event on its endpoint's lane for its order (an
///   event already queued there is not queued twice), then, for each handed-out order
///   that still says `fanned` and has exactly `upto` changes, record `upto` and end
///   what it owes; any other (changed since it was read, or handed out by another
///   process first) stays as it is;
/// - make `claim_lane` a compare-and-set: it grants a lane whose head is due by `now`,
///   unclaimed or with a lapsed claim, to exactly one caller until `until`, earliest
///   due first, never for an endpoint in `skip`;
/// - make `finish_head` remove the claimed head (delivered or given up) and
///   `retry_head` record its failures and make it due at `due_at`; both release the
///   claim and change nothing if the claim no longer holds;
/// - make `forget_owed` end what orders no longer pending owe for their changes made
///   at or before `before`, and nothing of an order changed after it (for when no
///   endpoint exists; an endpoint is only handed what happens after it was added),
///   answering how many. A pending order keeps owing: its settlement writes it again
///   anyway, and a write now would meet that settlement's transaction and undo it;
/// - make `enqueue` queue one more delivery of an event behind what the lane holds;
/// - list in `attempts` an endpoint's tries newest first, before the `before` attempt
///   when given, up to `limit`;
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait WebhookDeliveries: super::Health {
    async fn owed_events(&self, limit: usize) -> Result<Vec<OwedEvents>, WebhookRepoError>;
    async fn fan_out(
        &self,
        queue: &[(WebhookId, WebhookEventId)],
        handed: &[HandedOut],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError>;
    async fn forget_owed(&self, before: DateTime<Utc>) -> Result<usize, WebhookRepoError>;
    async fn claim_lane(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        skip: &[WebhookId],
    ) -> Result<Option<Lane>, WebhookRepoError>;
    async fn finish_head(&self, lane: &Lane, now: DateTime<Utc>) -> Result<(), WebhookRepoError>;
    async fn retry_head(
        &self,
        lane: &Lane,
        failures: u32,
        due_at: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError>;
    async fn enqueue(
        &self,
        webhook: WebhookId,
        event: WebhookEventId,
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError>;
    async fn record_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), WebhookRepoError>;
    async fn attempts(
        &self,
        webhook: WebhookId,
        before: Option<AttemptId>,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, WebhookRepoError>;
}

/// How an endpoint answered, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Any HTTP status; the body is not read beyond a few KiB.
    Answered(u16),
    /// No answer: refused address, DNS, connection, TLS, timeout. A short reason.
    NoAnswer(String),
}

/// Posts a signed event to an endpoint.
///
/// MUST:
/// - not follow redirects (a 3xx is an answer);
/// - give up after its timeout and answer `NoAnswer`;
/// - refuse, as `NoAnswer`, a URL whose host is or resolves to an address that is not
///   globally reachable (`domain::is_globally_reachable`: private, loopback,
///   link-local, every IANA special-purpose block, and IPv4 reached through NAT64 or
///   6to4) unless configured to allow private networks, checking the
///   addresses it connects to (so a name that changes its answer cannot slip past);
/// - read no more than a few KiB of the answer;
/// - make `check` refuse what `post` would refuse for the address.
#[async_trait::async_trait]
pub trait WebhookSender: Send + Sync {
    /// Why this sender would not deliver to `url` now (a refused address, a name that
    /// does not resolve); checked when an endpoint is added.
    async fn check(&self, url: &WebhookUrl) -> Result<(), String>;
    async fn post(
        &self,
        url: &WebhookUrl,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> SendOutcome;
}

/// The cryptography of webhook signing.
///
/// MUST: make `new_secret` draw 32 bytes from a cryptographically secure generator, and
/// `sign` answer the standard base64 of HMAC-SHA256 keyed with the secret's key.
pub trait WebhookSigner: Send + Sync {
    fn new_secret(&self) -> WebhookSecret;
    fn sign(&self, secret: &WebhookSecret, content: &[u8]) -> String;
}
