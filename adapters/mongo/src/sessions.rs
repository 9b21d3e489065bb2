use crate::docs::{bdate, SessionDoc};
use crate::MongoStore;
use chrono::{DateTime, Utc};
use mongodb::bson::doc;
use mongodb::options::ReturnDocument;
use orderflow_core::domain::{RefreshTokenHash, Session};
use orderflow_core::ports::{Rotation, SessionRepo, SessionRepoError};

fn unavailable(e: impl Into<orderflow_core::BoxError>) -> SessionRepoError {
    SessionRepoError::Unavailable(e.into())
}

#[async_trait::async_trait]
impl SessionRepo for MongoStore {
    async fn create(&self, session: &Session) -> Result<(), SessionRepoError> {
        self.bounded(self.sessions.insert_one(SessionDoc::from(session)))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: DateTime<Utc>,
        grace: std::time::Duration,
    ) -> Result<Rotation, SessionRepoError> {
        // One conditional update: of concurrent rotations only one still finds the
        // presented token current.
        let rotated = self
            .bounded(
                self.sessions
                    .find_one_and_update(
                        doc! {"current": &presented.0, "revoked": false, "expires_at": {"$gt": bdate(now)}},
                        doc! {"$set": {"current": &next.0, "rotated_at": bdate(now)}, "$push": {"previous": &presented.0}},
                    )
                    .return_document(ReturnDocument::After),
            )
            .await
            .map_err(unavailable)?;
        if let Some(d) = rotated {
            let s = Session::try_from(d).map_err(unavailable)?;
            return Ok(Rotation::Rotated {
                user_id: s.user_id,
                family: s.family,
            });
        }
        let Some(d) = self
            .bounded(self.sessions.find_one(doc! {"previous": &presented.0}))
            .await
            .map_err(unavailable)?
        else {
            return Ok(Rotation::Invalid);
        };
        let s = Session::try_from(d).map_err(unavailable)?;
        if s.revoked || s.expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        let repeat = &s.current == next
            && s.previous.last() == Some(presented)
            && s.rotated_at.is_some_and(|at| {
                now <= at + chrono::Duration::from_std(grace).unwrap_or_default()
            });
        if repeat {
            return Ok(Rotation::Repeated {
                user_id: s.user_id,
                family: s.family,
            });
        }
        self.bounded(self.sessions.update_one(
            doc! {"_id": s.family.0.to_string()},
            doc! {"$set": {"revoked": true}},
        ))
        .await
        .map_err(unavailable)?;
        Ok(Rotation::Reused { family: s.family })
    }

    async fn revoke(&self, token: &RefreshTokenHash) -> Result<bool, SessionRepoError> {
        let r = self
            .bounded(self.sessions.update_one(
                doc! {"$or": [{"current": &token.0}, {"previous": &token.0}]},
                doc! {"$set": {"revoked": true}},
            ))
            .await
            .map_err(unavailable)?;
        Ok(r.matched_count > 0)
    }
}
