use crate::docs::{bdate, cdate, HistoryDoc, OrderDoc, RefusalDoc};
use crate::errors::{is_duplicate, is_max_time_expired};
use crate::order_search::search_filter;
use crate::MongoStore;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;
use orderflow_core::domain::{
    IdempotencyKey, Order, OrderCursor, OrderId, OrderPage, OrderSearch, OrderStatus,
    PublishRefusal, StatusChange, UserId,
};
use orderflow_core::ports::{
    NotificationLedger, OrderRepoError, Orders, Outbox, OwedEmail, PendingOrders, SetAside,
    Unpublished,
};
use std::time::Duration;

fn unavailable(e: impl Into<orderflow_core::BoxError>) -> OrderRepoError {
    OrderRepoError::Unavailable(e.into())
}

fn to_orders(docs: Vec<OrderDoc>) -> Result<Vec<Order>, OrderRepoError> {
    docs.into_iter()
        .map(|d| Order::try_from(d).map_err(unavailable))
        .collect()
}

impl MongoStore {
    async fn find_orders(
        &self,
        filter: Document,
        sort: Document,
        limit: i64,
    ) -> Result<Vec<Order>, OrderRepoError> {
        to_orders(self.find_order_docs(filter, sort, limit).await?)
    }

    /// The order documents themselves, with the outbox's and the ledger's fields.
    async fn find_order_docs(
        &self,
        filter: Document,
        sort: Document,
        limit: i64,
    ) -> Result<Vec<OrderDoc>, OrderRepoError> {
        self.bounded(async {
            self.orders
                .find(filter)
                .sort(sort)
                .limit(limit)
                .await?
                .try_collect()
                .await
        })
        .await
        .map_err(unavailable)
    }
}

