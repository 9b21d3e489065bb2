//! The order desk's search: the filter document and the indexes that answer it.

use crate::docs::bdate;
use mongodb::bson::{doc, Document};
use orderflow_core::domain::{OrderCursor, OrderSearch};

/// The indexes behind the order desk, by name: one per single filter, each ending in
/// the list order `(created_at, _id)` descending, so any one filter is answered from
/// an index and the rest are checked on the documents it yields. A user filter uses
/// the customer list's index (`user_id_1_created_at_-1__id_-1`).
pub(crate) const DESK_INDEXES: [(&str, &str); 3] = [
    ("desk_recent", ""),
    ("desk_status", "status"),
    ("desk_sku", "lines.sku"),
];

/// Keys of a desk index: its leading field (if any), then the list order.
pub(crate) fn desk_keys(leading: &str) -> Document {
    let mut keys = Document::new();
    if !leading.is_empty() {
        keys.insert(leading, 1);
    }
    keys.insert("created_at", -1);
    keys.insert("_id", -1);
    keys
}

/// The filter `OrderSearch::matches` describes, strictly after `cursor` in newest-first
/// order.
pub(crate) fn search_filter(filter: &OrderSearch, cursor: Option<OrderCursor>) -> Document {
    let mut f = Document::new();
    if let Some(s) = filter.status {
        f.insert("status", s.as_str());
    }
    if let Some(u) = filter.user_id {
        f.insert("user_id", u.to_string());
    }
    if let Some(sku) = &filter.sku {
        f.insert("lines.sku", sku.as_str());
    }
    let mut created = Document::new();
    if let Some(t) = filter.created_from {
        created.insert("$gte", bdate(t));
    }
    if let Some(t) = filter.created_to {
        created.insert("$lt", bdate(t));
    }
    if !created.is_empty() {
        f.insert("created_at", created);
    }
    if let Some(c) = cursor {
        let at = bdate(c.created_at);
        f.insert(
            "$or",
            vec![
                doc! {"created_at": {"$lt": at}},
                doc! {"created_at": at, "_id": {"$lt": c.id.to_string()}},
            ],
        );
    }
    f
}

impl crate::MongoStore {
    /// The indexes MongoDB's planner picks for a desk search, in its winning plan (none:
    /// a collection scan). The test of the desk's query plans asks this for every
    /// single filter; an operator can ask it of a live database.
    pub async fn search_plan_indexes(
        &self,
        filter: &OrderSearch,
    ) -> Result<Vec<String>, orderflow_core::BoxError> {
        let explain = doc! {
            "explain": {
                "find": self.orders.name(),
                "filter": search_filter(filter, None),
                "sort": {"created_at": -1, "_id": -1},
                "limit": 21,
            },
            "verbosity": "queryPlanner",
        };
        let answer = self.bounded(self.db.run_command(explain)).await?;
        let plan = answer
            .get_document("queryPlanner")
            .and_then(|p| p.get_document("winningPlan"))
            .map_err(|e| format!("explain answered without a winning plan: {e}"))?;
        let mut names = Vec::new();
        collect_index_names(plan, &mut names);
        Ok(names)
    }
}

/// Every `indexName` in a plan tree (`inputStage`, `inputStages`, and the like).
fn collect_index_names(stage: &Document, names: &mut Vec<String>) {
    for (key, value) in stage {
        match value {
            mongodb::bson::Bson::String(name) if key == "indexName" => names.push(name.clone()),
            mongodb::bson::Bson::Document(d) => collect_index_names(d, names),
            mongodb::bson::Bson::Array(items) => {
                for item in items {
                    if let mongodb::bson::Bson::Document(d) = item {
                        collect_index_names(d, names);
                    }
                }
            }
            _ => {}
        }
    }
}
