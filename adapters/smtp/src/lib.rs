//! Mailers that speak RFC 5322, both built by lettre's message builder (so non-ASCII
//! headers are RFC 2047 encoded and bodies get a safe transfer encoding):
//! - [`SmtpMailer`] over SMTP with lettre on tokio and rustls: Mailpit, aiosmtpd, or any
//!   relay. TLS mode, credentials and a per-send timeout from config. Permanent (5xx)
//!   refusals are `Rejected`; connection trouble and 4xx are worth a retry.
//! - [`FileMailer`]: one `.eml` file per email, the embedded profile's mailbox.

mod file;
mod message;

pub use file::FileMailer;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use orderflow_core::ports::{Health, MailError, Mailer, OutgoingEmail};
use orderflow_core::BoxError;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain text: local sinks only.
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub credentials: Option<(String, String)>,
    pub from: String,
    pub timeout: Duration,
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(s: SmtpSettings) -> Result<Self, String> {
        let builder = match s.tls {
            Tls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            Tls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| e.to_string())?,
            Tls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| e.to_string())?
            }
        };
        let mut builder = builder.port(s.port).timeout(Some(s.timeout));
        if let Some((user, pass)) = s.credentials {
            builder = builder.credentials(Credentials::new(user, pass));
        }
        let from = s
            .from
            .parse::<Mailbox>()
            .map_err(|e| format!("smtp.from: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

/// A connection, the server's greeting and `EHLO` (with TLS and login when
/// configured), then `QUIT`: what a send does before the message.
#[async_trait::async_trait]
impl Health for SmtpMailer {
    async fn health(&self) -> Result<(), BoxError> {
        if self.transport.test_connection().await? {
            Ok(())
        } else {
            Err("the SMTP server did not accept a connection".into())
        }
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = message::rfc5322(&self.from, email)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Rejected(e.to_string())),
            Err(e) => Err(MailError::Unavailable(Box::new(e))),
        }
    }
}
