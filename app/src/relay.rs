//! Runs the outbox relay on a timer until told to stop.

use crate::metrics::Metrics;
use orderflow_core::usecases::Relay;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub async fn run_relay(
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                if let Err(e) = relay.publish_due().await {
                    tracing::warn!(error = %e, "relay could not publish; will retry");
                }
                match relay.backlog().await {
                    Ok(n) => metrics.set_gauge("relay_backlog", n as f64),
                    Err(e) => tracing::debug!(error = %e, "could not count the relay backlog"),
                }
            }
        }
    }
}
