//! Where the service-backed tests find their services, in this order:
//! 1. environment variables, as `scripts/services env` prints them (this machine, CI);
//! 2. with the `docker` feature and a Docker engine that answers, real images started
//!    by testcontainers (mongo as a replica set, redis, LocalStack, Mailpit), one
//!    container per service per test binary;
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

pub async fn aws_endpoint() -> Option<String> {
    found("ORDERFLOW_TEST_AWS_ENDPOINT", Kind::Aws).await
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
    if docker::available() {
        let (addr, api) = docker::mailpit().await;
        return Some(SmtpSink {
            addr,
            mailbox: Mailbox::Mailpit(api),
        });
    }
    missing("ORDERFLOW_TEST_SMTP_ADDR and ORDERFLOW_TEST_SMTP_MAILDIR")
}

#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "docker"), allow(dead_code))]
enum Kind {
    Mongo,
    Redis,
    Aws,
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

async fn found(var: &str, _kind: Kind) -> Option<String> {
    if let Some(v) = env(var) {
        return Some(v);
    }
    #[cfg(feature = "docker")]
    if docker::available() {
        return Some(docker::start(_kind).await);
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

#[cfg(feature = "docker")]
mod docker {
    use super::Kind;
    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{ContainerAsync, GenericImage, ImageExt};
    use testcontainers_modules::{localstack::LocalStack, mongo::Mongo, redis::Redis};
    use tokio::sync::OnceCell;

    pub fn available() -> bool {
        std::process::Command::new("docker")
            .arg("info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    // Containers live as long as the test binary; the reaper removes them after.
    static MONGO: OnceCell<(ContainerAsync<Mongo>, String)> = OnceCell::const_new();
    static REDIS: OnceCell<(ContainerAsync<Redis>, String)> = OnceCell::const_new();
    static AWS: OnceCell<(ContainerAsync<LocalStack>, String)> = OnceCell::const_new();
    static MAILPIT: OnceCell<(ContainerAsync<GenericImage>, String, String)> =
        OnceCell::const_new();

    pub async fn start(kind: Kind) -> String {
        match kind {
            Kind::Mongo => MONGO
                .get_or_init(|| async {
                    let c = Mongo::repl_set().start().await.expect("start mongo");
                    let port = c.get_host_port_ipv4(27017).await.expect("mongo port");
                    (
                        c,
                        format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
                    )
                })
                .await
                .1
                .clone(),
            Kind::Redis => REDIS
                .get_or_init(|| async {
                    let c = Redis::default().start().await.expect("start redis");
                    let port = c.get_host_port_ipv4(6379).await.expect("redis port");
                    (c, format!("redis://127.0.0.1:{port}"))
                })
                .await
                .1
                .clone(),
            Kind::Aws => AWS
                .get_or_init(|| async {
                    let c = LocalStack::default()
                        .with_env_var("SERVICES", "sqs,ses")
                        .start()
                        .await
                        .expect("start localstack");
                    let port = c.get_host_port_ipv4(4566).await.expect("localstack port");
                    (c, format!("http://127.0.0.1:{port}"))
                })
                .await
                .1
                .clone(),
        }
    }

    pub async fn mailpit() -> (String, String) {
        let (_, smtp, api) = MAILPIT
            .get_or_init(|| async {
                let c = GenericImage::new("axllent/mailpit", "latest")
                    .with_exposed_port(1025.tcp())
                    .with_exposed_port(8025.tcp())
                    .with_wait_for(WaitFor::message_on_stdout("accessible via"))
                    .start()
                    .await
                    .expect("start mailpit");
                let smtp = c.get_host_port_ipv4(1025).await.expect("smtp port");
                let api = c.get_host_port_ipv4(8025).await.expect("api port");
                (
                    c,
                    format!("127.0.0.1:{smtp}"),
                    format!("http://127.0.0.1:{api}"),
                )
            })
            .await;
        (smtp.clone(), api.clone())
    }
}
