use crate::domain::{ResetToken, ResetTokenHash, UserId};
use crate::BoxError;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum ResetRepoError {
    #[error("reset token store unavailable")]
    Unavailable(#[source] BoxError),
}

/// Password-reset tokens, stored by hash only.
///
/// MUST:
/// - make `redeem` atomic and single-use: for a stored token whose `expires_at` is
///   after `now`, exactly one caller gets its user, also when many redeem it at once;
///   every later call, and any call for an unknown or expired token, gets `None`;
/// - end every other token of that user when one is redeemed (a password set through
///   one link makes the older links useless), and no other user's;
/// - keep times to the millisecond;
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait ResetTokens: super::Health {
    async fn issue(&self, token: &ResetToken) -> Result<(), ResetRepoError>;
    /// The user the token was issued to, once; `None` for an unknown, used or expired
    /// token.
    async fn redeem(
        &self,
        hash: &ResetTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, ResetRepoError>;
}
