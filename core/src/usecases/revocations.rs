//! The logins that were ended recently, as this process knows them: access tokens are
//! checked without I/O, so each process keeps this set in memory. A revocation made
//! here counts at once; one made by another process counts from this process's next
//! `refresh` (every `auth.revocation_check_ms`).

use crate::domain::{Revocation, SessionFamilyId};
use crate::ports::{SessionRepo, SessionRepoError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use tracing::instrument;

/// Revocations read per store call.
const PAGE: usize = 5_000;

pub struct RevokedSessions {
    /// Family → when it was revoked.
    revoked: RwLock<HashMap<SessionFamilyId, DateTime<Utc>>>,
    /// Where the next refresh starts reading; `None` before the first.
    read_from: Mutex<Option<DateTime<Utc>>>,
    /// How long after its revocation a family can still have a live access token: the
    /// access-token lifetime plus the clock-skew leeway. Older entries are dropped.
    keep: chrono::Duration,
    /// How far each refresh reads back before where the last one ended, for revocations
    /// stamped by a process whose clock runs behind ours, or written while we read.
    overlap: chrono::Duration,
}

impl RevokedSessions {
    pub fn new(keep: Duration, overlap: Duration) -> Self {
        Self {
            revoked: RwLock::default(),
            read_from: Mutex::default(),
            keep: chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(1)),
            overlap: chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::minutes(1)),
        }
    }

    pub fn contains(&self, family: &SessionFamilyId) -> bool {
        // Entries are inserted or removed whole: a poisoned lock holds a usable map.
        self.revoked
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(family)
    }

    /// A revocation this process made.
    pub fn add(&self, family: SessionFamilyId, at: DateTime<Utc>) {
        self.revoked
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(family, at);
    }

    pub fn len(&self) -> usize {
        self.revoked.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the revocations made since the last refresh (everything that still
    /// matters, the first time) and forgets those too old to matter. On an error the
    /// set is left as it was and the next refresh reads from the same point.
    #[instrument(skip_all, fields(read))]
    pub async fn refresh(
        &self,
        sessions: &dyn SessionRepo,
        now: DateTime<Utc>,
    ) -> Result<usize, SessionRepoError> {
        let oldest_that_matters = now - self.keep;
        let start = self
            .read_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(oldest_that_matters, |from| {
                (from - self.overlap).max(oldest_that_matters)
            });
        let mut found: Vec<Revocation> = Vec::new();
        let mut since = start;
        loop {
            let page = sessions.revoked_since(since, PAGE).await?;
            let full = page.len() == PAGE;
            let last = page.last().map(|r| r.at);
            found.extend(page);
            match last {
                // A page of one instant would start the next page at the same place.
                Some(at) if full && at > since => since = at,
                _ => break,
            }
        }
        tracing::Span::current().record("read", found.len());
        {
            let mut revoked = self.revoked.write().unwrap_or_else(|e| e.into_inner());
            for r in &found {
                revoked.insert(r.family, r.at);
            }
            revoked.retain(|_, at| *at >= oldest_that_matters);
        }
        *self.read_from.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
        Ok(found.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RefreshTokenHash, Session, UserId};
    use crate::ports::Rotation;

    /// Answers `revoked_since` from a fixed list, and records where each read began.
    struct Listed {
        revocations: Vec<Revocation>,
        reads: Mutex<Vec<DateTime<Utc>>>,
    }

    #[async_trait::async_trait]
    impl crate::ports::Health for Listed {
        async fn health(&self) -> Result<(), crate::BoxError> {
            Ok(())
        }
    }

    #[async_trait::async_trait]
    impl SessionRepo for Listed {
        async fn create(&self, _: &Session) -> Result<(), SessionRepoError> {
            unreachable!()
        }
        async fn rotate(
            &self,
            _: &RefreshTokenHash,
            _: &RefreshTokenHash,
            _: DateTime<Utc>,
            _: Duration,
        ) -> Result<Rotation, SessionRepoError> {
            unreachable!()
        }
        async fn revoke(
            &self,
            _: &RefreshTokenHash,
            _: DateTime<Utc>,
        ) -> Result<Option<SessionFamilyId>, SessionRepoError> {
            unreachable!()
        }
        async fn revoke_user(
            &self,
            _: UserId,
            _: Option<SessionFamilyId>,
            _: DateTime<Utc>,
        ) -> Result<Vec<SessionFamilyId>, SessionRepoError> {
            unreachable!()
        }
        async fn revoked_since(
            &self,
            since: DateTime<Utc>,
            limit: usize,
        ) -> Result<Vec<Revocation>, SessionRepoError> {
            self.reads.lock().unwrap().push(since);
            Ok(self
                .revocations
                .iter()
                .filter(|r| r.at >= since)
                .take(limit)
                .copied()
                .collect())
        }
    }

    #[test]
    fn reads_back_by_the_overlap_and_forgets_what_can_no_longer_matter() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mins = chrono::Duration::minutes;
        let old = Revocation {
            family: SessionFamilyId::new(),
            at: t0 - mins(20),
        };
        let recent = Revocation {
            family: SessionFamilyId::new(),
            at: t0 - mins(5),
        };
        let store = Listed {
            revocations: vec![old, recent],
            reads: Mutex::default(),
        };
        // Access tokens live 15 minutes; reads overlap by one.
        let set = RevokedSessions::new(Duration::from_secs(900), Duration::from_secs(60));
        let read = futures::executor::block_on(set.refresh(&store, t0)).unwrap();
        assert_eq!(read, 1, "the first read goes back one token lifetime");
        assert!(set.contains(&recent.family));
        assert!(!set.contains(&old.family));
        futures::executor::block_on(set.refresh(&store, t0 + mins(1))).unwrap();
        assert_eq!(
            store.reads.lock().unwrap().clone(),
            vec![t0 - mins(15), t0 - mins(1)],
            "later reads start where the last ended, less the overlap"
        );
        let here = SessionFamilyId::new();
        set.add(here, t0 + mins(1));
        assert!(set.contains(&here), "a local revocation counts at once");
        futures::executor::block_on(set.refresh(&store, t0 + mins(11))).unwrap();
        assert!(
            !set.contains(&recent.family),
            "its tokens have all expired: forgotten"
        );
        assert!(set.contains(&here));
        assert_eq!(set.len(), 1);
    }
}
