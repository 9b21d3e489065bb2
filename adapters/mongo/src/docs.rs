//! Stored shapes. Ids are UUID strings (they sort like the UUIDs), SKUs are product
//! `_id`s, times are BSON dates (milliseconds).

use crate::errors::Corrupt;
use chrono::{DateTime, Utc};
use mongodb::bson::DateTime as BsonDate;
use orderflow_core::domain::{
    Currency, Email, IdempotencyKey, Order, OrderId, OrderLine, OrderStatus, PasswordHash, Price,
    Product, ProductName, PublishRefusal, Quantity, RefreshTokenHash, Role, Session,
    SessionFamilyId, Sku, StatusChange, User, UserId,
};
use serde::{Deserialize, Serialize};

pub fn bdate(t: DateTime<Utc>) -> BsonDate {
    BsonDate::from_millis(t.timestamp_millis())
}

pub fn cdate(t: BsonDate) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or_default()
}

fn corrupt(collection: &'static str, reason: impl std::fmt::Display) -> Corrupt {
    Corrupt {
        collection,
        reason: reason.to_string(),
    }
}

fn parse_status(s: &str) -> Option<OrderStatus> {
    OrderStatus::parse(s).ok()
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: BsonDate,
}

impl From<&User> for UserDoc {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            password_hash: u.password_hash.0.clone(),
            role: u.role.as_str().into(),
            created_at: bdate(u.created_at),
        }
    }
}

