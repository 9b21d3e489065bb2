use crate::docs::{bdate, cdate};
use crate::MongoStore;
use chrono::{DateTime, Utc};
use mongodb::bson::{doc, DateTime as BsonDate};
use orderflow_core::domain::{ResetToken, ResetTokenHash, UserId};
use orderflow_core::ports::{ResetRepoError, ResetTokens};
use serde::{Deserialize, Serialize};

/// One document per token in `password_resets`: `{_id: hash, user_id, created_at,
/// expires_at}`. Redeeming deletes it (one atomic `find_one_and_delete`, so of two
/// racing redeems one gets the document), and a TTL index removes expired ones.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ResetDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub user_id: String,
    pub created_at: BsonDate,
    pub expires_at: BsonDate,
}

fn unavailable(e: impl Into<orderflow_core::BoxError>) -> ResetRepoError {
    ResetRepoError::Unavailable(e.into())
}

#[async_trait::async_trait]
impl ResetTokens for MongoStore {
    async fn issue(&self, token: &ResetToken) -> Result<(), ResetRepoError> {
        let d = ResetDoc {
            id: token.hash.0.clone(),
            user_id: token.user_id.to_string(),
            created_at: bdate(token.created_at),
            expires_at: bdate(token.expires_at),
        };
        self.bounded(self.resets.insert_one(d))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn redeem(
        &self,
        hash: &ResetTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, ResetRepoError> {
        // The TTL monitor runs about once a minute: the filter is what enforces expiry.
        let taken = self
            .bounded(
                self.resets
                    .find_one_and_delete(doc! {"_id": &hash.0, "expires_at": {"$gt": bdate(now)}}),
            )
            .await
            .map_err(unavailable)?;
        let Some(d) = taken else {
            return Ok(None);
        };
        let user = UserId::parse(&d.user_id)
            .ok_or_else(|| unavailable(format!("password_resets: bad user_id {:?}", d.user_id)))?;
        self.bounded(self.resets.delete_many(doc! {"user_id": &d.user_id}))
            .await
            .map_err(unavailable)?;
        tracing::debug!(issued = %cdate(d.created_at), "reset token redeemed");
        Ok(Some(user))
    }
}
