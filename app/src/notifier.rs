//! Sends outcome emails that are owed and due: those whose first send failed (a mail
//! outage of any length) and those whose worker died between settling and sending.
//! Runs in every worker process; the claim in the store lets one send each email.

use crate::idle_pace::IdlePace;
use crate::metrics::Metrics;
use orderflow_core::usecases::{DueSent, OrderProcessor};
use orderflow_core::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Looks every `every` while it finds emails due (or owed), less often (up to
/// `idle_max`) while none is.
pub async fn run_notifier(
    processor: Arc<OrderProcessor>,
    metrics: Arc<Metrics>,
    every: Duration,
    idle_max: Duration,
    batch: usize,
    mut stop: watch::Receiver<bool>,
) {
    let every = every.max(Duration::from_millis(10));
    let mut pace = IdlePace::new(every, idle_max);
    let mut pause = every;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(pause) => {}
        }
        pause = match scan_once(&processor, &metrics, batch).await {
            Ok(done) => pace.after(done.sent + done.deferred + done.abandoned > 0 || metrics.notifications_due.get() > 0),
            Err(e) => {
                tracing::warn!(error = %e, source = ?e, "could not send due emails; will retry");
                every
            }
        };
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
