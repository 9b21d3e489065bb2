//! The fleet-wide gauges read from the store and the queue: pending orders and the age
//! of the oldest, outcome emails owed and failing, and the dead letters. They describe
//! the whole system, not a process, so one worker of the fleet reads them, the holder
//! of the `fleet-gauges` lease (`fleet_lease.rs`), every `ops.gauge_interval_ms`: four
//! indexed store reads and one `GetQueueAttributes` per interval for the fleet, and a
//! lease renewal per worker. The other workers report zero, and alerts take the `max`.

use crate::fleet_lease::FleetLease;
use crate::metrics::{set_count, set_count_read, Metrics};
use orderflow_core::ports::Clock;
use orderflow_core::usecases::{DeadLetters, OrderProcessor, Relay};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The lease's name in the store.
pub const GAUGES_LEASE: &str = "fleet-gauges";

pub struct FleetGauges {
    pub relay: Arc<Relay>,
    pub processor: Arc<OrderProcessor>,
    pub dead_letters: Arc<DeadLetters>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
}

impl FleetGauges {
    /// Looks every `every` while this process holds `lease` (taken or renewed at each
    /// tick), until `stop`; then releases it.
    pub async fn run(self, lease: FleetLease, every: Duration, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut held = false;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => {
                    let was = held;
                    held = lease.renew(held).await;
                    if held {
                        self.look().await;
                    } else if was {
                        self.clear();
                    }
                }
            }
        }
        if held {
            lease.release().await;
        }
    }

    /// Another process reads the figures now: this one stops reporting its last ones,
    /// which would go stale.
    fn clear(&self) {
        let m = &self.metrics;
        m.orders_pending.set(0);
        m.orders_pending_oldest_age.set(0);
        m.notifications_due.set(0);
        m.notifications_failing.set(0);
        m.dead_letters.set(0);
    }

    /// One look. A figure that cannot be read keeps its last value (as
    /// `set_count_read` says why).
    pub async fn look(&self) {
        let m = &self.metrics;
        match self.relay.pending_orders().await {
            Ok(p) => {
                set_count(&m.orders_pending, p.count);
                let age = p
                    .oldest
                    .map_or(0, |t| (self.clock.now() - t).num_seconds().max(0));
                m.orders_pending_oldest_age.set(age);
            }
            Err(e) => tracing::debug!(error = %e, "could not count the pending orders"),
        }
        let owed = self.processor.owed_notifications().await;
        set_count_read(&m.notifications_due, owed, "owed emails");
        let failing = self.processor.failing_notifications().await;
        set_count_read(&m.notifications_failing, failing, "failing emails");
        let dead = self.dead_letters.count().await;
        set_count_read(&m.dead_letters, dead, "the dead letters");
    }
}
