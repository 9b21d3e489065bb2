//! Sending without waiting: `send` hands the email to a task and answers at once. A
//! password-reset request then takes the same time whether or not an account has the
//! address (nobody can time the answer to learn which have), and a slow mail server
//! never holds a request. A failed send is logged and not retried: the customer asks
//! for another link.

use orderflow_core::ports::{Health, MailError, Mailer, OutgoingEmail};
use orderflow_core::BoxError;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub struct InBackground {
    /// Bounded by its own deadline (`mail_deadline::Deadlined`), so tasks end.
    inner: Arc<dyn Mailer>,
    /// Sends in flight at most; beyond, an email is dropped rather than piling up
    /// tasks while the mail server is away.
    slots: Arc<Semaphore>,
}

impl InBackground {
    pub fn new(inner: Arc<dyn Mailer>, max_in_flight: usize) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }
}

#[async_trait::async_trait]
impl Health for InBackground {
    async fn health(&self) -> Result<(), BoxError> {
        self.inner.health().await
    }
}

#[async_trait::async_trait]
impl Mailer for InBackground {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            tracing::warn!(reference = %email.reference, "too many emails in flight; this one is dropped");
            return Ok(());
        };
        let (inner, email) = (self.inner.clone(), email.clone());
        tokio::spawn(async move {
            if let Err(e) = inner.send(&email).await {
                tracing::warn!(reference = %email.reference, error = %e, "background email not sent");
            }
            drop(slot);
        });
        Ok(())
    }
}
