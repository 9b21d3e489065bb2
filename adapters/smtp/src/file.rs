use crate::message::rfc5322;
use lettre::message::Mailbox;
use orderflow_core::ports::{Health, MailError, Mailer, OutgoingEmail};
use orderflow_core::BoxError;
use std::path::PathBuf;

/// Writes each email as an RFC 5322 `.eml` file (open it with any mail client) and
/// logs where it went: the embedded profile's mailbox.
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, String> {
        Ok(Self {
            dir: dir.into(),
            from: from.parse().map_err(|e| format!("mail.from: {e}"))?,
        })
    }
}

/// The folder can take a file: one is written and removed (a read-only or full disk
/// fails here, as a send would).
#[async_trait::async_trait]
impl Health for FileMailer {
    async fn health(&self) -> Result<(), BoxError> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let probe = self
            .dir
            .join(format!(".health-{}-{stamp}.tmp", std::process::id()));
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let now = chrono::Utc::now();
        let unavailable = |e: std::io::Error| MailError::Unavailable(Box::new(e));
        let message = rfc5322(&self.from, email)?;
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
        tokio::fs::write(&tmp, message.formatted())
            .await
            .map_err(unavailable)?;
        tokio::fs::rename(&tmp, &path).await.map_err(unavailable)?;
        tracing::info!(to = %email.to, subject = %email.subject, path = %path.display(), "email written");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderflow_core::domain::Email;

    #[tokio::test]
    async fn writes_a_readable_eml_with_every_header_encoded() {
        let dir = std::env::temp_dir().join(format!("orderflow-mail-{}", uuid::Uuid::new_v4()));
        let mailer =
            FileMailer::new(&dir, "\u{d8}rderflow Caf\u{e9} <orders@example.com>").unwrap();
        let email = OutgoingEmail {
            to: Email::parse("ada@example.com").unwrap(),
            subject: "Votre commande est confirm\u{e9}e".into(),
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
        let raw = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&raw);
        let head = text.split("\r\n\r\n").next().unwrap();
        assert!(head.is_ascii(), "every header is ASCII (RFC 2047):\n{head}");
        for needle in [
            "To: ada@example.com",
            "From: =?utf-8?",
            "Subject: Votre commande est =?utf-8?",
            "Message-ID: <order-1-completed@orderflow>",
            "Date: ",
            "Content-Type: multipart/alternative",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        let parsed = mailparse(&raw);
        assert!(parsed.contains("Total: 1.00 USD"), "{parsed}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The bodies as a reader sees them (lettre may choose quoted-printable).
    fn mailparse(raw: &[u8]) -> String {
        String::from_utf8_lossy(raw).replace("=\r\n", "")
    }
}
