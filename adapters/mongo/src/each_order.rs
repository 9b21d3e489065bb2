//! Writes to many orders as one single-document statement per order.

use crate::store::MongoStore;
use mongodb::bson::{doc, Bson, Document};
use orderflow_core::BoxError;

/// Statements per `update` command, and ids read per round by `order_ids`.
pub(crate) const PER_COMMAND: usize = 500;

impl MongoStore {
    /// Applies `update` to each order of `ids` that still matches `filter`, as one
    /// single-document statement per order, sent `PER_COMMAND` to an `update` command;
    /// how many orders it changed.
    ///
    /// Not `update_many`: these writes meet settlements, which write their order inside
    /// a transaction. A single-document statement that meets one waits for that order
    /// alone; a multi-document update may hold the whole collection meanwhile (secantusdb
    /// does), which queues every other settlement behind it and can deadlock with the
    /// one it waits for (`never_holds_up_a_settlement` in contracts_mongo.rs).
    pub(crate) async fn update_each_order(
        &self,
        ids: &[String],
        filter: &Document,
        update: &Document,
    ) -> Result<u64, BoxError> {
        let mut changed = 0;
        for chunk in ids.chunks(PER_COMMAND) {
            let statements: Vec<Document> = chunk
                .iter()
                .map(|id| {
                    // The id first: MongoDB plans from the whole predicate, but
                    // secantusdb picks its index by the first field, and any other
                    // first field (`status`, `hooks_owed`) has it scan every order
                    // that field matches for each statement.
                    let mut q = doc! {"_id": id};
                    q.extend(filter.clone());
                    doc! {"q": q, "u": update.clone(), "multi": false}
                })
                .collect();
            let reply = self
                .run_update(self.orders.name(), statements, false)
                .await?;
            changed += count(&reply, "nModified");
        }
        Ok(changed)
    }

    /// One `update` command of single-document statements, outside any transaction;
    /// how many documents they matched. A statement that failed fails the call.
    pub(crate) async fn update_statements(
        &self,
        collection: &str,
        statements: Vec<Document>,
    ) -> Result<usize, BoxError> {
        let reply = self.run_update(collection, statements, true).await?;
        Ok(usize::try_from(count(&reply, "n")).unwrap_or(usize::MAX))
    }

    async fn run_update(
        &self,
        collection: &str,
        statements: Vec<Document>,
        ordered: bool,
    ) -> Result<Document, BoxError> {
        let mut command = doc! {
            "update": collection,
            "updates": statements,
            "ordered": ordered,
            // The server gives up when this call does: a statement waiting for a
            // dead worker's transaction (held until the server reaps it, a minute)
            // would otherwise go on waiting, and apply, after its caller was told
            // it failed, and each retry of the call would leave one more waiting.
            "maxTimeMS": i64::try_from(self.op_timeout.as_millis()).unwrap_or(i64::MAX),
        };
        // `run_command` does not add the client's write concern as `update_many` does.
        if let Some(wc) = self.db.write_concern() {
            command.insert("writeConcern", mongodb::bson::to_document(wc)?);
        }
        let reply = self.bounded(self.db.run_command(command)).await?;
        if let Some(e) = reply.get_array("writeErrors").ok().and_then(|e| e.first()) {
            return Err(format!("an update statement failed: {e}").into());
        }
        if let Ok(e) = reply.get_document("writeConcernError") {
            return Err(format!("write concern not met: {e}").into());
        }
        Ok(reply)
    }

    /// Finds the orders matching `filter` and applies `update` to each that still
    /// matches, `PER_COMMAND` at a time; how many it changed. `update` takes an order
    /// out of `filter`'s matches, so the rounds end once one finds fewer than
    /// `PER_COMMAND` orders (or changes none, should the caller's update not).
    pub(crate) async fn update_matching_orders(
        &self,
        filter: &Document,
        update: &Document,
    ) -> Result<u64, BoxError> {
        let mut changed = 0;
        loop {
            let ids = self.order_ids(filter).await?;
            let now = self.update_each_order(&ids, filter, update).await?;
            changed += now;
            if ids.len() < PER_COMMAND || now == 0 {
                return Ok(changed);
            }
        }
    }

    /// The ids of up to `PER_COMMAND` orders matching `filter`.
    async fn order_ids(&self, filter: &Document) -> Result<Vec<String>, BoxError> {
        use futures::TryStreamExt;
        let docs: Vec<Document> = self
            .bounded(async {
                self.orders
                    .clone_with_type::<Document>()
                    .find(filter.clone())
                    .projection(doc! {"_id": 1})
                    .limit(PER_COMMAND as i64)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        Ok(docs
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_owned))
            .collect())
    }
}

/// A count from an `update` reply (`n` matched, `nModified` changed).
fn count(reply: &Document, field: &str) -> u64 {
    match reply.get(field) {
        Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
        Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    }
}
