use crate::MemoryStore;
use chrono::{DateTime, Utc};
use orderflow_core::ports::{lease_until, LeaseError, Leases};
use std::time::Duration;

/// Each lease's holder and until when.
pub(crate) type LeaseTable = std::collections::HashMap<String, (String, DateTime<Utc>)>;

#[async_trait::async_trait]
impl Leases for MemoryStore {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, LeaseError> {
        let until = lease_until(now, ttl);
        let mut leases = self.inner.leases.lock();
        match leases.get(name) {
            Some((other, other_until)) if other != holder && *other_until > now => Ok(false),
            _ => {
                leases.insert(name.to_owned(), (holder.to_owned(), until));
                Ok(true)
            }
        }
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), LeaseError> {
        let mut leases = self.inner.leases.lock();
        if leases.get(name).is_some_and(|(h, _)| h == holder) {
            leases.remove(name);
        }
        Ok(())
    }
}
