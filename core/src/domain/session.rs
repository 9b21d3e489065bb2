use super::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One login: the chain of refresh tokens that descend from it. Rotation replaces the
/// current token; presenting any earlier one means it leaked, and the whole family is
/// revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionFamilyId(pub uuid::Uuid);

impl SessionFamilyId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl Default for SessionFamilyId {
    fn default() -> Self {
        Self::new()
    }
}

/// The refresh token as handed to the client: never stored, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshSecret(pub String);

impl std::fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

/// What the store keeps instead of the token: a one-way hash, so a leaked database
/// yields no usable tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RefreshTokenHash(pub String);

#[derive(Debug, Clone)]
pub struct Session {
    pub family: SessionFamilyId,
    pub user_id: UserId,
    /// Hash of the one refresh token of this family that is valid now.
    pub current: RefreshTokenHash,
    /// Hashes this family has rotated away from; seeing one again is reuse.
    pub previous: Vec<RefreshTokenHash>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When the login was ended (logout, reuse, a password or role change): its refresh
    /// tokens stop at once, its access tokens once every process has heard of it.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When `current` replaced the last of `previous`: presenting that one again within
    /// the grace is a retry, not reuse.
    pub rotated_at: Option<DateTime<Utc>>,
}

impl Session {
    pub fn revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// A login that was ended, and when: what access-token checks need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub family: SessionFamilyId,
    pub at: DateTime<Utc>,
}
