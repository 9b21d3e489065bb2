//! Webhook endpoints and the events they receive (Standard Webhooks, v1 signatures).

use super::{Order, OrderId, OrderStatus, ParseError, WebhookId};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};

/// The longest URL an endpoint may have.
pub const MAX_WEBHOOK_URL: usize = 2048;

/// What happened to an order, as a webhook event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Placed,
    Completed,
    Failed,
    Cancelled,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [
        EventKind::Placed,
        EventKind::Completed,
        EventKind::Failed,
        EventKind::Cancelled,
    ];

    /// The event an order's status change is: entering `pending` is its placement.
    pub fn of(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Pending => EventKind::Placed,
            OrderStatus::Completed => EventKind::Completed,
            OrderStatus::Failed => EventKind::Failed,
            OrderStatus::Cancelled => EventKind::Cancelled,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Placed => "order.placed",
            EventKind::Completed => "order.completed",
            EventKind::Failed => "order.failed",
            EventKind::Cancelled => "order.cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// The event types an endpoint subscribes to: some, or `*` (every type, including
/// ones added later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Only(Vec<EventKind>),
}

impl EventFilter {
    pub fn parse(raw: &[String]) -> Result<Self, ParseError> {
        if raw.is_empty() {
            return Err(ParseError::new(
                "events",
                "must name at least one event type",
            ));
        }
        let mut kinds = Vec::with_capacity(raw.len());
        for r in raw.iter().filter(|r| *r != "*") {
            let kind = EventKind::parse(r).ok_or_else(|| {
                ParseError::new(
                    "events",
                    format!("unknown event type {r:?}; known: order.placed, order.completed, order.failed, order.cancelled, *"),
                )
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        // `*` covers every type, so beside it the others add nothing.
        if raw.iter().any(|r| r == "*") {
            return Ok(EventFilter::All);
        }
        kinds.sort();
        Ok(EventFilter::Only(kinds))
    }

    pub fn wants(&self, kind: EventKind) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(kinds) => kinds.contains(&kind),
        }
    }

    /// The names as the API shows them (and `parse` reads back).
    pub fn names(&self) -> Vec<String> {
        match self {
            EventFilter::All => vec!["*".to_owned()],
            EventFilter::Only(kinds) => kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        }
    }
}

/// An endpoint's URL: absolute `http` or `https`, with a host, no credentials and no
/// fragment. Where it may point (private networks) is the sender's decision, which
/// resolves the name at every delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = |m: &str| ParseError::new("url", m.to_owned());
        if raw.len() > MAX_WEBHOOK_URL {
            return Err(bad("is longer than 2048 characters"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("must not contain spaces or control characters"));
        }
        let lower = raw.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| bad("must be an absolute http:// or https:// URL"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(bad("must not carry credentials"));
        }
        if raw.contains('#') {
            return Err(bad("must not have a fragment"));
        }
        if Self::host_of(authority).is_empty() {
            return Err(bad("must name a host"));
        }
        Ok(Self(raw.to_owned()))
    }

    fn host_of(authority: &str) -> &str {
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next().unwrap_or("");
        }
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    }

    /// The host as written (an IPv6 literal without brackets), lowercase.
    pub fn host(&self) -> String {
        let lower = self.0.to_ascii_lowercase();
        let rest = lower.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        Self::host_of(authority).to_owned()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signing secret in the Standard Webhooks form `whsec_<base64 of the key>`; the key
/// is 24 to 64 bytes. Shown once, when made; never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    pub fn from_key(key: Vec<u8>) -> Result<Self, ParseError> {
        if !(24..=64).contains(&key.len()) {
            return Err(ParseError::new("secret", "the key must be 24 to 64 bytes"));
        }
        Ok(Self(key))
    }

    /// A 256-bit key, the size new secrets have.
    pub fn from_key_256(key: [u8; 32]) -> Self {
        Self(key.to_vec())
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let b64 = raw
            .strip_prefix("whsec_")
            .ok_or_else(|| ParseError::new("secret", "must start with whsec_"))?;
        let key = STANDARD
            .decode(b64)
            .map_err(|_| ParseError::new("secret", "is not base64 after whsec_"))?;
        Self::from_key(key)
    }

    pub fn key(&self) -> &[u8] {
        &self.0
    }

    pub fn expose(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// A secret an endpoint signs with; a rotated-out one until `retires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSecret {
    pub secret: WebhookSecret,
    pub retires_at: Option<DateTime<Utc>>,
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: WebhookUrl,
    pub events: EventFilter,
    /// The current secret first, then rotated-out ones still in their overlap.
    pub secrets: Vec<SigningSecret>,
    pub created_at: DateTime<Utc>,
}

impl Webhook {
    /// The secrets a delivery at `now` is signed with: the current one and those
    /// rotated out less than the overlap ago.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&WebhookSecret> {
        self.secrets
            .iter()
            .filter(|s| s.retires_at.is_none_or(|t| t > now))
            .map(|s| &s.secret)
            .collect()
    }

    /// Puts `new` first and keeps the current and still-overlapping ones until
    /// `retire_at` at the latest; the ones already retired are dropped.
    pub fn rotate(&mut self, new: WebhookSecret, now: DateTime<Utc>, retire_at: DateTime<Utc>) {
        let mut kept: Vec<SigningSecret> = self
            .secrets
            .drain(..)
            .filter(|s| s.retires_at.is_none_or(|t| t > now))
            .map(|s| SigningSecret {
                retires_at: Some(s.retires_at.map_or(retire_at, |t| t.min(retire_at))),
                secret: s.secret,
            })
            .collect();
        kept.insert(
            0,
            SigningSecret {
                secret: new,
                retires_at: None,
            },
        );
        self.secrets = kept;
    }

    /// Whether this endpoint receives `event`: it subscribes to the type, and the event
    /// happened after the endpoint was made (a new endpoint gets no history).
    pub fn wants(&self, event: &WebhookEvent) -> bool {
        self.events.wants(event.kind) && event.at >= self.created_at
    }
}

