use crate::BoxError;
use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease store unavailable")]
    Unavailable(#[source] BoxError),
}

/// Named leases shared by every process on the same store: work that one process in
/// the fleet should do at a time (the relay's sweep) runs only while its process holds
/// the lease. A holder is a string unique to one process.
///
/// MUST:
/// - `acquire` answer `true` and hold the lease for `holder` until `now + ttl` when the
///   lease is free, has lapsed (its time is `<= now`), or is already `holder`'s (a
///   renewal, which extends it); answer `false`, changing nothing, while another holder's
///   time has not passed;
/// - be atomic across processes: of concurrent `acquire`s of a free or lapsed lease,
///   exactly one answers `true`;
/// - make `release` free the lease only when `holder` holds it (someone who took over
///   a lapsed lease keeps it), and succeed either way;
/// - return `Unavailable` when the store cannot answer in time. A caller that cannot
///   renew must assume the lease lost once its time passes.
///
/// Times are the callers' clocks: holders' clocks should agree to well within `ttl`.
#[async_trait::async_trait]
pub trait Leases: super::Health {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, LeaseError>;
    async fn release(&self, name: &str, holder: &str) -> Result<(), LeaseError>;
}

/// When a lease taken at `now` for `ttl` runs out (the far future if that overflows).
pub fn lease_until(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
