//! Sends outcome emails that are owed and due: those whose first send failed (a mail
//! outage of any length) and those whose worker died between settling and sending.
//! Runs in every worker process; the claim in the store lets one send each email.

use crate::metrics::Metrics;
use orderflow_core::usecases::{DueSent, OrderProcessor};
use orderflow_core::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub async fn run_notifier(
    processor: Arc<OrderProcessor>,
    metrics: Arc<Metrics>,
    every: Duration,
    batch: usize,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                if let Err(e) = scan_once(&processor, &metrics, batch).await {
                    tracing::warn!(error = %e, source = ?e, "could not send due emails; will retry");
                }
            }
        }
    }
}

/// One look: sends what is due (up to `batch`), then refreshes the gauges.
pub async fn scan_once(
    processor: &OrderProcessor,
    metrics: &Metrics,
    batch: usize,
) -> Result<DueSent, BoxError> {
    let done = processor.send_due(batch).await;
    if let Ok(d) = &done {
        metrics.notifications_sent.inc_by(d.sent as u64);
        metrics.notifications_deferred.inc_by(d.deferred as u64);
        metrics.notifications_abandoned.inc_by(d.abandoned as u64);
    }
    match processor.owed_notifications().await {
        Ok(n) => {
            metrics
                .notifications_due
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::debug!(error = %e, "could not count owed emails"),
    }
    match processor.failing_notifications().await {
        Ok(n) => {
            metrics
                .notifications_failing
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::debug!(error = %e, "could not count failing emails"),
    }
    done
}