/// One event's id: the order and the place of the status change in its history. Stable
/// across retries and redeliveries, so receivers deduplicate on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookEventId {
    pub order: OrderId,
    pub index: u32,
}

impl WebhookEventId {
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix("evt_")?;
        let (order, index) = rest.rsplit_once('_')?;
        let order = OrderId(uuid::Uuid::try_parse(order).ok()?);
        let index = index.parse().ok()?;
        Some(Self { order, index })
    }
}

impl std::fmt::Display for WebhookEventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "evt_{}_{}", self.order.0.simple(), self.index)
    }
}

/// An event as delivered: its type, when it happened, and the order as it was then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id: WebhookEventId,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub order: Order,
}

impl WebhookEvent {
    /// The `index`-th status change of `order` as an event, with the order as it stood
    /// right after it (an order only ever moves once, out of `pending`, so its history
    /// says exactly what it looked like then).
    pub fn of(order: &Order, index: usize) -> Option<Self> {
        let change = order.history.get(index)?;
        let mut then = order.clone();
        then.history.truncate(index + 1);
        then.status = change.status;
        then.updated_at = change.at;
        Some(Self {
            id: WebhookEventId {
                order: order.id,
                index: u32::try_from(index).ok()?,
            },
            kind: EventKind::of(change.status),
            at: change.at,
            order: then,
        })
    }

    /// The order's events from the `from`-th status change on.
    pub fn since(order: &Order, from: usize) -> Vec<Self> {
        (from..order.history.len())
            .filter_map(|i| Self::of(order, i))
            .collect()
    }
}

/// What a Standard Webhooks receiver verifies: `"<id>.<timestamp>.<body>"`.
pub fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// One try at delivering an event to an endpoint, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub id: super::AttemptId,
    pub webhook: WebhookId,
    pub event: WebhookEventId,
    pub kind: EventKind,
    /// 1 for the first try of this event at this endpoint.
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

impl DeliveryAttempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_absolute_http_without_credentials() {
        for ok in [
            "https://example.com/hooks",
            "http://127.0.0.1:8080/x?y=1",
            "https://[::1]:9/x",
        ] {
            assert!(WebhookUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://example.com",
            "example.com/hooks",
            "https://user:pw@example.com/",
            "https:///nohost",
            "https://example.com/#frag",
            "https://exa mple.com/",
            "",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            WebhookUrl::parse("https://[::1]:9/x").unwrap().host(),
            "::1"
        );
        assert_eq!(
            WebhookUrl::parse("HTTP://Example.COM:81").unwrap().host(),
            "example.com"
        );
    }

    #[test]
    fn filters_parse_and_refuse() {
        assert_eq!(EventFilter::parse(&["*".into()]).unwrap(), EventFilter::All);
        assert!(EventFilter::parse(&[]).is_err());
        assert!(EventFilter::parse(&["order.shipped".into()]).is_err());
        assert!(EventFilter::parse(&["*".into(), "order.shipped".into()]).is_err());
        assert_eq!(
            EventFilter::parse(&["*".into(), "order.placed".into()]).unwrap(),
            EventFilter::All
        );
        let f = EventFilter::parse(&["order.failed".into(), "order.placed".into()]).unwrap();
        assert!(f.wants(EventKind::Placed) && !f.wants(EventKind::Completed));
        assert_eq!(f.names(), ["order.placed", "order.failed"]);
    }

    #[test]
    fn secrets_round_trip_and_bound_the_key() {
        let s = WebhookSecret::from_key(vec![7; 32]).unwrap();
        assert_eq!(WebhookSecret::parse(&s.expose()).unwrap(), s);
        assert!(WebhookSecret::from_key(vec![7; 23]).is_err());
        assert!(WebhookSecret::from_key(vec![7; 65]).is_err());
        assert!(!format!("{s:?}").contains("whsec"));
    }

    #[test]
    fn event_ids_round_trip() {
        let id = WebhookEventId {
            order: OrderId::new(),
            index: 1,
        };
        assert_eq!(WebhookEventId::parse(&id.to_string()), Some(id));
        assert_eq!(WebhookEventId::parse("evt_nope_1"), None);
    }

    #[test]
    fn rotation_keeps_old_secrets_for_the_overlap_only() {
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let hour = chrono::Duration::hours(1);
        let (a, b, c) = (
            WebhookSecret::from_key(vec![1; 32]).unwrap(),
            WebhookSecret::from_key(vec![2; 32]).unwrap(),
            WebhookSecret::from_key(vec![3; 32]).unwrap(),
        );
        let mut hook = Webhook {
            id: WebhookId::new(),
            url: WebhookUrl::parse("https://example.com").unwrap(),
            events: EventFilter::All,
            secrets: vec![SigningSecret {
                secret: a.clone(),
                retires_at: None,
            }],
            created_at: t0,
        };
        hook.rotate(b.clone(), t0, t0 + hour * 24);
        assert_eq!(hook.signing_secrets(t0 + hour), vec![&b, &a]);
        assert_eq!(hook.signing_secrets(t0 + hour * 25), vec![&b]);
        hook.rotate(c.clone(), t0 + hour * 2, t0 + hour * 26);
        // `a` keeps its own end; `b` gets the new one.
        assert_eq!(hook.signing_secrets(t0 + hour * 25), vec![&c, &b]);
        assert_eq!(hook.signing_secrets(t0 + hour * 27), vec![&c]);
    }
}
