use crate::MemoryStore;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{ResetToken, ResetTokenHash, UserId};
use orderflow_core::ports::{ResetRepoError, ResetTokens};

#[async_trait::async_trait]
impl ResetTokens for MemoryStore {
    async fn issue(&self, token: &ResetToken) -> Result<(), ResetRepoError> {
        let mut resets = self.inner.resets.lock();
        // Expired tokens are dropped as new ones come, so the map holds only live ones.
        resets.retain(|_, t| t.expires_at > token.created_at);
        resets.insert(token.hash.clone(), token.clone());
        Ok(())
    }

    async fn redeem(
        &self,
        hash: &ResetTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, ResetRepoError> {
        let mut resets = self.inner.resets.lock();
        let Some(token) = resets.remove(hash) else {
            return Ok(None);
        };
        if token.expires_at <= now {
            return Ok(None);
        }
        resets.retain(|_, t| t.user_id != token.user_id);
        Ok(Some(token.user_id))
    }
}
