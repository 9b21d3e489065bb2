//! `Mailer` contract: a sent email really arrives where the provider keeps it. The
//! caller supplies `read`, which returns every message the provider received, raw.

use orderflow_core::domain::Email;
use orderflow_core::ports::{Mailer, OutgoingEmail};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub async fn delivers_to_the_mailbox<F, Fut>(mailer: Arc<dyn Mailer>, read: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let email = OutgoingEmail {
        to: Email::parse(&format!("contract-{tag}@example.com")).unwrap(),
        subject: format!("Contract {tag}"),
        text: format!("text-{tag}\nTotal: 1.00 USD"),
        html: format!("<p>html-{tag}</p>"),
        reference: format!("contract-{tag}"),
    };
    mailer
        .send(&email)
        .await
        .expect("the provider accepts the message");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(m) = read()
            .await
            .into_iter()
            .find(|m| m.contains(&email.subject))
        {
            assert!(m.contains(email.to.as_str()), "recipient missing in {m}");
            assert!(
                m.contains(&format!("html-{tag}")) || m.contains(&format!("text-{tag}")),
                "body missing in {m}"
            );
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the email never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A minimal email for tests that only care whether a send goes through.
pub fn any_email() -> orderflow_core::ports::OutgoingEmail {
    orderflow_core::ports::OutgoingEmail {
        to: orderflow_core::domain::Email::parse("x@example.com").expect("a valid address"),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
        reference: "r".into(),
    }
}
