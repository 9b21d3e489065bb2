//! Webhook endpoints (`webhooks`), their lanes (`webhook_lanes`: one document per
//! endpoint and order, its queue of events in order) and the delivery log
//! (`webhook_attempts`, kept for `ATTEMPTS_KEPT` by a TTL index).

use crate::docs::{bdate, cdate};
use crate::errors::is_duplicate;
use crate::MongoStore;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime as BsonDate, Document};
use mongodb::options::ReturnDocument;
use orderflow_core::domain::{
    AttemptId, DeliveryAttempt, EventFilter, EventKind, Order, OrderId, SigningSecret, Webhook,
    WebhookEventId, WebhookId, WebhookSecret, WebhookUrl,
};
use orderflow_core::ports::{
    HandedOut, Lane, OwedEvents, WebhookDeliveries, WebhookEndpoints, WebhookRepoError,
};
use orderflow_core::BoxError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the delivery log keeps a try.
pub(crate) const ATTEMPTS_KEPT: Duration = Duration::from_secs(30 * 24 * 3600);

fn unavailable(e: impl Into<BoxError>) -> WebhookRepoError {
    WebhookRepoError::Unavailable(e.into())
}

fn duplicate(e: &BoxError) -> bool {
    e.downcast_ref::<mongodb::error::Error>()
        .is_some_and(is_duplicate)
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WebhookDoc {
    #[serde(rename = "_id")]
    id: String,
    url: String,
    events: Vec<String>,
    secrets: Vec<SecretDoc>,
    created_at: BsonDate,
}

#[derive(Debug, Serialize, Deserialize)]
struct SecretDoc {
    /// `whsec_…`: the key itself, as receivers hold it (signing needs it, so it cannot
    /// be hashed).
    secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retires_at: Option<BsonDate>,
}

impl From<&Webhook> for WebhookDoc {
    fn from(h: &Webhook) -> Self {
        Self {
            id: h.id.to_string(),
            url: h.url.as_str().to_owned(),
            events: h.events.names(),
            secrets: secret_docs(h),
            created_at: bdate(h.created_at),
        }
    }
}

fn secret_docs(h: &Webhook) -> Vec<SecretDoc> {
    h.secrets
        .iter()
        .map(|s| SecretDoc {
            secret: s.secret.expose(),
            retires_at: s.retires_at.map(bdate),
        })
        .collect()
}

impl TryFrom<WebhookDoc> for Webhook {
    type Error = WebhookRepoError;
    fn try_from(d: WebhookDoc) -> Result<Self, WebhookRepoError> {
        let bad = |what: &str| unavailable(format!("webhooks: bad {what} in {}", d.id));
        let secrets = d
            .secrets
            .iter()
            .map(|s| {
                Ok(SigningSecret {
                    secret: WebhookSecret::parse(&s.secret).map_err(|_| bad("secret"))?,
                    retires_at: s.retires_at.map(cdate),
                })
            })
            .collect::<Result<Vec<_>, WebhookRepoError>>()?;
        Ok(Webhook {
            id: WebhookId::parse(&d.id).ok_or_else(|| bad("id"))?,
            url: WebhookUrl::parse(&d.url).map_err(|_| bad("url"))?,
            events: EventFilter::parse(&d.events).map_err(|_| bad("events"))?,
            secrets,
            created_at: cdate(d.created_at),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AttemptDoc {
    #[serde(rename = "_id")]
    id: String,
    webhook: String,
    event: String,
    kind: String,
    attempt: i64,
    #[serde(default)]
    status_code: Option<i32>,
    #[serde(default)]
    error: Option<String>,
    at: BsonDate,
}

impl TryFrom<AttemptDoc> for DeliveryAttempt {
    type Error = WebhookRepoError;
    fn try_from(d: AttemptDoc) -> Result<Self, WebhookRepoError> {
        let bad = |what: &str| unavailable(format!("webhook_attempts: bad {what} in {}", d.id));
        Ok(DeliveryAttempt {
            id: AttemptId::parse(&d.id).ok_or_else(|| bad("id"))?,
            webhook: WebhookId::parse(&d.webhook).ok_or_else(|| bad("webhook"))?,
            event: WebhookEventId::parse(&d.event).ok_or_else(|| bad("event"))?,
            kind: EventKind::parse(&d.kind).ok_or_else(|| bad("kind"))?,
            attempt: u32::try_from(d.attempt).unwrap_or(u32::MAX),
            status_code: d.status_code.and_then(|c| u16::try_from(c).ok()),
            error: d.error,
            at: cdate(d.at),
        })
    }
}

fn lane_id(hook: WebhookId, order: OrderId) -> String {
    format!("{hook}:{order}")
}

/// A claim time that is always lapsed: an unclaimed lane.
fn unclaimed() -> BsonDate {
    BsonDate::from_millis(0)
}

#[async_trait::async_trait]
impl WebhookEndpoints for MongoStore {
    async fn add_webhook(&self, hook: &Webhook) -> Result<(), WebhookRepoError> {
        self.bounded(self.webhooks.insert_one(WebhookDoc::from(hook)))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>, WebhookRepoError> {
        let docs: Vec<WebhookDoc> = self
            .bounded(async {
                self.webhooks
                    .find(doc! {})
                    .sort(doc! {"created_at": 1, "_id": 1})
                    .await?
                    .try_collect()
                    .await
            })
            .await
            .map_err(unavailable)?;
        docs.into_iter().map(Webhook::try_from).collect()
    }

    async fn webhook(&self, id: WebhookId) -> Result<Option<Webhook>, WebhookRepoError> {
        self.bounded(self.webhooks.find_one(doc! {"_id": id.to_string()}))
            .await
            .map_err(unavailable)?
            .map(Webhook::try_from)
            .transpose()
    }

    async fn remove_webhook(&self, id: WebhookId) -> Result<bool, WebhookRepoError> {
        let id = id.to_string();
        let r = self
            .bounded(self.webhooks.delete_one(doc! {"_id": &id}))
            .await
            .map_err(unavailable)?;
        // After the endpoint: a lane queued in between has no endpoint to send to and
        // is dropped by its sender.
        self.bounded(self.webhook_lanes.delete_many(doc! {"webhook": &id}))
            .await
            .map_err(unavailable)?;
        self.bounded(self.webhook_attempts.delete_many(doc! {"webhook": &id}))
            .await
            .map_err(unavailable)?;
        Ok(r.deleted_count == 1)
    }

    async fn replace_secrets(&self, hook: &Webhook) -> Result<bool, WebhookRepoError> {
        let secrets = mongodb::bson::to_bson(&secret_docs(hook)).map_err(unavailable)?;
        let r = self
            .bounded(self.webhooks.update_one(
                doc! {"_id": hook.id.to_string()},
                doc! {"$set": {"secrets": secrets}},
            ))
            .await
            .map_err(unavailable)?;
        Ok(r.matched_count == 1)
    }
}

impl MongoStore {
    /// Queues `event` on its lane; unless `again`, not when the lane holds it already.
    async fn push_event(
        &self,
        hook: WebhookId,
        event: WebhookEventId,
        now: DateTime<Utc>,
        again: bool,
    ) -> Result<(), WebhookRepoError> {
        let id = lane_id(hook, event.order);
        let event_text = event.to_string();
        let mut filter = doc! {"_id": &id};
        if !again {
            filter.insert("queue.event", doc! {"$ne": &event_text});
        }
        let entry = doc! {"event": &event_text, "since": bdate(now), "failures": 0_i64};
        let update = doc! {
            "$push": {"queue": entry},
            "$setOnInsert": {
                "webhook": hook.to_string(),
                "order_id": event.order.to_string(),
                "due_at": bdate(now),
                "claimed_until": unclaimed(),
            },
        };
        match self
            .bounded(self.webhook_lanes.update_one(filter, update).upsert(true))
            .await
        {
            Ok(_) => Ok(()),
            // The lane exists and holds the event already.
            Err(e) if !again && duplicate(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The filter that matches `lane` only while its claim holds and its head is the
    /// claimed event.
    fn held(lane: &Lane) -> Document {
        doc! {
            "_id": lane_id(lane.webhook, lane.order),
            "claimed_until": bdate(lane.claimed_until),
            "queue.0.event": lane.event.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl WebhookDeliveries for MongoStore {
    async fn owed_events(&self, limit: usize) -> Result<Vec<OwedEvents>, WebhookRepoError> {
        let docs: Vec<crate::docs::OrderDoc> = self
            .bounded(async {
                self.orders
                    .find(doc! {"hooks_owed": true})
                    .sort(doc! {"hooks_owed": 1, "_id": 1})
                    .limit(i64::try_from(limit).unwrap_or(i64::MAX))
                    .await?
                    .try_collect()
                    .await
            })
            .await
            .map_err(unavailable)?;
        docs.into_iter()
            .map(|d| {
                let fanned = usize::try_from(d.hooks_fanned.unwrap_or(0)).unwrap_or(0);
                let order = Order::try_from(d).map_err(unavailable)?;
                Ok(OwedEvents { order, fanned })
            })
            .collect()
    }

    async fn fan_out(
        &self,
        queue: &[(WebhookId, WebhookEventId)],
        handed: &[HandedOut],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError> {
        for (hook, event) in queue {
            self.push_event(*hook, *event, now, false).await?;
        }
        // One update per shape (a batch is mostly new orders and settled ones).
        let mut groups: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
        for h in handed {
            groups
                .entry((h.fanned, h.upto))
                .or_default()
                .push(h.order.to_string());
        }
        for ((fanned, upto), ids) in groups {
            let was = i64::try_from(fanned).unwrap_or(i64::MAX);
            let fanned_filter = if was == 0 {
                Bson::Document(doc! {"$in": [0_i64, Bson::Null]})
            } else {
                Bson::Int64(was)
            };
            let upto_i = i64::try_from(upto).unwrap_or(i64::MAX);
            self.update_each_order(
                &ids,
                &doc! {
                    "hooks_owed": true,
                    "hooks_fanned": fanned_filter,
                    "history": {"$size": upto_i},
                },
                &doc! {
                    "$set": {"hooks_fanned": upto_i},
                    "$unset": {"hooks_owed": "", "hooks_owed_final": ""},
                },
            )
            .await
            .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn forget_owed(&self, before: DateTime<Utc>) -> Result<usize, WebhookRepoError> {
        let forgotten = self
            .update_matching_orders(
                &doc! {"hooks_owed_final": true, "updated_at": {"$lte": bdate(before)}},
                &doc! {"$unset": {"hooks_owed": "", "hooks_owed_final": ""}},
            )
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(forgotten).unwrap_or(usize::MAX))
    }

    async fn claim_lane(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        skip: &[WebhookId],
    ) -> Result<Option<Lane>, WebhookRepoError> {
        let skip: Vec<String> = skip.iter().map(ToString::to_string).collect();
        let claimed = self
            .bounded(
                self.webhook_lanes
                    .find_one_and_update(
                        doc! {
                            "due_at": {"$lte": bdate(now)},
                            "claimed_until": {"$lte": bdate(now)},
                            "queue.0": {"$exists": true},
                            "webhook": {"$nin": skip},
                        },
                        doc! {"$set": {"claimed_until": bdate(until)}},
                    )
                    .sort(doc! {"due_at": 1})
                    .return_document(ReturnDocument::After),
            )
            .await
            .map_err(unavailable)?;
        let Some(d) = claimed else {
            return Ok(None);
        };
        lane_from(&d, until).map(Some)
    }

    async fn finish_head(&self, lane: &Lane, now: DateTime<Utc>) -> Result<(), WebhookRepoError> {
        let r = self
            .bounded(self.webhook_lanes.update_one(
                Self::held(lane),
                doc! {
                    "$pop": {"queue": -1},
                    "$set": {"claimed_until": unclaimed(), "due_at": bdate(now)},
                },
            ))
            .await
            .map_err(unavailable)?;
        if r.modified_count == 1 {
            // An empty lane goes; an event queued since keeps it.
            self.bounded(self.webhook_lanes.delete_one(doc! {
                "_id": lane_id(lane.webhook, lane.order),
                "queue": {"$size": 0},
            }))
            .await
            .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn retry_head(
        &self,
        lane: &Lane,
        failures: u32,
        due_at: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError> {
        self.bounded(self.webhook_lanes.update_one(
            Self::held(lane),
            doc! {"$set": {
                "queue.0.failures": i64::from(failures),
                "due_at": bdate(due_at),
                "claimed_until": unclaimed(),
            }},
        ))
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn enqueue(
        &self,
        webhook: WebhookId,
        event: WebhookEventId,
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError> {
        self.push_event(webhook, event, now, true).await
    }

    async fn record_attempt(&self, a: &DeliveryAttempt) -> Result<(), WebhookRepoError> {
        let d = AttemptDoc {
            id: a.id.to_string(),
            webhook: a.webhook.to_string(),
            event: a.event.to_string(),
            kind: a.kind.as_str().to_owned(),
            attempt: i64::from(a.attempt),
            status_code: a.status_code.map(i32::from),
            error: a.error.clone(),
            at: bdate(a.at),
        };
        self.bounded(self.webhook_attempts.insert_one(d))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn attempts(
        &self,
        webhook: WebhookId,
        before: Option<AttemptId>,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, WebhookRepoError> {
        let mut filter = doc! {"webhook": webhook.to_string()};
        if let Some(b) = before {
            filter.insert("_id", doc! {"$lt": b.to_string()});
        }
        let docs: Vec<AttemptDoc> = self
            .bounded(async {
                self.webhook_attempts
                    .find(filter)
                    .sort(doc! {"webhook": 1, "_id": -1})
                    .limit(i64::try_from(limit).unwrap_or(i64::MAX))
                    .await?
                    .try_collect()
                    .await
            })
            .await
            .map_err(unavailable)?;
        docs.into_iter().map(DeliveryAttempt::try_from).collect()
    }
}

fn lane_from(d: &Document, until: DateTime<Utc>) -> Result<Lane, WebhookRepoError> {
    let bad = |what: &str| unavailable(format!("webhook_lanes: bad {what}"));
    let webhook = d
        .get_str("webhook")
        .ok()
        .and_then(WebhookId::parse)
        .ok_or_else(|| bad("webhook"))?;
    let order = d
        .get_str("order_id")
        .ok()
        .and_then(OrderId::parse)
        .ok_or_else(|| bad("order_id"))?;
    let head = d
        .get_array("queue")
        .ok()
        .and_then(|q| q.first())
        .and_then(Bson::as_document)
        .ok_or_else(|| bad("queue"))?;
    let event = head
        .get_str("event")
        .ok()
        .and_then(WebhookEventId::parse)
        .ok_or_else(|| bad("event"))?;
    let since = head.get_datetime("since").map_err(|_| bad("since"))?;
    let failures = match head.get("failures") {
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        _ => 0,
    };
    Ok(Lane {
        webhook,
        order,
        event,
        since: cdate(*since),
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        claimed_until: until,
    })
}
