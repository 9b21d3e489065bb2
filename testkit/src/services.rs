//! Where the service-backed tests find their services, in this order:
//! 1. environment variables, as `scripts/services env` prints them (this machine, CI);
//! 2. with the `docker` feature and a Docker engine that answers (podman's API too),
//!    containers started by testcontainers, one per service per test binary and
//!    removed when it exits (see `crate::containers` for the images);
//! 3. otherwise the test is skipped with one line, except under `CI=true`, where a
//!    missing service fails the test.

use std::path::PathBuf;

/// An SMTP server and a way to read back what it received.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    pub addr: String,
    pub mailbox: Mailbox,
}

#[derive(Debug, Clone)]
pub enum Mailbox {
    /// aiosmtpd's maildir: one file per message in `new/`.
    Maildir(PathBuf),
    /// Mailpit's HTTP API base URL.
    Mailpit(String),
}

impl SmtpSink {
    /// Every message received so far, raw (maildir) or as JSON (Mailpit).
    pub async fn messages(&self) -> Vec<String> {
        match &self.mailbox {
            Mailbox::Maildir(dir) => std::fs::read_dir(dir.join("new"))
                .map(|it| {
                    it.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                        .collect()
                })
                .unwrap_or_default(),
            Mailbox::Mailpit(api) => {
                let Ok(res) = reqwest::get(format!("{api}/api/v1/messages?limit=500")).await else {
                    return vec![];
                };
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                body["messages"]
                    .as_array()
                    .map(|m| m.iter().map(|x| x.to_string()).collect())
                    .unwrap_or_default()
            }
        }
    }
}

pub async fn mongo_url() -> Option<String> {
    found("ORDERFLOW_TEST_MONGO_URL", Kind::Mongo).await
}

pub async fn redis_url() -> Option<String> {
    found("ORDERFLOW_TEST_REDIS_URL", Kind::Redis).await
}

/// SQS (moto, LocalStack).
pub async fn aws_endpoint() -> Option<String> {
    found("ORDERFLOW_TEST_AWS_ENDPOINT", Kind::Sqs).await
}

/// SES v2, which LocalStack's free emulator does not implement: the same endpoint as
/// SQS when that is moto (`scripts/services`), moto of its own with containers.
pub async fn ses_endpoint() -> Option<String> {
    if let Some(v) = env("ORDERFLOW_TEST_SES_ENDPOINT") {
        return Some(v);
    }
    found("ORDERFLOW_TEST_AWS_ENDPOINT", Kind::Ses).await
}

/// LocalStack itself (`scripts/services` runs it beside moto), for the queue contract
/// on LocalStack. Skipped like every service when it is not there.
pub async fn localstack_endpoint() -> Option<String> {
    if let Some(v) = env("ORDERFLOW_TEST_LOCALSTACK_ENDPOINT") {
        return Some(v);
    }
    missing("ORDERFLOW_TEST_LOCALSTACK_ENDPOINT")
}

pub async fn smtp() -> Option<SmtpSink> {
    if let (Some(addr), Some(dir)) = (
        env("ORDERFLOW_TEST_SMTP_ADDR"),
        env("ORDERFLOW_TEST_SMTP_MAILDIR"),
    ) {
        return Some(SmtpSink {
            addr,
            mailbox: Mailbox::Maildir(dir.into()),
        });
    }
    #[cfg(feature = "docker")]
    if crate::containers::available() {
        return Some(crate::containers::smtp().await);
    }
    missing("ORDERFLOW_TEST_SMTP_ADDR and ORDERFLOW_TEST_SMTP_MAILDIR")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "docker"), allow(dead_code))]
pub(crate) enum Kind {
    Mongo,
    Redis,
    Sqs,
    Ses,
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

async fn found(var: &str, _kind: Kind) -> Option<String> {
    if let Some(v) = env(var) {
        return Some(v);
    }
    #[cfg(feature = "docker")]
    if crate::containers::available() {
        return Some(crate::containers::start(_kind).await);
    }
    missing(var)
}

fn missing<T>(what: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} not set and CI=true: start the services (scripts/services start) and export `scripts/services env`");
    }
    eprintln!("skipped: {what} not set (run `scripts/services start` and `eval \"$(scripts/services env)\"`)");
    None
}

/// A name no other test uses: databases, queues and key prefixes per test, so tests
/// run in parallel against one server.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}
