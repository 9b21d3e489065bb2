//! Runs the outbox relay, and the sweep of orders pending too long, on timers until
//! told to stop.

use crate::metrics::Metrics;
use orderflow_core::usecases::Relay;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often and for what age the sweep republishes stale pending orders.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    pub every: Duration,
    pub age: Duration,
}

pub async fn run_relay(
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    every: Duration,
    sweep: Sweep,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweep_tick = tokio::time::interval(sweep.every.max(Duration::from_millis(100)));
    sweep_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
            _ = sweep_tick.tick() => {
                if let Err(e) = relay.sweep(sweep.age).await {
                    tracing::warn!(error = %e, "sweep could not republish; will retry");
                }
            }
        }
    }
}
