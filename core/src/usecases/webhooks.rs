//! Webhook endpoints as an admin manages them: add, list, remove, rotate the secret,
//! read the delivery log, ask for one more delivery of an event.

use super::webhook_dispatch::WebhookDispatch;
use crate::domain::{
    AttemptId, DeliveryAttempt, EventFilter, ParseError, SigningSecret, Webhook, WebhookEvent,
    WebhookEventId, WebhookId, WebhookSecret, WebhookUrl,
};
use crate::ports::{lease_until, WebhookRepoError};
use crate::BoxError;
use tracing::instrument;

#[derive(Debug, thiserror::Error)]
pub enum CreateWebhookError {
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// The URL is well formed but the sender would not deliver to it (a private
    /// address, a name that does not resolve).
    #[error("{0}")]
    Refused(String),
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

/// For the operations on one existing endpoint.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no such webhook")]
    NotFound,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    #[error("no such webhook")]
    NotFound,
    /// No such event, or not one this endpoint receives.
    #[error("no such event for this webhook")]
    UnknownEvent,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

macro_rules! unavailable_from {
    ($($err:ty),*) => {$(
        impl From<WebhookRepoError> for $err {
            fn from(e: WebhookRepoError) -> Self {
                Self::Unavailable(Box::new(e))
            }
        }
    )*};
}
unavailable_from!(CreateWebhookError, WebhookError, RedeliverError);

/// One page of an endpoint's delivery log, newest first.
#[derive(Debug, Clone)]
pub struct AttemptPage {
    pub items: Vec<DeliveryAttempt>,
    pub next: Option<AttemptId>,
}

impl WebhookDispatch {
    #[instrument(skip_all)]
    pub async fn create_webhook(
        &self,
        url: &str,
        events: &[String],
    ) -> Result<(Webhook, WebhookSecret), CreateWebhookError> {
        let url = WebhookUrl::parse(url)?;
        let events = EventFilter::parse(events)?;
        self.sender
            .check(&url)
            .await
            .map_err(CreateWebhookError::Refused)?;
        let secret = self.signer.new_secret();
        let hook = Webhook {
            id: WebhookId::new(),
            url,
            events,
            secrets: vec![SigningSecret {
                secret: secret.clone(),
                retires_at: None,
            }],
            created_at: self.clock.now(),
        };
        self.endpoints.add_webhook(&hook).await?;
        tracing::info!(webhook_id = %hook.id, url = hook.url.as_str(), "webhook added");
        Ok((hook, secret))
    }

    pub async fn webhooks(&self) -> Result<Vec<Webhook>, WebhookError> {
        Ok(self.endpoints.webhooks().await?)
    }

    #[instrument(skip_all, fields(webhook_id = %id))]
    pub async fn remove_webhook(&self, id: WebhookId) -> Result<(), WebhookError> {
        if self.endpoints.remove_webhook(id).await? {
            Ok(())
        } else {
            Err(WebhookError::NotFound)
        }
    }

    /// A new secret; the old ones keep signing for the rotation overlap.
    #[instrument(skip_all, fields(webhook_id = %id))]
    pub async fn rotate_secret(&self, id: WebhookId) -> Result<WebhookSecret, WebhookError> {
        let mut hook = self.webhook(id).await?;
        let now = self.clock.now();
        let secret = self.signer.new_secret();
        hook.rotate(
            secret.clone(),
            now,
            lease_until(now, self.settings.rotation_overlap),
        );
        if !self.endpoints.replace_secrets(&hook).await? {
            return Err(WebhookError::NotFound);
        }
        Ok(secret)
    }

    pub async fn attempts(
        &self,
        id: WebhookId,
        before: Option<AttemptId>,
        limit: usize,
    ) -> Result<AttemptPage, WebhookError> {
        self.webhook(id).await?;
        let mut items = self
            .deliveries
            .attempts(id, before, limit.saturating_add(1))
            .await?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|a| a.id)
        } else {
            None
        };
        Ok(AttemptPage { items, next })
    }

    /// Queues one more delivery of an event the endpoint receives (after a give-up, or
    /// when the receiver lost it), behind what its lane holds.
    #[instrument(skip_all, fields(webhook_id = %id, event_id = raw_event))]
    pub async fn redeliver(&self, id: WebhookId, raw_event: &str) -> Result<(), RedeliverError> {
        let hook = self
            .endpoints
            .webhook(id)
            .await?
            .ok_or(RedeliverError::NotFound)?;
        let event_id = WebhookEventId::parse(raw_event).ok_or(RedeliverError::UnknownEvent)?;
        let order = self
            .orders
            .get(event_id.order)
            .await
            .map_err(|e| RedeliverError::Unavailable(Box::new(e)))?
            .ok_or(RedeliverError::UnknownEvent)?;
        let index = usize::try_from(event_id.index).map_err(|_| RedeliverError::UnknownEvent)?;
        let event = WebhookEvent::of(&order, index).ok_or(RedeliverError::UnknownEvent)?;
        if !hook.wants(&event) {
            return Err(RedeliverError::UnknownEvent);
        }
        self.deliveries
            .enqueue(id, event.id, self.clock.now())
            .await?;
        Ok(())
    }

    async fn webhook(&self, id: WebhookId) -> Result<Webhook, WebhookError> {
        self.endpoints
            .webhook(id)
            .await?
            .ok_or(WebhookError::NotFound)
    }
}
