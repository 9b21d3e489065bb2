use crate::domain::Email;
use crate::BoxError;

/// An email ready to go: text and HTML bodies of the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// A stable name for this email (e.g. `order-<id>-completed`), for files and logs.
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider refused this message for good (bad address, suppressed recipient).
    #[error("mail rejected: {0}")]
    Rejected(String),
    /// Could not hand the message over now; try again later.
    #[error("mail provider unavailable")]
    Unavailable(#[source] BoxError),
}

/// Sends email.
///
/// MUST:
/// - return `Ok` only once the provider has accepted the message;
/// - return `Rejected` for a permanent refusal and `Unavailable` for anything worth a retry;
/// - answer `health` from a round trip to the provider (an SMTP greeting, an API call,
///   a write to the mail folder), so readiness shows a mail outage before an email fails.
#[async_trait::async_trait]
pub trait Mailer: super::Health {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}
