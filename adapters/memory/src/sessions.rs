use crate::MemoryStore;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{RefreshTokenHash, Revocation, Session, SessionFamilyId, UserId};
use orderflow_core::ports::{Rotation, SessionRepo, SessionRepoError};

#[async_trait::async_trait]
impl SessionRepo for MemoryStore {
    async fn create(&self, session: &Session) -> Result<(), SessionRepoError> {
        let mut s = self.inner.sessions.lock();
        s.by_hash.insert(session.current.clone(), session.family);
        for h in &session.previous {
            s.by_hash.insert(h.clone(), session.family);
        }
        if let Some(at) = session.revoked_at {
            s.revoked.insert((at, session.family));
        }
        s.families.insert(session.family, session.clone());
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: DateTime<Utc>,
        grace: std::time::Duration,
    ) -> Result<Rotation, SessionRepoError> {
        let mut s = self.inner.sessions.lock();
        let Some(family_id) = s.by_hash.get(presented).copied() else {
            return Ok(Rotation::Invalid);
        };
        let Some(family) = s.families.get_mut(&family_id) else {
            return Ok(Rotation::Invalid);
        };
        if family.revoked() || family.expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        if &family.current != presented {
            let repeat = &family.current == next
                && family.previous.last() == Some(presented)
                && family.rotated_at.is_some_and(|at| {
                    now <= at + chrono::Duration::from_std(grace).unwrap_or_default()
                });
            if repeat {
                return Ok(Rotation::Repeated {
                    user_id: family.user_id,
                    family: family_id,
                });
            }
            s.revoke(family_id, now);
            return Ok(Rotation::Reused { family: family_id });
        }
        let old = std::mem::replace(&mut family.current, next.clone());
        family.previous.push(old);
        family.rotated_at = Some(now);
        let user_id = family.user_id;
        s.by_hash.insert(next.clone(), family_id);
        Ok(Rotation::Rotated {
            user_id,
            family: family_id,
        })
    }

    async fn revoke(
        &self,
        token: &RefreshTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionFamilyId>, SessionRepoError> {
        let mut s = self.inner.sessions.lock();
        let Some(family_id) = s.by_hash.get(token).copied() else {
            return Ok(None);
        };
        s.revoke(family_id, now);
        Ok(Some(family_id))
    }

    async fn revoke_user(
        &self,
        user: UserId,
        keep: Option<SessionFamilyId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionFamilyId>, SessionRepoError> {
        let mut s = self.inner.sessions.lock();
        // A scan: this runs on a password or role change, not per request.
        let live: Vec<SessionFamilyId> = s
            .families
            .values()
            .filter(|f| f.user_id == user && !f.revoked() && Some(f.family) != keep)
            .map(|f| f.family)
            .collect();
        for f in &live {
            s.revoke(*f, now);
        }
        Ok(live)
    }

    async fn revoked_since(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Revocation>, SessionRepoError> {
        let s = self.inner.sessions.lock();
        let from = (since, SessionFamilyId(uuid::Uuid::nil()));
        Ok(s.revoked
            .range(from..)
            .take(limit)
            .map(|&(at, family)| Revocation { family, at })
            .collect())
    }
}
