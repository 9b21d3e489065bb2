//! `orderflow emails retry`: after a mail outage, every owed outcome email due now.
//!
//! With MongoDB the command writes the store itself. The in-memory store lives inside
//! the running process, so there the command asks its admin API.

use crate::admin_client::AdminClient;
use crate::cli::EmailsAction;
use crate::config::{Config, StoreKind};
use anyhow::Context;
use orderflow_adapter_mongo::MongoStore;
use orderflow_core::ports::SystemClock;
use orderflow_core::usecases::OwedEmails;
use reqwest::Method;
use std::sync::Arc;

pub async fn run(c: &Config, action: EmailsAction) -> anyhow::Result<()> {
    let EmailsAction::Retry = action;
    let due_now = match c.adapters.store {
        StoreKind::Mongo => {
            let store = MongoStore::connect(&crate::wiring::mongo_settings(c))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("connecting to mongo.url")?;
            let owed = OwedEmails {
                ledger: Arc::new(store),
                clock: Arc::new(SystemClock),
            };
            owed.retry_now().await?.to_string()
        }
        StoreKind::Memory => {
            let admin = AdminClient::login(c, "the in-memory store").await?;
            let r = admin.call(Method::POST, "/api/admin/emails/retry").await?;
            r["due_now"].to_string()
        }
    };
    println!("due now {due_now}");
    Ok(())
}
