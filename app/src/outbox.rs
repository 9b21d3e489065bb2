//! `orderflow outbox list|retry`: orders the relay set aside because the queue kept
//! refusing their message.
//!
//! With MongoDB the command reads and writes the store itself. The in-memory store
//! lives inside the running process, so there the command asks its admin API.

use crate::admin_client::AdminClient;
use crate::cli::OutboxAction;
use crate::config::{Config, StoreKind};
use crate::http::admin::SetAsideView;
use anyhow::{bail, Context};
use orderflow_adapter_mongo::MongoStore;
use orderflow_core::domain::OrderId;
use orderflow_core::ports::Outbox;
use reqwest::Method;

pub async fn run(c: &Config, action: OutboxAction) -> anyhow::Result<()> {
    match c.adapters.store {
        StoreKind::Mongo => {
            let store = MongoStore::connect(&crate::wiring::mongo_settings(c))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("connecting to mongo.url")?;
            match action {
                OutboxAction::List { limit } => {
                    for o in store.set_aside(limit.clamp(1, 100)).await? {
                        println!("{}", serde_json::to_string(&SetAsideView::from(&o))?);
                    }
                }
                OutboxAction::Retry { order_id } => {
                    if !store.retry_set_aside(OrderId(order_id)).await? {
                        bail!("order {order_id} is not set aside");
                    }
                    println!("retrying {order_id}");
                }
            }
            Ok(())
        }
        StoreKind::Memory => {
            let admin = AdminClient::login(c, "the in-memory store").await?;
            match action {
                OutboxAction::List { limit } => {
                    let page = admin
                        .call(
                            Method::GET,
                            &format!("/api/admin/outbox/set-aside?limit={limit}"),
                        )
                        .await?;
                    for o in page["items"].as_array().into_iter().flatten() {
                        println!("{o}");
                    }
                }
                OutboxAction::Retry { order_id } => {
                    admin
                        .call(
                            Method::POST,
                            &format!("/api/admin/outbox/set-aside/{order_id}/retry"),
                        )
                        .await?;
                    println!("retrying {order_id}");
                }
            }
            Ok(())
        }
    }
}
