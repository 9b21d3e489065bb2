//! The fleet-wide gauges each worker reads from the store and the queue: pending
//! orders and the age of the oldest, and the dead letters. They describe the whole
//! system, not this process, so every worker reports the same figures and alerts take
//! their `max`; one look every `ops.gauge_interval_ms` keeps the cost to two indexed
//! store reads and one `GetQueueAttributes` per worker per interval.

use crate::metrics::Metrics;
use orderflow_core::ports::Clock;
use orderflow_core::usecases::{DeadLetters, Relay};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub struct FleetGauges {
    pub relay: Arc<Relay>,
    pub dead_letters: Arc<DeadLetters>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
}

impl FleetGauges {
    pub async fn run(self, every: Duration, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => self.look().await,
            }
        }
    }

    /// One look. A figure that cannot be read keeps its last value: the outage shows
    /// in the readiness gauges and the logs, and a gauge dropping to zero would read
    /// as the backlog clearing.
    pub async fn look(&self) {
        let m = &self.metrics;
        match self.relay.pending_orders().await {
            Ok(p) => {
                m.orders_pending
                    .set(i64::try_from(p.count).unwrap_or(i64::MAX));
                let age = p
                    .oldest
                    .map_or(0, |t| (self.clock.now() - t).num_seconds().max(0));
                m.orders_pending_oldest_age.set(age);
            }
            Err(e) => tracing::debug!(error = %e, "could not count the pending orders"),
        }
        match self.dead_letters.count().await {
            Ok(n) => {
                m.dead_letters.set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            Err(e) => tracing::debug!(error = %e, "could not count the dead letters"),
        }
    }
}
