//! The relay's sweep of orders pending too long, run by one process of the fleet at a
//! time: the one holding the sweep lease (`fleet_lease.rs`).
//!
//! The sweep runs in its own task, outside the tasks shutdown waits for: stopping
//! drops a sweep where it stands. That is safe because sweeping only publishes orders
//! again (the worker takes each order's message once however often it arrives), and
//! an order published but not yet marked swept is simply published again next time.

use crate::fleet_lease::FleetLease;
use crate::metrics::Metrics;
use orderflow_core::usecases::Relay;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The lease's name in the store.
pub const SWEEP_LEASE: &str = "relay-sweep";

/// How often, and for what age, the sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    pub every: Duration,
    pub age: Duration,
}

pub struct Sweeper {
    pub relay: Arc<Relay>,
    /// The sweep lease (`SWEEP_LEASE`, held for `Sweep::lease`).
    pub lease: FleetLease,
    pub metrics: Arc<Metrics>,
    pub sweep: Sweep,
}

impl Sweeper {
    /// Sweeps every interval while this process holds the lease, until `stop`; then
    /// releases the lease so another process can take over without waiting.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.sweep.every.max(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut held = false;
        'ticks: loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => {}
            }
            held = self.renew(held).await;
            if !held {
                continue;
            }
            let sweep = self.relay.sweep(self.sweep.age);
            tokio::pin!(sweep);
            loop {
                tokio::select! {
                    done = &mut sweep => {
                        match done {
                            Ok(n) => {
                                self.metrics.relay_swept.inc_by(n as u64);
                            }
                            Err(e) => tracing::warn!(error = %e, source = ?e, "sweep could not republish; will retry"),
                        }
                        break;
                    }
                    _ = stop.changed() => break 'ticks,
                    // A long sweep keeps its lease; one that lost it stops, since another
                    // process is sweeping now.
                    _ = tick.tick() => {
                        held = self.renew(held).await;
                        if !held {
                            break;
                        }
                    }
                }
            }
        }
        self.metrics.relay_sweep_lease_held.set(0);
        if held {
            self.lease.release().await;
        }
    }

    async fn renew(&self, held_before: bool) -> bool {
        let held = self.lease.renew(held_before).await;
        self.metrics.relay_sweep_lease_held.set(i64::from(held));
        held
    }
}
