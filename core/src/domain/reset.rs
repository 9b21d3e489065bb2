//! Password-reset tokens: what the customer receives, and what the store keeps.

use super::UserId;
use chrono::{DateTime, Utc};

/// A password-reset token as the customer receives it, in the emailed link: 256 random
/// bits. Never stored, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetSecret(pub String);

impl std::fmt::Debug for ResetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetSecret(<redacted>)")
    }
}

/// What the store keeps instead of the token: a one-way hash, so a leaked database
/// yields no usable link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResetTokenHash(pub String);

/// A reset token as stored: whose it is and until when it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetToken {
    pub hash: ResetTokenHash,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