#[async_trait::async_trait]
impl Orders for MongoStore {
    async fn insert(&self, order: &Order) -> Result<(), OrderRepoError> {
        match tokio::time::timeout(
            self.op_timeout,
            self.orders.insert_one(OrderDoc::from(order)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if is_duplicate(&e) => Err(OrderRepoError::DuplicateIdempotencyKey),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(unavailable("mongodb insert timed out")),
        }
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, OrderRepoError> {
        let d = self
            .bounded(self.orders.find_one(doc! {"_id": id.to_string()}))
            .await
            .map_err(unavailable)?;
        d.map(Order::try_from).transpose().map_err(unavailable)
    }

    async fn by_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<Order>, OrderRepoError> {
        let d = self
            .bounded(
                self.orders
                    .find_one(doc! {"user_id": user.to_string(), "idempotency_key": key.as_str()}),
            )
            .await
            .map_err(unavailable)?;
        d.map(Order::try_from).transpose().map_err(unavailable)
    }

    async fn list_for_user(
        &self,
        user: UserId,
        limit: usize,
        cursor: Option<OrderCursor>,
    ) -> Result<OrderPage, OrderRepoError> {
        let mut filter = doc! {"user_id": user.to_string()};
        if let Some(c) = cursor {
            let at = bdate(c.created_at);
            filter.insert(
                "$or",
                vec![
                    doc! {"created_at": {"$lt": at}},
                    doc! {"created_at": at, "_id": {"$lt": c.id.to_string()}},
                ],
            );
        }
        let limit = limit.min(1000);
        let items = self
            .find_orders(filter, doc! {"created_at": -1, "_id": -1}, limit as i64 + 1)
            .await?;
        Ok(OrderPage::from_overfetch(items, limit))
    }

    async fn search(
        &self,
        filter: &OrderSearch,
        limit: usize,
        cursor: Option<OrderCursor>,
    ) -> Result<OrderPage, OrderRepoError> {
        let limit = limit.min(1000);
        let items = self
            .find_orders(
                search_filter(filter, cursor),
                doc! {"created_at": -1, "_id": -1},
                limit as i64 + 1,
            )
            .await?;
        Ok(OrderPage::from_overfetch(items, limit))
    }

    async fn cancel(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        reason: Option<String>,
        email_owed: bool,
    ) -> Result<Order, OrderRepoError> {
        let entry = HistoryDoc::from(&StatusChange {
            status: OrderStatus::Cancelled,
            at,
            reason,
        });
        let entry = mongodb::bson::to_document(&entry).map_err(unavailable)?;
        let updated = self
            .cancel_within_patience(id, at, entry, email_owed)
            .await?;
        match updated {
            Some(d) => Order::try_from(d).map_err(unavailable),
            None => match self.get(id).await? {
                Some(o) => Err(OrderRepoError::InvalidState(o.status)),
                None => Err(OrderRepoError::NotFound),
            },
        }
    }
}

#[async_trait::async_trait]
impl Outbox for MongoStore {
    async fn unpublished(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Unpublished>, OrderRepoError> {
        let docs = self
            .find_order_docs(
            doc! {
                "published": false,
                "created_at": {"$lt": bdate(created_before)},
                "$or": [
                    {"publish_refusal": null},
                    {"publish_refusal.set_aside": false, "publish_refusal.retry_at": {"$lte": bdate(now)}},
                ],
            },
            doc! {"created_at": 1, "_id": 1},
            limit.min(1000) as i64,
        )
        .await?;
        docs.into_iter()
            .map(|mut d| {
                let refusal = d.publish_refusal.take().map(PublishRefusal::from);
                let order = Order::try_from(d).map_err(unavailable)?;
                Ok(Unpublished { order, refusal })
            })
            .collect()
    }

    async fn mark_published(&self, ids: &[OrderId]) -> Result<(), OrderRepoError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.update_each_order(
            &ids,
            &doc! {},
            &doc! {"$set": {"published": true}, "$unset": {"publish_refusal": ""}},
        )
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn refuse_publication(
        &self,
        id: OrderId,
        refusal: &PublishRefusal,
    ) -> Result<(), OrderRepoError> {
        let refusal =
            mongodb::bson::to_document(&RefusalDoc::from(refusal)).map_err(unavailable)?;
        self.bounded(self.orders.update_one(
            doc! {"_id": id.to_string(), "published": false},
            doc! {"$set": {"publish_refusal": refusal}},
        ))
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn set_aside(&self, limit: usize) -> Result<Vec<SetAside>, OrderRepoError> {
        let docs = self
            .find_order_docs(
                doc! {"published": false, "publish_refusal.set_aside": true},
                doc! {"created_at": 1, "_id": 1},
                limit.min(1000) as i64,
            )
            .await?;
        docs.into_iter()
            .filter_map(|mut d| {
                // The filter matched on the refusal, so every document has one.
                let refusal = PublishRefusal::from(d.publish_refusal.take()?);
                Some(
                    Order::try_from(d)
                        .map_err(unavailable)
                        .map(|order| SetAside { order, refusal }),
                )
            })
            .collect()
    }

    async fn count_set_aside(&self, cap: usize) -> Result<usize, OrderRepoError> {
        // Answered from the partial index on unpublished orders.
        let n = self
            .bounded(
                self.orders
                    .count_documents(doc! {"published": false, "publish_refusal.set_aside": true})
                    .limit(cap as u64),
            )
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(n).unwrap_or(cap))
    }

    async fn retry_set_aside(&self, id: OrderId) -> Result<bool, OrderRepoError> {
        let r = self
            .bounded(self.orders.update_one(
                doc! {"_id": id.to_string(), "published": false, "publish_refusal.set_aside": true},
                doc! {"$unset": {"publish_refusal": ""}},
            ))
            .await
            .map_err(unavailable)?;
        if r.matched_count == 0 && self.get(id).await?.is_none() {
            return Err(OrderRepoError::NotFound);
        }
        Ok(r.matched_count == 1)
    }

    async fn count_unpublished(&self, cap: usize) -> Result<usize, OrderRepoError> {
        // Answered from the partial index on unpublished orders.
        let n = self
            .bounded(
                self.orders
                    .count_documents(doc! {"published": false})
                    .limit(cap as u64),
            )
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(n).unwrap_or(cap))
    }

    async fn stale_pending(
        &self,
        older_than: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError> {
        let cutoff = bdate(older_than);
        self.find_orders(
            doc! {
                "status": "pending",
                "published": true,
                "created_at": {"$lt": cutoff},
                "$or": [{"swept_at": null}, {"swept_at": {"$lt": cutoff}}],
            },
            doc! {"created_at": 1, "_id": 1},
            limit.min(1000) as i64,
        )
        .await
    }

    /// Both answered from the partial index on pending orders' `created_at`.
    async fn pending_orders(&self, cap: usize) -> Result<PendingOrders, OrderRepoError> {
        let pending = doc! {"status": "pending"};
        let count = self
            .bounded(
                self.orders
                    .count_documents(pending.clone())
                    .limit(cap as u64),
            )
            .await
            .map_err(unavailable)?;
        let oldest = self
            .bounded(
                self.orders
                    .clone_with_type::<Document>()
                    .find_one(pending)
                    .sort(doc! {"created_at": 1, "_id": 1})
                    .projection(doc! {"created_at": 1, "_id": 0}),
            )
            .await
            .map_err(unavailable)?
            .and_then(|d| d.get_datetime("created_at").ok().map(|t| cdate(*t)));
        Ok(PendingOrders {
            count: usize::try_from(count).unwrap_or(cap),
            oldest,
        })
    }

    async fn mark_swept(&self, ids: &[OrderId], at: DateTime<Utc>) -> Result<(), OrderRepoError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.update_each_order(&ids, &doc! {}, &doc! {"$set": {"swept_at": bdate(at)}})
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl NotificationLedger for MongoStore {
    async fn claim_notification(
        &self,
        id: OrderId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, OrderRepoError> {
        let r = self
            .bounded(self.orders.update_one(
                doc! {
                    "_id": id.to_string(),
                    "notified": false,
                    "$or": [{"notify_claimed_until": null}, {"notify_claimed_until": {"$lte": bdate(now)}}],
                },
                doc! {"$set": {"notify_claimed_until": bdate(until)}},
            ))
            .await
            .map_err(unavailable)?;
        if r.matched_count == 0 && self.get(id).await?.is_none() {
            return Err(OrderRepoError::NotFound);
        }
        Ok(r.matched_count == 1)
    }

    async fn finish_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        let r = self
            .bounded(self.orders.update_one(
                doc! {"_id": id.to_string()},
                doc! {"$set": {"notified": true, "notify_claimed_until": null}, "$unset": {"notify_due_at": ""}},
            ))
            .await
            .map_err(unavailable)?;
        if r.matched_count == 0 {
            return Err(OrderRepoError::NotFound);
        }
        Ok(())
    }

    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OwedEmail>, OrderRepoError> {
        // Answered from the partial index on owed notifications.
        let docs = self
            .find_order_docs(
                doc! {
                    "notify_due_at": {"$lte": bdate(now)},
                    "$or": [{"notify_claimed_until": null}, {"notify_claimed_until": {"$lte": bdate(now)}}],
                },
                doc! {"notify_due_at": 1, "_id": 1},
                limit.min(1000) as i64,
            )
            .await?;
        docs.into_iter()
            .filter_map(|d| {
                // The filter matched on the due time, so every document has one.
                let due_at = cdate(d.notify_due_at?);
                let failures = u32::try_from(d.notify_failures).unwrap_or(u32::MAX);
                Some(
                    Order::try_from(d)
                        .map_err(unavailable)
                        .map(|order| OwedEmail {
                            order,
                            due_at,
                            failures,
                        }),
                )
            })
            .collect()
    }

    async fn defer_notification(
        &self,
        id: OrderId,
        due_at: DateTime<Utc>,
        failures: u32,
    ) -> Result<(), OrderRepoError> {
        // A send that succeeded meanwhile, or a give-up, wins: nothing is owed any more.
        let r = self
            .bounded(self.orders.update_one(
                doc! {"_id": id.to_string(), "notify_due_at": {"$exists": true}},
                doc! {"$set": {
                    "notify_claimed_until": null,
                    "notify_due_at": bdate(due_at),
                    "notify_failures": i64::from(failures),
                }},
            ))
            .await
            .map_err(unavailable)?;
        if r.matched_count == 0 && self.get(id).await?.is_none() {
            return Err(OrderRepoError::NotFound);
        }
        Ok(())
    }

    async fn abandon_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        let r = self
            .bounded(self.orders.update_one(
                doc! {"_id": id.to_string()},
                doc! {"$set": {"notify_claimed_until": null}, "$unset": {"notify_due_at": ""}},
            ))
            .await
            .map_err(unavailable)?;
        if r.matched_count == 0 {
            return Err(OrderRepoError::NotFound);
        }
        Ok(())
    }

    async fn count_owed_notifications(&self, cap: usize) -> Result<usize, OrderRepoError> {
        let n = self
            .bounded(
                self.orders
                    .count_documents(doc! {"notify_due_at": {"$exists": true}})
                    .limit(cap as u64),
            )
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(n).unwrap_or(cap))
    }

    async fn count_failing_notifications(&self, cap: usize) -> Result<usize, OrderRepoError> {
        let n = self
            .bounded(
                self.orders
                    .count_documents(doc! {
                        "notify_due_at": {"$exists": true},
                        "notify_failures": {"$gt": 0},
                    })
                    .limit(cap as u64),
            )
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(n).unwrap_or(cap))
    }

    async fn make_due(&self, now: DateTime<Utc>) -> Result<usize, OrderRepoError> {
        let now = bdate(now);
        let moved = self
            .update_matching_orders(
                &doc! {"notify_due_at": {"$gt": now}},
                &doc! {"$set": {"notify_due_at": now}},
            )
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(moved).unwrap_or(usize::MAX))
    }

