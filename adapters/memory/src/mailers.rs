use orderflow_core::ports::{Health, MailError, Mailer, OutgoingEmail};
use orderflow_core::BoxError;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `mailer = "log"`: the email goes to the log only.
#[derive(Debug, Default)]
pub struct LogMailer;

#[async_trait::async_trait]
impl Health for LogMailer {
    async fn health(&self) -> Result<(), BoxError> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        tracing::info!(to = %email.to, subject = %email.subject, body = %email.text, "email (log mailer)");
        Ok(())
    }
}

/// Keeps every email in memory for tests to read; can be switched to fail.
#[derive(Clone, Default)]
pub struct RecordingMailer {
    sent: Arc<Mutex<Vec<OutgoingEmail>>>,
    failing: Arc<AtomicBool>,
}

impl RecordingMailer {
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        self.sent.lock().clone()
    }

    /// While failing, every send returns `Unavailable` and records nothing.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Health for RecordingMailer {
    async fn health(&self) -> Result<(), BoxError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err("recording mailer switched to failing".into());
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(MailError::Unavailable(
                "recording mailer switched to failing".into(),
            ));
        }
        self.sent.lock().push(email.clone());
        Ok(())
    }
}
