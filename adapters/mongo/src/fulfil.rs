//! What a settlement writes on its order, and the pause between tries of a batch
//! whose stock moved under it (`fulfil_many.rs`).

use crate::docs::{bdate, HistoryDoc};
use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Document};
use mongodb::error::Error;
use orderflow_core::domain::{Order, Settlement};
use orderflow_core::retry::Backoff;
use std::time::Duration;

/// The write that records a settlement on its (still pending) order: its status change,
/// the outcome email owed (and claimed for the settling worker until `claim`, when
/// given), the change owed to the webhook endpoints (`hooks_owed_final` marks an order
/// that owes its last change, which is what the fan-out forgets with no endpoint).
pub(crate) fn settled(
    order: &Order,
    settlement: &Settlement,
    claim: Option<DateTime<Utc>>,
) -> Result<Document, Error> {
    let entry = mongodb::bson::to_document(&HistoryDoc::from(settlement.change()))
        .map_err(|e| Error::custom(e.to_string()))?;
    let mut set = doc! {
        "status": order.status.as_str(),
        "updated_at": bdate(order.updated_at),
        "notify_due_at": bdate(settlement.email_due_at()),
        "hooks_owed": true,
        "hooks_owed_final": true,
    };
    if let Some(until) = claim {
        set.insert("notify_claimed_until", bdate(until));
    }
    Ok(doc! {"$set": set, "$push": {"history": entry}})
}

/// Pauses after the n-th try in a row whose stock moved between its read and its take:
/// random and growing, so settlements racing for the last units of a product spread
/// out instead of colliding again in lock-step.
const CONFLICT: Backoff = Backoff::new(Duration::from_millis(4), Duration::from_millis(250));

pub(crate) async fn back_off(conflicts: u32) {
    tokio::time::sleep(CONFLICT.after(conflicts)).await;
}