    async fn release_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        self.bounded(self.orders.update_one(
            doc! {"_id": id.to_string()},
            doc! {"$set": {"notify_claimed_until": null}},
        ))
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}

/// How long a cancel waits while a settlement holds the order. A live worker commits
/// within milliseconds; a killed one's transaction holds the order until the server
/// reaps it (a minute), which no request should wait out.
const CANCEL_PATIENCE: Duration = Duration::from_secs(1);

impl MongoStore {
    /// The conditional update, with a server-side time limit: a write to an order a
    /// settlement's transaction holds waits for its lock, and the limit makes the
    /// server give up (and not apply it later) so the cancel can answer `Busy`. Not a
    /// transaction: a single-document write is atomic on its own, and a cancel in a
    /// transaction is one more transaction for the relay's and the sweep's
    /// multi-order writes to meet (see `each_order.rs`).
    async fn cancel_within_patience(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        entry: Document,
        email_owed: bool,
    ) -> Result<Option<OrderDoc>, OrderRepoError> {
        let mut set = doc! {
            "status": "cancelled",
            "updated_at": bdate(at),
            "hooks_owed": true,
            "hooks_owed_final": true,
        };
        if email_owed {
            set.insert("notify_due_at", bdate(at));
        }
        let result = self
            .bounded(
                self.orders
                    .find_one_and_update(
                        doc! {"_id": id.to_string(), "status": "pending"},
                        doc! {"$set": set, "$push": {"history": entry}},
                    )
                    .return_document(ReturnDocument::After)
                    .max_time(CANCEL_PATIENCE),
            )
            .await;
        match result {
            Ok(doc) => Ok(doc),
            Err(e) => {
                let expired = e
                    .downcast_ref::<mongodb::error::Error>()
                    .is_some_and(is_max_time_expired);
                if expired {
                    Err(OrderRepoError::Busy)
                } else {
                    Err(unavailable(e))
                }
            }
        }
    }
}
