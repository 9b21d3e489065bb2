use crate::domain::{RefreshTokenHash, Revocation, Session, SessionFamilyId, UserId};
use crate::BoxError;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum SessionRepoError {
    #[error("session store unavailable")]
    Unavailable(#[source] BoxError),
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was the family's current one; `next` is current now.
    Rotated {
        user_id: UserId,
        family: SessionFamilyId,
    },
    /// The token was the one `next` replaced, presented again within the grace (a
    /// retried refresh whose answer was lost, or a second tab): nothing changed, and
    /// the caller answers with `next` again.
    Repeated {
        user_id: UserId,
        family: SessionFamilyId,
    },
    /// The token had already been rotated away: the family is now revoked.
    Reused { family: SessionFamilyId },
    /// Unknown, expired or revoked token. Nothing changed.
    Invalid,
}

/// Refresh-token families (one per login), stored by token hash only.
///
/// MUST:
/// - make `rotate` atomic: of any number of concurrent rotations presenting the same
///   current token, exactly one returns `Rotated`; the others see the token as already
///   rotated and return `Reused`, revoking the family — except that presenting the
///   token `current` just replaced, with `next` equal to `current` (its successor),
///   within `grace` of that rotation, returns `Repeated` and changes nothing;
/// - return `Invalid` for a token of a revoked or expired (`expires_at <= now`) family;
/// - make `revoke` idempotent and return the family of a known token (revoked now or
///   before);
/// - stamp every revocation (`revoke`, `revoke_user`, reuse in `rotate`) with the
///   `now` it was given, once: revoking again keeps the first time;
/// - make `revoked_since(since, limit)` answer the families revoked at or after
///   `since`, oldest first, at most `limit` (every process reads it to refuse the
///   access tokens of ended logins);
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait SessionRepo: super::Health {
    async fn create(&self, session: &Session) -> Result<(), SessionRepoError>;
    async fn rotate(
        &self,
        presented: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: DateTime<Utc>,
        grace: std::time::Duration,
    ) -> Result<Rotation, SessionRepoError>;
    /// Revokes the family that `token` (current or previous) belongs to; `None` for an
    /// unknown token.
    async fn revoke(
        &self,
        token: &RefreshTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionFamilyId>, SessionRepoError>;
    /// Revokes every login of `user` not yet revoked, but `keep` (the login of the
    /// caller who asked, when it should survive); the families it revoked.
    async fn revoke_user(
        &self,
        user: UserId,
        keep: Option<SessionFamilyId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionFamilyId>, SessionRepoError>;
    async fn revoked_since(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Revocation>, SessionRepoError>;
}
