//! Webhook delivery: status changes handed to the endpoints that want them, then each
//! endpoint's queue for each order sent head first, at least once, signed.

use crate::domain::{signed_content, AttemptId, DeliveryAttempt, Order, Webhook, WebhookEvent};
use crate::ports::{
    lease_until, Clock, HandedOut, Lane, Orders, SendOutcome, WebhookDeliveries, WebhookEndpoints,
    WebhookRepoError, WebhookSender, WebhookSigner,
};
use crate::retry::Backoff;
use crate::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tracing::instrument;

/// How far apart the processes' clocks may be: a change stamped by one process and an
/// endpoint added through another are compared by their times, so changes this recent
/// are never forgotten.
pub const CLOCK_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How long a rotated-out secret keeps signing beside the new one.
    pub rotation_overlap: Duration,
    /// How long an event is retried before it is given up.
    pub give_up_after: Duration,
    /// Pauses between failed tries of one event.
    pub retry: Backoff,
    /// How long a claimed lane is the sender's: longer than one send's timeout.
    pub claim: Duration,
}

/// Renders an order as the API shows it (`GET /api/orders/{id}`), for event bodies.
pub trait OrderJson: Send + Sync {
    fn order_json(&self, order: &Order) -> serde_json::Value;
}

/// What one turn of the sender did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    /// A failed try; the event is due again later.
    Failed,
    /// A failed try after `give_up_after`: the event left the queue.
    GaveUp,
    /// The event or its endpoint no longer exists; the lane's head was dropped.
    Dropped,
}

/// Webhook endpoints and their deliveries.
pub struct WebhookDispatch {
    pub endpoints: Arc<dyn WebhookEndpoints>,
    pub deliveries: Arc<dyn WebhookDeliveries>,
    pub orders: Arc<dyn Orders>,
    pub signer: Arc<dyn WebhookSigner>,
    pub sender: Arc<dyn WebhookSender>,
    pub render: Arc<dyn OrderJson>,
    pub clock: Arc<dyn Clock>,
    pub settings: WebhookSettings,
}

/// What one fan-out did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FannedOut {
    /// Orders whose changes were handed to the endpoints.
    pub handed: usize,
    /// Orders whose changes were owed to no one (no endpoint existed) and forgotten.
    pub forgotten: usize,
}

impl WebhookDispatch {
    /// Hands up to `limit` orders' new status changes to the endpoints that want them.
    /// With no endpoint at all, the changes made before now (less `CLOCK_MARGIN`) are
    /// owed to no one and are forgotten.
    #[instrument(skip_all)]
    pub async fn fan_out(&self, limit: usize) -> Result<FannedOut, WebhookRepoError> {
        let hooks = self.endpoints.webhooks().await?;
        let now = self.clock.now();
        if hooks.is_empty() {
            let margin = chrono::Duration::from_std(CLOCK_MARGIN).unwrap_or_default();
            let forgotten = self.deliveries.forget_owed(now - margin).await?;
            return Ok(FannedOut {
                handed: 0,
                forgotten,
            });
        }
        let owed = self.deliveries.owed_events(limit).await?;
        if owed.is_empty() {
            return Ok(FannedOut::default());
        }
        let mut queue = Vec::new();
        let mut handed = Vec::with_capacity(owed.len());
        for o in &owed {
            for e in WebhookEvent::since(&o.order, o.fanned) {
                queue.extend(hooks.iter().filter(|h| h.wants(&e)).map(|h| (h.id, e.id)));
            }
            handed.push(HandedOut {
                order: o.order.id,
                fanned: o.fanned,
                upto: o.order.history.len(),
            });
        }
        self.deliveries.fan_out(&queue, &handed, now).await?;
        Ok(FannedOut {
            handed: owed.len(),
            forgotten: 0,
        })
    }

    /// Claims one due lane (not of an endpoint in `skip`) and tries its head once.
    /// `None` when nothing is due.
    pub async fn claim(
        &self,
        skip: &[crate::domain::WebhookId],
    ) -> Result<Option<Lane>, WebhookRepoError> {
        let now = self.clock.now();
        self.deliveries
            .claim_lane(now, lease_until(now, self.settings.claim), skip)
            .await
    }

    /// Sends a claimed lane's head once and records what happened.
    #[instrument(skip_all, fields(webhook_id = %lane.webhook, event_id = %lane.event))]
    pub async fn send(&self, lane: &Lane) -> Result<Sent, BoxError> {
        let hook = self.endpoints.webhook(lane.webhook).await?;
        let order = self.orders.get(lane.order).await?;
        let index = usize::try_from(lane.event.index).unwrap_or(usize::MAX);
        let event = order.as_ref().and_then(|o| WebhookEvent::of(o, index));
        let (Some(hook), Some(event)) = (hook, event) else {
            self.deliveries.finish_head(lane, self.clock.now()).await?;
            return Ok(Sent::Dropped);
        };
        let now = self.clock.now();
        let (headers, body) = self.signed(&hook, &event, now);
        let outcome = self.sender.post(&hook.url, &headers, body).await;
        let attempt = DeliveryAttempt {
            id: AttemptId::new(),
            webhook: hook.id,
            event: event.id,
            kind: event.kind,
            attempt: lane.failures.saturating_add(1),
            status_code: match &outcome {
                SendOutcome::Answered(code) => Some(*code),
                SendOutcome::NoAnswer(_) => None,
            },
            error: match outcome {
                SendOutcome::Answered(code) if !(200..300).contains(&code) => {
                    Some(format!("the endpoint answered {code}"))
                }
                SendOutcome::Answered(_) => None,
                SendOutcome::NoAnswer(why) => Some(why),
            },
            at: self.clock.now(),
        };
        self.deliveries.record_attempt(&attempt).await?;
        let after = self.clock.now();
        if attempt.succeeded() {
            self.deliveries.finish_head(lane, after).await?;
            return Ok(Sent::Delivered);
        }
        let failures = attempt.attempt;
        let waited = (after - lane.since).to_std().unwrap_or_default();
        if waited >= self.settings.give_up_after {
            tracing::warn!(failures, "webhook event given up");
            self.deliveries.finish_head(lane, after).await?;
            return Ok(Sent::GaveUp);
        }
        let due_at = lease_until(after, self.settings.retry.after(failures));
        self.deliveries.retry_head(lane, failures, due_at).await?;
        Ok(Sent::Failed)
    }

    /// The Standard Webhooks headers and the body of one try of `event` at `now`.
    pub fn signed(
        &self,
        hook: &Webhook,
        event: &WebhookEvent,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (Vec<(&'static str, String)>, Vec<u8>) {
        let body = serde_json::json!({
            "type": event.kind.as_str(),
            "timestamp": event.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": {"order": self.render.order_json(&event.order)},
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let id = event.id.to_string();
        let timestamp = now.timestamp();
        let content = signed_content(&id, timestamp, &body);
        let signature = hook
            .signing_secrets(now)
            .into_iter()
            .map(|s| format!("v1,{}", self.signer.sign(s, &content)))
            .collect::<Vec<_>>()
            .join(" ");
        let headers = vec![
            ("webhook-id", id),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
            ("content-type", "application/json".to_owned()),
        ];
        (headers, body)
    }
}
