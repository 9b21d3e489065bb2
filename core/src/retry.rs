//! The one back-off shape of the service, and the error that stops retrying.

use crate::BoxError;
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::time::Duration;

/// Pauses between attempts against something that failed: the n-th pause is drawn at
/// random from `[d/2, d)`, where `d = first × 2^(n-1)` capped at `cap`. The draw keeps
/// processes that failed together (a fleet during an outage, transactions racing for
/// one product) from retrying in lock-step, and no pause ever exceeds `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, cap: Duration) -> Self {
        Self { first, cap }
    }

    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The pauses in order, without end: give it to `backon::Retryable::retry`, or
    /// take from it by hand.
    pub fn pauses(&self) -> ExponentialBackoff {
        // backon's jitter adds a random 0–100 % to each pause; halving its bounds
        // turns that into `[d/2, d)` under the cap.
        ExponentialBuilder::new()
            .with_min_delay(self.first / 2)
            .with_max_delay(self.cap / 2)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    }

    /// The pause after `failures` failures in a row (1 for the first).
    pub fn after(&self, failures: u32) -> Duration {
        // Past 64 doublings every pause is at the cap anyway.
        let skip = failures.saturating_sub(1).min(64) as usize;
        self.pauses().nth(skip).unwrap_or(self.cap).min(self.cap)
    }
}

/// An error no retry can fix: bad credentials, a malformed address, a queue that does
/// not exist and is not to be created. Start-up stops with it instead of waiting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub BoxError);

impl Permanent {
    pub fn boxed(e: impl Into<BoxError>) -> BoxError {
        Box::new(Permanent(e.into()))
    }

    /// True when `e` is, or was caused by, a `Permanent` error.
    pub fn is(e: &(dyn std::error::Error + 'static)) -> bool {
        let mut next = Some(e);
        while let Some(err) = next {
            if err.is::<Permanent>() {
                return true;
            }
            next = err.source();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn pauses_double_within_half_to_whole_and_never_pass_the_cap() {
        let b = Backoff::new(100 * MS, 1000 * MS);
        for _ in 0..200 {
            let p: Vec<Duration> = b.pauses().take(8).collect();
            let d = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
            for (pause, d) in p.iter().zip(d) {
                assert!(*pause >= d * MS / 2 && *pause < d * MS, "{pause:?} vs {d}");
            }
        }
        for n in [1, 5, 64, 65, u32::MAX] {
            assert!(b.after(n) <= b.cap(), "{n}");
        }
        assert!(b.after(1) < 100 * MS);
        assert!(b.after(40) >= 500 * MS);
    }

    #[test]
    fn pauses_are_spread() {
        let b = Backoff::new(100 * MS, 1000 * MS);
        let draws: std::collections::BTreeSet<Duration> = (0..50).map(|_| b.after(3)).collect();
        assert!(draws.len() > 10, "{draws:?}");
    }

    #[test]
    fn a_permanent_error_is_found_through_its_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("connecting")]
        struct Outer(#[source] BoxError);
        let e = Outer(Permanent::boxed("authentication failed"));
        assert!(Permanent::is(&e));
        assert!(!Permanent::is(&Outer("timed out".into())));
    }
}
