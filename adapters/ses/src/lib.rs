//! `Mailer` on Amazon SES (v2 API): text and HTML bodies, configured sender and
//! optional configuration set. Permanent refusals (message rejected, unverified
//! sender, bad request) are `Rejected`; everything else is worth a retry.

use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;
use orderflow_core::ports::{Health, MailError, Mailer, OutgoingEmail};
use orderflow_core::BoxError;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SesSettings {
    pub from: String,
    pub configuration_set: Option<String>,
    /// Bound on every call, retries included: a hung endpoint fails within it.
    pub timeout: Duration,
}

pub struct SesMailer {
    client: Client,
    settings: SesSettings,
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

/// The address part of `Name <addr>`.
fn address(from: &str) -> &str {
    match (from.find('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => &from[a + 1..b],
        _ => from.trim(),
    }
}

impl SesMailer {
    pub fn new(sdk: &aws_config::SdkConfig, settings: SesSettings) -> Self {
        let config = aws_sdk_sesv2::config::Builder::from(sdk)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3).min(settings.timeout))
                    .operation_attempt_timeout(settings.timeout)
                    .operation_timeout(settings.timeout)
                    .build(),
            )
            .build();
        Self {
            client: Client::from_conf(config),
            settings,
        }
    }

    /// Registers the sender identity: emulators need it before they accept a send.
    /// Real SES needs a verified identity made outside this service.
    pub async fn create_identity(&self) -> Result<(), BoxError> {
        let created = self
            .client
            .create_email_identity()
            .email_identity(address(&self.settings.from))
            .send()
            .await;
        ok_or_benign(created, |e| e.is_already_exists_exception())
    }
}

/// `GetEmailIdentity` of the sender: any answer from SES, "not found" included, is a
/// round trip; the deploy's IAM policy grants `ses:GetEmailIdentity` for it.
#[async_trait::async_trait]
impl Health for SesMailer {
    async fn health(&self) -> Result<(), BoxError> {
        let read = self
            .client
            .get_email_identity()
            .email_identity(address(&self.settings.from))
            .send()
            .await;
        ok_or_benign(read, |e| e.is_not_found_exception())
    }
}

/// Success, or the service error `benign` accepts (an answer that still does what the
/// call was for); any other error is returned.
fn ok_or_benign<O, E, R>(
    result: Result<O, aws_sdk_sesv2::error::SdkError<E, R>>,
    benign: fn(&E) -> bool,
) -> Result<(), BoxError>
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(benign) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[async_trait::async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .text(content(&email.text)?)
                    .html(content(&email.html)?)
                    .build(),
            )
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&self.settings.from)
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.settings.configuration_set.clone())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    SendEmailError::MessageRejected(_)
                        | SendEmailError::MailFromDomainNotVerifiedException(_)
                        | SendEmailError::BadRequestException(_)
                ) =>
            {
                Err(MailError::Rejected(e.err().to_string()))
            }
            Err(e) => Err(MailError::Unavailable(Box::new(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn address_of_a_display_name() {
        assert_eq!(super::address("Orderflow <o@x.io>"), "o@x.io");
        assert_eq!(super::address(" o@x.io "), "o@x.io");
    }
}
