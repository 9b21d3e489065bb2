//! `orderflow dlq list|redrive`: dead letters from the command line.
//!
//! With SQS the command talks to the queues itself. The in-memory queue lives inside
//! the running process, so there the command asks that process's admin API (at
//! `http.bind`, logging in as the configured bootstrap admin).

use crate::admin_client::AdminClient;
use crate::cli::DlqAction;
use crate::config::{Config, QueueKind};
use anyhow::Context;
use orderflow_adapter_sqs::SqsQueue;
use orderflow_core::usecases::DeadLetters;
use reqwest::Method;
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
                DlqAction::Drop { message_id } => {
                    dl.drop_one(&message_id).await?;
                    println!("dropped {message_id}");
                }
            }
            Ok(())
        }
        QueueKind::Memory => via_api(c, action).await,
    }
}

async fn via_api(c: &Config, action: DlqAction) -> anyhow::Result<()> {
    let admin = AdminClient::login(c, "the in-memory queue").await?;
    match action {
        DlqAction::List { limit } => {
            let page = admin
                .call(
                    Method::GET,
                    &format!("/api/admin/dead-letters?limit={limit}"),
                )
                .await?;
            for d in page["items"].as_array().into_iter().flatten() {
                println!("{d}");
            }
        }
        DlqAction::Redrive { limit } => {
            let r = admin
                .call(
                    Method::POST,
                    &format!("/api/admin/dead-letters/redrive?limit={limit}"),
                )
                .await?;
            println!("redriven {}", r["redriven"]);
        }
        DlqAction::Drop { message_id } => {
            let segment = crate::admin_client::percent_encode(&message_id);
            admin
                .call(
                    Method::DELETE,
                    &format!("/api/admin/dead-letters/{segment}"),
                )
                .await?;
            println!("dropped {message_id}");
        }
    }
    Ok(())
}
