use crate::docs::bdate;
use crate::errors::is_duplicate;
use crate::MongoStore;
use chrono::{DateTime, Utc};
use mongodb::bson::doc;
use orderflow_core::ports::{lease_until, LeaseError, Leases};
use std::time::Duration;

/// One document per lease in `leases`: `{_id: name, holder, until}`.
///
/// `acquire` is one upsert whose filter matches only a lease the caller may take (its
/// own, or lapsed). A lease someone else holds does not match, so the upsert tries to
/// insert a second document with the same `_id` and the server refuses it (11000):
/// that refusal is the "no". The single-document write is atomic, so of two racing
/// callers one updates or inserts and the other gets the duplicate key.
#[async_trait::async_trait]
impl Leases for MongoStore {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, LeaseError> {
        let until = lease_until(now, ttl);
        let write = self
            .leases
            .update_one(
                doc! {"_id": name, "$or": [{"holder": holder}, {"until": {"$lte": bdate(now)}}]},
                doc! {"$set": {"holder": holder, "until": bdate(until)}},
            )
            .upsert(true);
        let attempt = async {
            match write.await {
                Ok(_) => Ok(true),
                Err(e) if is_duplicate(&e) => Ok(false),
                Err(e) => Err(e),
            }
        };
        self.bounded(attempt).await.map_err(LeaseError::Unavailable)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), LeaseError> {
        self.bounded(self.leases.delete_one(doc! {"_id": name, "holder": holder}))
            .await
            .map(|_| ())
            .map_err(LeaseError::Unavailable)
    }
}
