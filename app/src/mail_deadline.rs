//! One deadline for every send, whatever the mailer: SMTP's timeout bounds each read
//! and write, not a server that answers a byte at a time, and the file and log
//! mailers have none. A send past the deadline is `Unavailable` (the email stays
//! owed), and `worker.notify_lease_ms` is checked to outlast it. Every send passes
//! here, so each is counted here by its outcome (`orderflow_mail_sends_total`).

use crate::metrics::Metrics;
use orderflow_core::ports::{Health, MailError, Mailer, OutgoingEmail};
use orderflow_core::BoxError;
use std::sync::Arc;
use std::time::Duration;

pub struct Deadlined {
    inner: Arc<dyn Mailer>,
    limit: Duration,
    metrics: Arc<Metrics>,
}

impl Deadlined {
    pub fn new(inner: Arc<dyn Mailer>, limit: Duration, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            limit,
            metrics,
        }
    }
}

#[async_trait::async_trait]
impl Health for Deadlined {
    async fn health(&self) -> Result<(), BoxError> {
        match tokio::time::timeout(self.limit, self.inner.health()).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "the mailer did not answer within mail.send_timeout_ms ({} ms)",
                self.limit.as_millis()
            )
            .into()),
        }
    }
}

#[async_trait::async_trait]
impl Mailer for Deadlined {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let sent = match tokio::time::timeout(self.limit, self.inner.send(email)).await {
            Ok(sent) => sent,
            Err(_) => Err(MailError::Unavailable(
                format!(
                    "the mailer did not finish within mail.send_timeout_ms ({} ms)",
                    self.limit.as_millis()
                )
                .into(),
            )),
        };
        self.metrics.count_mail(&sent);
        sent
    }
}
