//! A worker killed inside its settlement transaction leaves the transaction open, and
//! its writes hold the products it was taking until the server reaps it
//! (`transactionLifetimeLimitSeconds`, a minute by default on mongod and on the
//! stand-in): every other settlement of those products meets a write conflict meanwhile.
//! So each settlement records its session before it starts, with the time by which it
//! will have ended (`HOLD` after), and removes the record when it has; a settlement
//! whose conflicts outlast a second kills the sessions whose records are past their
//! time (`killSessions` aborts their transactions), so a dead worker holds its products
//! `HOLD` at most. A live transaction past its time (none takes seconds) is aborted the
//! same way, and its worker tries again.

use crate::docs::bdate;
use crate::MongoStore;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use orderflow_core::BoxError;
use std::time::Duration;

/// How long after its record a settlement is presumed dead: two operation timeouts
/// (a try is three or four commands, each far quicker than one).
pub(crate) fn hold(store: &MongoStore) -> Duration {
    store.op_timeout.saturating_mul(2)
}

/// Conflicts that last this long are worth looking for a dead holder.
pub(crate) const STALLED: Duration = Duration::from_secs(1);

impl MongoStore {
    /// Records that the session `lsid` may hold products in a transaction until
    /// `until`: what every settlement does before its transaction (public so that a
    /// test can stand in for a worker that dies holding one).
    pub async fn record_settlement_session(
        &self,
        lsid: &Document,
        until: DateTime<Utc>,
    ) -> Result<(), BoxError> {
        self.bounded(
            self.settling
                .update_one(
                    doc! {"_id": lsid.clone()},
                    doc! {"$set": {"until": bdate(until)}},
                )
                .upsert(true),
        )
        .await
        .map(|_| ())
    }

    /// The settlement of `lsid` has ended (committed or not).
    pub(crate) async fn forget_settlement_session(&self, lsid: &Document) {
        if let Err(e) = self
            .bounded(self.settling.delete_one(doc! {"_id": lsid.clone()}))
            .await
        {
            // Left behind, it is reaped once past its time, which kills nothing live.
            tracing::debug!(error = %e, "could not remove a settlement's session record");
        }
    }

    /// Aborts the transactions of the settlements whose records are past their time:
    /// their workers died (or stalled) holding products others wait for.
    pub(crate) async fn reap_dead_settlements(
        &self,
        now: DateTime<Utc>,
    ) -> Result<usize, BoxError> {
        let stale = doc! {"until": {"$lt": bdate(now)}};
        let records: Vec<Document> = self
            .bounded(async {
                self.settling
                    .find(stale.clone())
                    .limit(100)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        let sessions: Vec<Bson> = records
            .iter()
            .filter_map(|r| r.get_document("_id").ok().cloned().map(Bson::Document))
            .collect();
        if sessions.is_empty() {
            return Ok(0);
        }
        self.bounded(
            self.client
                .database("admin")
                .run_command(doc! {"killSessions": sessions.clone()}),
        )
        .await?;
        self.bounded(
            self.settling
                .delete_many(doc! {"_id": {"$in": sessions.clone()}, "until": {"$lt": bdate(now)}}),
        )
        .await?;
        tracing::warn!(
            sessions = sessions.len(),
            "aborted settlement transactions held past their time (a worker died holding them)"
        );
        Ok(sessions.len())
    }
}
