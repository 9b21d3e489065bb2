use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use orderflow_core::ports::{MailError, OutgoingEmail};

/// The email as one RFC 5322 message: text and HTML alternatives, the Message-ID
/// derived from its reference (the same for every retry of one email). Header values
/// are encoded by lettre (RFC 2047 for non-ASCII), never written by hand.
pub fn rfc5322(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, MailError> {
    let to = email
        .to
        .as_str()
        .parse::<Mailbox>()
        .map_err(|e| MailError::Rejected(e.to_string()))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&email.subject)
        .message_id(Some(format!("<{}@orderflow>", email.reference)))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(email.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(email.html.clone()),
                ),
        )
        .map_err(|e| MailError::Rejected(e.to_string()))
}
