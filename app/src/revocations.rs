//! Keeps this process's list of ended logins current: every
//! `auth.revocation_check_ms` it reads the logins other processes ended, so their
//! access tokens are refused here too (checks themselves read only memory).

use crate::metrics::{set_count, Metrics};
use orderflow_core::usecases::AuthService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub async fn run_revocation_reads(
    auth: Arc<AuthService>,
    metrics: Arc<Metrics>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        tokio::select! {
            _ = stop.changed() => break,
            read = auth.refresh_revocations() => match read {
                Ok(_) => set_count(&metrics.revoked_sessions, auth.revoked.len()),
                Err(e) => tracing::warn!(
                    error = %e,
                    source = ?e,
                    "could not read the ended logins; those ended by other processes keep their access tokens until the store answers"
                ),
            },
        }
    }
}
