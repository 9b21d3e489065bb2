//! Work one process of the fleet does at a time (the sweep, the fleet gauges): the one
//! holding a named lease in the store. Every process tries to take or renew it once per
//! interval; a holder that dies stops renewing and another takes over once the lease
//! lapses; one that stops releases it at once.

use orderflow_core::ports::{Clock, Leases};
use std::sync::Arc;
use std::time::Duration;

pub struct FleetLease {
    pub leases: Arc<dyn Leases>,
    pub clock: Arc<dyn Clock>,
    /// The lease's name in the store.
    pub name: &'static str,
    /// This process's name as a lease holder; unique in the fleet.
    pub holder: String,
    /// How long a take or renewal holds: a few intervals, so a holder that misses one
    /// renewal keeps it.
    pub term: Duration,
}

/// A holder name no other process has: the host (a container's is its id), the
/// process id and a random part, so a restarted process is a new holder.
pub fn holder_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "orderflow".into());
    format!("{host}/{}/{}", std::process::id(), uuid::Uuid::new_v4())
}

impl FleetLease {
    /// Takes or renews the lease; whether this process holds it now. A store that does
    /// not answer counts as not holding it: the lease may lapse meanwhile.
    pub async fn renew(&self, held_before: bool) -> bool {
        let now = self.clock.now();
        let held = match self
            .leases
            .acquire(self.name, &self.holder, self.term, now)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, source = ?e, lease = self.name, "could not take or renew a lease");
                false
            }
        };
        if held != held_before {
            if held {
                tracing::info!(holder = %self.holder, lease = self.name, "took the lease: this process does its work");
            } else {
                tracing::info!(holder = %self.holder, lease = self.name, "no longer holds the lease");
            }
        }
        held
    }

    /// Gives the lease up so another process can take over without waiting.
    pub async fn release(&self) {
        let release = self.leases.release(self.name, &self.holder);
        match tokio::time::timeout(Duration::from_secs(2), release).await {
            Ok(Ok(())) => tracing::info!(lease = self.name, "released the lease"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, lease = self.name, "could not release the lease; it lapses by itself")
            }
            Err(_) => {
                tracing::warn!(
                    lease = self.name,
                    "releasing the lease timed out; it lapses by itself"
                )
            }
        }
    }
}