impl TryFrom<UserDoc> for User {
    type Error = Corrupt;
    fn try_from(d: UserDoc) -> Result<Self, Corrupt> {
        Ok(User {
            id: UserId::parse(&d.id).ok_or_else(|| corrupt("users", "_id"))?,
            email: Email::parse(&d.email).map_err(|e| corrupt("users", e))?,
            password_hash: PasswordHash(d.password_hash),
            role: Role::parse(&d.role).ok_or_else(|| corrupt("users", "role"))?,
            created_at: cdate(d.created_at),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionDoc {
    #[serde(rename = "_id")]
    pub family: String,
    pub user_id: String,
    pub current: String,
    pub previous: Vec<String>,
    pub created_at: BsonDate,
    pub expires_at: BsonDate,
    /// Kept beside `revoked_at` for the filters that test it.
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<BsonDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<BsonDate>,
}

impl From<&Session> for SessionDoc {
    fn from(s: &Session) -> Self {
        Self {
            family: s.family.0.to_string(),
            user_id: s.user_id.to_string(),
            current: s.current.0.clone(),
            previous: s.previous.iter().map(|h| h.0.clone()).collect(),
            created_at: bdate(s.created_at),
            expires_at: bdate(s.expires_at),
            revoked: s.revoked(),
            revoked_at: s.revoked_at.map(bdate),
            rotated_at: s.rotated_at.map(bdate),
        }
    }
}

impl TryFrom<SessionDoc> for Session {
    type Error = Corrupt;
    fn try_from(d: SessionDoc) -> Result<Self, Corrupt> {
        Ok(Session {
            family: SessionFamilyId(
                uuid_parse(&d.family).ok_or_else(|| corrupt("sessions", "_id"))?,
            ),
            user_id: UserId::parse(&d.user_id).ok_or_else(|| corrupt("sessions", "user_id"))?,
            current: RefreshTokenHash(d.current),
            previous: d.previous.into_iter().map(RefreshTokenHash).collect(),
            created_at: cdate(d.created_at),
            expires_at: cdate(d.expires_at),
            // A family revoked before revocations were stamped: its access tokens are
            // long expired, so when does not matter.
            revoked_at: d
                .revoked_at
                .map(cdate)
                .or_else(|| d.revoked.then(|| cdate(d.created_at))),
            rotated_at: d.rotated_at.map(cdate),
        })
    }
}

fn uuid_parse(s: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(s).ok()
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProductDoc {
    #[serde(rename = "_id")]
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i64,
}

impl From<&Product> for ProductDoc {
    fn from(p: &Product) -> Self {
        Self {
            sku: p.sku.to_string(),
            name: p.name.as_str().into(),
            price_cents: p.price_cents.cents(),
            currency: p.currency.to_string(),
            stock: i64::from(p.stock),
        }
    }
}

impl TryFrom<ProductDoc> for Product {
    type Error = Corrupt;
    fn try_from(d: ProductDoc) -> Result<Self, Corrupt> {
        Ok(Product {
            sku: Sku::parse(&d.sku).map_err(|e| corrupt("products", e))?,
            name: ProductName::parse(&d.name).map_err(|e| corrupt("products", e))?,
            price_cents: Price::parse(d.price_cents).map_err(|e| corrupt("products", e))?,
            currency: Currency::parse(&d.currency).map_err(|e| corrupt("products", e))?,
            stock: u32::try_from(d.stock).map_err(|_| corrupt("products", "negative stock"))?,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LineDoc {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryDoc {
    pub status: String,
    pub at: BsonDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&StatusChange> for HistoryDoc {
    fn from(h: &StatusChange) -> Self {
        Self {
            status: h.status.as_str().into(),
            at: bdate(h.at),
            reason: h.reason.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OrderDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub lines: Vec<LineDoc>,
    pub total_cents: i64,
    pub currency: String,
    pub created_at: BsonDate,
    pub updated_at: BsonDate,
    pub history: Vec<HistoryDoc>,
    /// Absent (not null) without a key, so the partial unique index skips it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub request_fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    pub published: bool,
    pub notified: bool,
    /// Absent (not null) unless an email is owed, so the partial index skips the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_due_at: Option<BsonDate>,
    #[serde(default)]
    pub notify_failures: i64,
    #[serde(default)]
    pub notify_claimed_until: Option<BsonDate>,
    #[serde(default)]
    pub swept_at: Option<BsonDate>,
    /// Absent unless the queue refused the order's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_refusal: Option<RefusalDoc>,
    /// True while status changes are owed to the webhook endpoints (absent otherwise, so
    /// the partial index holds only those); set with every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks_owed: Option<bool>,
    /// How many status changes were handed to the endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks_fanned: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefusalDoc {
    pub count: i64,
    pub reason: String,
    pub at: BsonDate,
    pub retry_at: BsonDate,
    pub set_aside: bool,
}

impl From<&PublishRefusal> for RefusalDoc {
    fn from(r: &PublishRefusal) -> Self {
        Self {
            count: i64::from(r.count),
            reason: r.reason.clone(),
            at: bdate(r.at),
            retry_at: bdate(r.retry_at),
            set_aside: r.set_aside,
        }
    }
}

impl From<RefusalDoc> for PublishRefusal {
    fn from(d: RefusalDoc) -> Self {
        Self {
            count: u32::try_from(d.count).unwrap_or(u32::MAX),
            reason: d.reason,
            at: cdate(d.at),
            retry_at: cdate(d.retry_at),
            set_aside: d.set_aside,
        }
    }
}

impl From<&Order> for OrderDoc {
    fn from(o: &Order) -> Self {
        Self {
            id: o.id.to_string(),
            user_id: o.user_id.to_string(),
            status: o.status.as_str().into(),
            lines: o
                .lines
                .iter()
                .map(|l| LineDoc {
                    sku: l.sku.to_string(),
                    name: l.name.clone(),
                    quantity: i64::from(l.quantity.get()),
                    unit_price_cents: l.unit_price_cents.cents(),
                })
                .collect(),
            total_cents: o.total_cents,
            currency: o.currency.to_string(),
            created_at: bdate(o.created_at),
            updated_at: bdate(o.updated_at),
            history: o.history.iter().map(HistoryDoc::from).collect(),
            idempotency_key: o.idempotency_key.as_ref().map(|k| k.as_str().to_owned()),
            request_fingerprint: o.request_fingerprint.clone(),
            request_id: o.request_id.clone(),
            traceparent: o.traceparent.clone(),
            // The outbox's and the ledger's fields start empty: a new order is
            // unpublished and owes no email. They are written in place by `Outbox`'s and
            // `NotificationLedger`'s updates (and by the settlement), never from `Order`.
            published: false,
            notified: false,
            notify_due_at: None,
            notify_failures: 0,
            notify_claimed_until: None,
            swept_at: None,
            publish_refusal: None,
            // A new order owes its placement to the webhook endpoints.
            hooks_owed: Some(true),
            hooks_fanned: Some(0),
        }
    }
}

impl TryFrom<OrderDoc> for Order {
    type Error = Corrupt;
    fn try_from(d: OrderDoc) -> Result<Self, Corrupt> {
        let c = |r: &str| corrupt("orders", r.to_owned());
        Ok(Order {
            id: OrderId::parse(&d.id).ok_or_else(|| c("_id"))?,
            user_id: UserId::parse(&d.user_id).ok_or_else(|| c("user_id"))?,
            status: parse_status(&d.status).ok_or_else(|| c("status"))?,
            lines: d
                .lines
                .into_iter()
                .map(|l| {
                    Ok(OrderLine {
                        sku: Sku::parse(&l.sku).map_err(|e| corrupt("orders", e))?,
                        name: l.name,
                        quantity: Quantity::from_i64(l.quantity)
                            .map_err(|e| corrupt("orders", e))?,
                        unit_price_cents: Price::parse(l.unit_price_cents)
                            .map_err(|e| corrupt("orders", e))?,
                    })
                })
                .collect::<Result<_, Corrupt>>()?,
            total_cents: d.total_cents,
            currency: Currency::parse(&d.currency).map_err(|e| corrupt("orders", e))?,
            created_at: cdate(d.created_at),
            updated_at: cdate(d.updated_at),
            history: d
                .history
                .into_iter()
                .map(|h| {
                    Ok(StatusChange {
                        status: parse_status(&h.status).ok_or_else(|| c("history.status"))?,
                        at: cdate(h.at),
                        reason: h.reason,
                    })
                })
                .collect::<Result<_, Corrupt>>()?,
            idempotency_key: d
                .idempotency_key
                .map(|k| IdempotencyKey::parse(&k).map_err(|e| corrupt("orders", e)))
                .transpose()?,
            request_fingerprint: d.request_fingerprint,
            request_id: d.request_id,
            traceparent: d.traceparent,
        })
    }
}
