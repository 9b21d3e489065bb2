//! The mailer contract against the SMTP sink (`ORDERFLOW_TEST_SMTP_ADDR`, reading its
//! maildir at `ORDERFLOW_TEST_SMTP_MAILDIR`) and against the file mailer.

use orderflow_adapter_smtp::FileMailer;
use orderflow_adapter_smtp::{SmtpMailer, SmtpSettings, Tls};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A plain-SMTP mailer to `addr` (`host:port`).
fn smtp_to(addr: &str, timeout: Duration) -> SmtpMailer {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    SmtpMailer::new(SmtpSettings {
        host: host.into(),
        port: port.parse().expect("port"),
        tls: Tls::None,
        credentials: None,
        from: "Orderflow <orders@orderflow.test>".into(),
        timeout,
    })
    .expect("smtp settings")
}

fn read_dir(dir: PathBuf) -> impl Fn() -> std::future::Ready<Vec<String>> {
    move || {
        let texts = std::fs::read_dir(&dir)
            .map(|it| {
                it.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        std::future::ready(texts)
    }
}

#[tokio::test]
async fn smtp_mail_reaches_the_sink() {
    let Some(sink) = orderflow_testkit::services::smtp().await else {
        return;
    };
    let mailer = smtp_to(&sink.addr, Duration::from_secs(10));
    orderflow_testkit::contracts::mailer::delivers_to_the_mailbox(Arc::new(mailer), || {
        sink.messages()
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_a_retryable_failure() {
    let mailer = smtp_to("127.0.0.1:1", Duration::from_secs(2));
    let email = orderflow_testkit::contracts::mailer::any_email();
    let err = orderflow_core::ports::Mailer::send(&mailer, &email)
        .await
        .unwrap_err();
    assert!(
        matches!(err, orderflow_core::ports::MailError::Unavailable(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn file_mail_reaches_the_folder() {
    let dir = std::env::temp_dir().join(format!("orderflow-contract-{}", uuid::Uuid::new_v4()));
    let mailer = FileMailer::new(&dir, "Orderflow <orders@orderflow.test>").unwrap();
    orderflow_testkit::contracts::mailer::delivers_to_the_mailbox(
        Arc::new(mailer),
        read_dir(dir.clone()),
    )
    .await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn mailer_health_is_a_round_trip_to_the_provider() {
    use orderflow_core::ports::Health;
    let dir = std::env::temp_dir().join(format!("orderflow-health-{}", uuid::Uuid::new_v4()));
    let file = FileMailer::new(&dir, "o@orderflow.test").unwrap();
    file.health().await.expect("a writable folder is healthy");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "the probe leaves nothing behind"
    );
    // A folder that cannot be made: its parent is a file.
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let blocked = FileMailer::new(blocker.join("mail"), "o@orderflow.test").unwrap();
    assert!(blocked.health().await.is_err());
    std::fs::remove_dir_all(dir).unwrap();

    let closed = smtp_to("127.0.0.1:1", Duration::from_secs(2));
    assert!(closed.health().await.is_err(), "nothing listens on port 1");
    let Some(sink) = orderflow_testkit::services::smtp().await else {
        return;
    };
    let open = smtp_to(&sink.addr, Duration::from_secs(10));
    open.health().await.expect("the sink answers");
}
