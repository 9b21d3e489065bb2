use crate::domain::{
    RefreshSecret, RefreshTokenHash, ResetSecret, ResetTokenHash, Role, SessionFamilyId, UserId,
};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub user_id: UserId,
    pub role: Role,
    /// The login the token was issued for: ending it ends the token too.
    pub session: SessionFamilyId,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Malformed, tampered, expired, not yet valid, wrong issuer/audience/algorithm, or a
    /// token of another kind: the caller is not authenticated, whatever the reason.
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("could not sign token")]
    Signing(String),
}

/// Issues and checks access tokens and mints refresh tokens.
///
/// Synchronous on purpose: verifying an access token MUST need no I/O, so every
/// authenticated request costs only CPU.
///
/// MUST:
/// - return `Invalid` for any token it did not issue, that has expired (`exp <= now`),
///   is not yet valid, names another issuer or audience, uses another algorithm, is
///   not an access token, or names no session;
/// - give back from `verify_access` the user, role and session it was issued with;
/// - mint refresh secrets with at least 256 bits of randomness, and hash them with a
///   one-way function so `hash_refresh(secret)` matches what `new_refresh` returned;
/// - derive `successor_refresh(secret)` with a keyed one-way function: the same secret
///   always has the same successor (so a retried refresh gets the same answer), and
///   nobody without the key can compute it.
pub trait TokenIssuer: Send + Sync {
    fn issue_access(
        &self,
        user: UserId,
        role: Role,
        session: SessionFamilyId,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, TokenError>;
    fn verify_access(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError>;
    fn new_refresh(&self) -> (RefreshSecret, RefreshTokenHash);
    fn hash_refresh(&self, secret: &RefreshSecret) -> RefreshTokenHash;
    /// The refresh secret that replaces `secret` when it is rotated, and its hash.
    fn successor_refresh(&self, secret: &RefreshSecret) -> (RefreshSecret, RefreshTokenHash);

    /// A password-reset secret and its hash: the same kind of random secret and
    /// one-way hash as a refresh token's, under a type of its own.
    fn new_reset(&self) -> (ResetSecret, ResetTokenHash) {
        let (secret, hash) = self.new_refresh();
        (ResetSecret(secret.0), ResetTokenHash(hash.0))
    }

    fn hash_reset(&self, secret: &ResetSecret) -> ResetTokenHash {
        ResetTokenHash(self.hash_refresh(&RefreshSecret(secret.0.clone())).0)
    }
}
