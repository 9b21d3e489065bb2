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

/// Looks every `every` while it finds emails due, less often (up to `idle_max`) while
/// none is: an email deferred after a failed send is sent within `idle_max` of its time.
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
            Ok(done) => pace.after(done.sent + done.deferred + done.abandoned > 0),
            Err(e) => {
                tracing::warn!(error = %e, source = ?e, "could not send due emails; will retry");
                every
            }
        };
    }
}

/// One look: sends what is due (up to `batch`). How many are owed and failing is a
/// fleet gauge (`gauges.rs`).
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
    done
}
