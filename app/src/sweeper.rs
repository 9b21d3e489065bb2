//! The relay's sweep of orders pending too long, run by one process of the fleet at a
//! time: the one holding the sweep lease in the store. Every process tries to take or
//! renew the lease once per interval; a holder that dies stops renewing and another
//! process takes over once the lease lapses, one that stops releases it at once.
//!
//! The sweep runs in its own task, outside the tasks shutdown waits for: stopping
//! drops a sweep where it stands. That is safe because sweeping only publishes orders
//! again (the worker takes each order's message once however often it arrives), and
//! an order published but not yet marked swept is simply published again next time.

use crate::metrics::Metrics;
use orderflow_core::ports::{Clock, Leases};
use orderflow_core::usecases::Relay;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The lease's name in the store.
pub const SWEEP_LEASE: &str = "relay-sweep";

/// How often, for what age, and under how long a lease the sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    pub every: Duration,
    pub age: Duration,
    pub lease: Duration,
}

pub struct Sweeper {
    pub relay: Arc<Relay>,
    pub leases: Arc<dyn Leases>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// This process's name as a lease holder; unique in the fleet.
    pub holder: String,
    pub sweep: Sweep,
}

/// A holder name no other process has: the host (a container's is its id), the
/// process id and a random part, so a restarted process is a new holder.
pub fn holder_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "orderflow".into());
    format!("{host}/{}/{}", std::process::id(), uuid::Uuid::new_v4())
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
            let release = self.leases.release(SWEEP_LEASE, &self.holder);
            match tokio::time::timeout(Duration::from_secs(2), release).await {
                Ok(Ok(())) => tracing::info!("released the sweep lease"),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "could not release the sweep lease; it lapses by itself")
                }
                Err(_) => {
                    tracing::warn!("releasing the sweep lease timed out; it lapses by itself")
                }
            }
        }
    }

    /// Takes or renews the lease; whether this process holds it now. A store that does
    /// not answer counts as not holding it: the lease may lapse meanwhile.
    async fn renew(&self, held_before: bool) -> bool {
        let now = self.clock.now();
        let held = match self
            .leases
            .acquire(SWEEP_LEASE, &self.holder, self.sweep.lease, now)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, source = ?e, "could not take or renew the sweep lease");
                false
            }
        };
        if held != held_before {
            if held {
                tracing::info!(holder = %self.holder, "took the sweep lease: this process sweeps");
            } else {
                tracing::info!(holder = %self.holder, "no longer holds the sweep lease");
            }
        }
        self.metrics.relay_sweep_lease_held.set(i64::from(held));
        held
    }
}
