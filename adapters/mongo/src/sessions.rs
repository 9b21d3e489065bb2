use crate::docs::{bdate, SessionDoc};
use crate::MongoStore;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::doc;
use mongodb::options::ReturnDocument;
use orderflow_core::domain::{RefreshTokenHash, Revocation, Session, SessionFamilyId, UserId};
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
        if s.revoked() || s.expires_at <= now {
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
            doc! {"_id": s.family.0.to_string(), "revoked": false},
            doc! {"$set": {"revoked": true, "revoked_at": bdate(now)}},
        ))
        .await
        .map_err(unavailable)?;
        Ok(Rotation::Reused { family: s.family })
    }

    async fn revoke(
        &self,
        token: &RefreshTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionFamilyId>, SessionRepoError> {
        let Some(d) = self
            .bounded(
                self.sessions
                    .find_one(doc! {"$or": [{"current": &token.0}, {"previous": &token.0}]}),
            )
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let s = Session::try_from(d).map_err(unavailable)?;
        // Only the first revocation stamps the time.
        self.bounded(self.sessions.update_one(
            doc! {"_id": s.family.0.to_string(), "revoked": false},
            doc! {"$set": {"revoked": true, "revoked_at": bdate(now)}},
        ))
        .await
        .map_err(unavailable)?;
        Ok(Some(s.family))
    }

    async fn revoke_user(
        &self,
        user: UserId,
        keep: Option<SessionFamilyId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionFamilyId>, SessionRepoError> {
        let mut live = doc! {"user_id": user.to_string(), "revoked": false};
        if let Some(k) = keep {
            live.insert("_id", doc! {"$ne": k.0.to_string()});
        }
        let ids: Vec<String> = self
            .bounded(async {
                self.sessions
                    .clone_with_type::<mongodb::bson::Document>()
                    .find(live.clone())
                    .projection(doc! {"_id": 1})
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_owned))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The same filter again: a family revoked meanwhile keeps its first time.
        let mut filter = live;
        filter.insert("_id", doc! {"$in": &ids});
        self.bounded(self.sessions.update_many(
            filter,
            doc! {"$set": {"revoked": true, "revoked_at": bdate(now)}},
        ))
        .await
        .map_err(unavailable)?;
        Ok(ids
            .iter()
            .filter_map(|id| uuid::Uuid::parse_str(id).ok().map(SessionFamilyId))
            .collect())
    }

    async fn revoked_since(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Revocation>, SessionRepoError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let docs: Vec<SessionDoc> = self
            .bounded(async {
                self.sessions
                    .find(doc! {"revoked_at": {"$gte": bdate(since)}})
                    .sort(doc! {"revoked_at": 1})
                    .limit(limit)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await
            .map_err(unavailable)?;
        docs.into_iter()
            .map(|d| {
                let s = Session::try_from(d).map_err(unavailable)?;
                Ok(Revocation {
                    family: s.family,
                    at: s.revoked_at.unwrap_or(since),
                })
            })
            .collect()
    }
}
