use crate::retry::Backoff;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The relay's record of an order whose message the queue refused (too large, a
/// per-entry failure). The order stays unpublished: the scan retries it after
/// `retry_at`, with a doubling wait, and after `Refusals::limit` refusals sets it aside
/// for an operator instead of retrying forever. Other orders are never held up by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishRefusal {
    /// Refusals so far, this one included.
    pub count: u32,
    /// The queue's reason, as it gave it the last time.
    pub reason: String,
    pub at: DateTime<Utc>,
    /// When the scan tries again; unused once the order is set aside.
    pub retry_at: DateTime<Utc>,
    /// Set once the relay has given up: the order waits for `outbox retry`.
    pub set_aside: bool,
}

/// How often the relay retries a refused message before setting its order aside, and
/// how long it waits in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusals {
    pub limit: u32,
    pub first_wait: std::time::Duration,
    pub max_wait: std::time::Duration,
}

impl Refusals {
    /// The record after one more refusal: the wait is `Backoff` from `first_wait` up
    /// to `max_wait`, and the `limit`-th refusal sets the order aside.
    pub fn next(
        &self,
        prior: Option<&PublishRefusal>,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> PublishRefusal {
        let count = prior.map_or(0, |p| p.count).saturating_add(1);
        let wait = Backoff::new(self.first_wait, self.max_wait).after(count);
        PublishRefusal {
            count,
            reason: reason.into(),
            at: now,
            retry_at: now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX),
            set_aside: count >= self.limit.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_wait_backs_off_up_to_the_cap_and_the_limit_sets_the_order_aside() {
        let r = Refusals {
            limit: 5,
            first_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(5),
        };
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let mut prior = None;
        let mut waits = Vec::new();
        let mut aside = Vec::new();
        for _ in 0..5 {
            let next = r.next(prior.as_ref(), "too large", now);
            waits.push((next.retry_at - now).num_milliseconds());
            aside.push(next.set_aside);
            prior = Some(next);
        }
        for (wait, d) in waits.iter().zip([1000, 2000, 4000, 5000, 5000]) {
            assert!(*wait >= d / 2 && *wait < d, "{waits:?}");
        }
        assert_eq!(aside, [false, false, false, false, true]);
        assert_eq!(prior.map(|p| p.count), Some(5));
    }
}
