//! Runs the outbox relay's timed scan for orders the hand-off (`handoff.rs`) missed,
//! until told to stop. (The sweep of orders pending too long is `sweeper`'s: one
//! process of the fleet runs it.)

use crate::idle_pace::IdlePace;
use crate::metrics::{set_count_read, Metrics};
use orderflow_core::usecases::{Relay, Relayed};
use orderflow_core::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Scans every `every` while it finds orders to publish, less often (up to `idle_max`)
/// while it finds none, and backs off while publishing fails.
pub async fn run_relay(
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    every: Duration,
    idle_max: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let every = every.max(Duration::from_millis(10));
    let mut pace = IdlePace::new(every, idle_max);
    let mut backoff = Backoff::new(every);
    let mut pause = every;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(pause) => {}
        }
        if backoff.waiting() {
            pause = every;
            continue;
        }
        pause = match scan_once(&relay, &metrics).await {
            Err(e) => {
                metrics.relay_failures.inc();
                let wait = backoff.fail();
                tracing::warn!(error = %e, source = ?e, retry_in_ms = wait.as_millis() as u64, "relay could not publish; will retry");
                every
            }
            Ok(done) => {
                backoff.reset();
                pace.after(done.published + done.refused > 0)
            }
        };
    }
}

/// One pass of the timed scan: publishes what is due, then refreshes the relay's
/// gauges (also after a failed publish, so an outage shows in the backlog).
pub async fn scan_once(relay: &Relay, metrics: &Metrics) -> Result<Relayed, BoxError> {
    let done = relay.publish_due().await;
    if let Ok(d) = &done {
        metrics.relay_refused.inc_by(d.refused as u64);
    }
    set_count_read(
        &metrics.relay_backlog,
        relay.backlog().await,
        "the relay backlog",
    );
    set_count_read(
        &metrics.relay_set_aside,
        relay.set_aside_count().await,
        "the set-aside orders",
    );
    done
}

/// Spaces out the scan's attempts while publishing fails. A publish that timed out may
/// still have been queued, so each retry can add a copy of the same orders: retrying on
/// every tick against a slow queue makes it slower still (the soak's numbers are in
/// BENCHMARKS.md). Pauses from one to two ticks, growing up to `MAX`, bound the copies.
struct Backoff {
    pauses: orderflow_core::retry::Backoff,
    failures: u32,
    until: Option<tokio::time::Instant>,
}

impl Backoff {
    const MAX: Duration = Duration::from_secs(10);

    fn new(every: Duration) -> Self {
        Self {
            pauses: orderflow_core::retry::Backoff::new(
                every.saturating_mul(2),
                Self::MAX.max(every),
            ),
            failures: 0,
            until: None,
        }
    }

    fn waiting(&self) -> bool {
        self.until.is_some_and(|t| tokio::time::Instant::now() < t)
    }

    fn reset(&mut self) {
        self.failures = 0;
        self.until = None;
    }

    fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let wait = self.pauses.after(self.failures);
        self.until = Some(tokio::time::Instant::now() + wait);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn the_scan_backs_off_up_to_the_cap_and_resets_on_success() {
        let mut b = Backoff::new(Duration::from_millis(200));
        assert!(!b.waiting());
        let waits: Vec<u128> = (0..8).map(|_| b.fail().as_millis()).collect();
        let bounds = [400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000];
        for (w, d) in waits.iter().zip(bounds) {
            assert!(*w >= d / 2 && *w < d, "{waits:?}");
        }
        assert!(b.waiting(), "no attempt until the wait is over");
        b.reset();
        assert!(!b.waiting());
        let again = b.fail();
        assert!(
            again >= Duration::from_millis(200) && again < Duration::from_millis(400),
            "counts again from one: {again:?}"
        );
    }
}
