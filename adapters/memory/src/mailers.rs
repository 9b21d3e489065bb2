use orderflow_core::ports::{MailError, Mailer, OutgoingEmail};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Writes each email as an RFC 5322 `.eml` file (open it with any mail client) and
/// logs where it went: the embedded profile's mailbox.
pub struct FileMailer {
    dir: PathBuf,
    from: String,
}

impl FileMailer {
    pub fn new(dir: impl Into<PathBuf>, from: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            from: from.into(),
        }
    }

    /// The whole message as text: a multipart/alternative with text and HTML parts.
    pub fn render(&self, email: &OutgoingEmail, now: chrono::DateTime<chrono::Utc>) -> String {
        let boundary = format!("orderflow-{}", uuid::Uuid::new_v4().simple());
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{reference}@orderflow.local>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n\
--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n\
--{boundary}--\r\n",
            from = self.from,
            to = email.to,
            subject = email.subject,
            date = now.to_rfc2822(),
            reference = email.reference,
            text = email.text.replace('\n', "\r\n"),
            html = email.html,
        )
    }
}

#[async_trait::async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let now = chrono::Utc::now();
        let unavailable = |e: std::io::Error| MailError::Unavailable(Box::new(e));
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(unavailable)?;
        let name = format!(
            "{}-{}.eml",
            now.format("%Y%m%dT%H%M%S%.3f"),
            email.reference
        );
        let path = self.dir.join(name);
        // Written under a temporary name and renamed, so a reader never sees half a file.
        let tmp = path.with_extension("eml.tmp");
        tokio::fs::write(&tmp, self.render(email, now))
            .await
            .map_err(unavailable)?;
        tokio::fs::rename(&tmp, &path).await.map_err(unavailable)?;
        tracing::info!(to = %email.to, subject = %email.subject, path = %path.display(), "email written");
        Ok(())
    }
}

/// `mailer = "log"`: the email goes to the log only.
#[derive(Debug, Default)]
pub struct LogMailer;

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

#[cfg(test)]
mod tests {
    use super::*;
    use orderflow_core::domain::Email;

    #[tokio::test]
    async fn file_mailer_writes_a_readable_eml() {
        let dir = std::env::temp_dir().join(format!("orderflow-mail-{}", uuid::Uuid::new_v4()));
        let mailer = FileMailer::new(&dir, "Orderflow <orders@example.com>");
        let email = OutgoingEmail {
            to: Email::parse("ada@example.com").unwrap(),
            subject: "Your order 1 is confirmed".into(),
            text: "Line one\nTotal: 1.00 USD".into(),
            html: "<p>Total: 1.00 USD</p>".into(),
            reference: "order-1-completed".into(),
        };
        mailer.send(&email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "one file, no temporary left behind");
        let path = &files[0];
        assert!(path.to_string_lossy().ends_with("order-1-completed.eml"));
        let text = std::fs::read_to_string(path).unwrap();
        for needle in [
            "To: ada@example.com",
            "From: Orderflow <orders@example.com>",
            "Subject: Your order 1 is confirmed",
            "Content-Type: multipart/alternative",
            "Total: 1.00 USD",
            "<p>Total: 1.00 USD</p>",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
