//! `orderflow dlq list|redrive`: dead letters from the command line.
//!
//! With SQS the command talks to the queues itself. The in-memory queue lives inside
//! the running process, so there the command asks that process's admin API (at
//! `http.bind`, logging in as the configured bootstrap admin).

use crate::cli::DlqAction;
use crate::config::{Config, QueueKind};
use anyhow::{bail, Context};
use orderflow_adapter_sqs::SqsQueue;
use orderflow_core::usecases::DeadLetters;
use std::sync::Arc;

pub async fn run(c: &Config, action: DlqAction) -> anyhow::Result<()> {
    match c.adapters.queue {
        QueueKind::Sqs => {
            let sdk = crate::aws::sdk_config(&c.aws).await;
            let queue = SqsQueue::connect(&sdk, crate::wiring::sqs_settings(c))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("resolving sqs.queue_name and sqs.dlq_name")?;
            let dl = DeadLetters {
                queue: Arc::new(queue),
            };
            match action {
                DlqAction::List { limit } => {
                    for d in dl.list(limit).await? {
                        println!(
                            "{}",
                            serde_json::json!({"message_id": d.message_id, "receive_count": d.receive_count, "body": d.body})
                        );
                    }
                }
                DlqAction::Redrive { limit } => println!("redriven {}", dl.redrive(limit).await?),
            }
            Ok(())
        }
        QueueKind::Memory => via_api(c, action).await,
    }
}

async fn via_api(c: &Config, action: DlqAction) -> anyhow::Result<()> {
    let (Some(email), Some(password)) = (&c.bootstrap.admin_email, &c.bootstrap.admin_password)
    else {
        bail!("the in-memory queue is only reachable through the running process's admin API, and no bootstrap admin is configured");
    };
    let addr = crate::healthcheck::local_address(c.http.bind);
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let login = http
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password.expose()}))
        .send()
        .await
        .with_context(|| {
            format!(
                "no orderflow process answers at {base} (the in-memory dead letters live there)"
            )
        })?;
    if !login.status().is_success() {
        bail!("logging in as {email} at {base} failed: {}", login.status());
    }
    let token = login.json::<serde_json::Value>().await?["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match action {
        DlqAction::List { limit } => {
            let page: serde_json::Value = http
                .get(format!("{base}/api/admin/dead-letters?limit={limit}"))
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            for d in page["items"].as_array().into_iter().flatten() {
                println!("{d}");
            }
        }
        DlqAction::Redrive { limit } => {
            let r: serde_json::Value = http
                .post(format!(
                    "{base}/api/admin/dead-letters/redrive?limit={limit}"
                ))
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            println!("redriven {}", r["redriven"]);
        }
    }
    Ok(())
}
