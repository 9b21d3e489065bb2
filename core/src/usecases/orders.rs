use super::products::ProductSnapshots;
use crate::domain::{
    IdempotencyKey, NewOrderLine, Order, OrderCursor, OrderId, OrderPage, OrderStatus, Origin,
    ParseError, Quantity, Role, Sku, UserId, MAX_ORDER_LINES,
};
use crate::ports::{Cache, Clock, Handoff, InventoryError, OrderRepo, OrderRepoError};
use crate::BoxError;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tracing::instrument;

/// Who is asking: taken from a verified access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub role: Role,
}

impl Actor {
    /// Customers see their own orders; admins see all. Everything else is "not found",
    /// so ids of other people's orders reveal nothing.
    fn may_see(&self, order: &Order) -> bool {
        self.may_see_owned_by(order.user_id)
    }

    fn may_see_owned_by(&self, owner: UserId) -> bool {
        self.role == Role::Admin || owner == self.user_id
    }
}

/// A validated request to place an order.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub lines: Vec<NewOrderLine>,
    pub idempotency_key: Option<IdempotencyKey>,
    pub origin: Origin,
}

impl PlaceOrder {
    /// Parses raw `(sku, quantity)` pairs: 1..=50 lines, each SKU at most once.
    pub fn parse(
        items: Vec<(String, i64)>,
        idempotency_key: Option<&str>,
        origin: Origin,
    ) -> Result<Self, ParseError> {
        if items.is_empty() || items.len() > MAX_ORDER_LINES {
            return Err(ParseError::new(
                "items",
                format!("must contain 1 to {MAX_ORDER_LINES} items"),
            ));
        }
        let mut seen = HashSet::with_capacity(items.len());
        let mut lines = Vec::with_capacity(items.len());
        for (sku, quantity) in items {
            let sku = Sku::parse(&sku)?;
            if !seen.insert(sku.clone()) {
                return Err(ParseError::new(
                    "items",
                    format!("sku {sku} appears more than once"),
                ));
            }
            lines.push(NewOrderLine {
                sku,
                quantity: Quantity::from_i64(quantity)?,
            });
        }
        let idempotency_key = idempotency_key.map(IdempotencyKey::parse).transpose()?;
        Ok(Self {
            lines,
            idempotency_key,
            origin,
        })
    }
}

/// The outcome of a placement.
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: Order,
    /// True when an earlier order with the same idempotency key was returned instead.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("unknown sku: {}", join(.0))]
    UnknownSku(Vec<Sku>),
    #[error("not enough stock for: {}", join(.0))]
    InsufficientStock(Vec<Sku>),
    #[error("this idempotency key was used for a different order")]
    IdempotencyConflict,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

fn join(skus: &[Sku]) -> String {
    skus.iter().map(Sku::as_str).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, thiserror::Error)]
pub enum GetOrderError {
    #[error("no such order")]
    NotFound,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

#[derive(Debug, thiserror::Error)]
pub enum ListOrdersError {
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

#[derive(Debug, thiserror::Error)]
pub enum CancelOrderError {
    #[error("no such order")]
    NotFound,
    #[error("order is {}, only pending orders can be cancelled", .0.as_str())]
    InvalidState(OrderStatus),
    #[error("the order is being processed right now; retry shortly")]
    Busy,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

fn boxed<E: std::error::Error + Send + Sync + 'static>(e: E) -> BoxError {
    Box::new(e)
}

/// Whether a read was answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
}

#[derive(Debug, Clone)]
pub struct OrderSettings {
    /// How long a finished order stays cached. Finished orders never change, so this is
    /// only a memory bound.
    pub terminal_ttl: Duration,
    /// How long a pending order stays cached: short, because the worker may finish it
    /// at any moment and a reader must not see a stale status for long.
    pub pending_ttl: Duration,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self {
            terminal_ttl: Duration::from_secs(600),
            pending_ttl: Duration::from_secs(1),
        }
    }
}

/// The cache holds orders as rendered for readers; the name changed with the form, so
/// entries of the earlier form (the order itself) are never read as this one.
pub fn order_cache_key(id: OrderId) -> String {
    format!("order-view:{id}")
}

/// Renders an order as readers get it (the API's JSON body). The cache keeps this
/// form, so a hit is answered without decoding the order and encoding it again.
pub trait OrderRenderer: Send + Sync {
    fn render(&self, order: &Order) -> Result<Vec<u8>, BoxError>;
}

/// A cache entry: the rendered order followed by its owner's id, which decides who
/// may read it.
struct CachedOrder;

impl CachedOrder {
    const OWNER_LEN: usize = 16;

    fn entry(owner: UserId, mut rendered: Vec<u8>) -> Vec<u8> {
        rendered.extend_from_slice(owner.0.as_bytes());
        rendered
    }

    /// The owner and the rendered order; None for an entry too short to hold them.
    fn split(mut entry: Vec<u8>) -> Option<(UserId, Vec<u8>)> {
        let at = entry.len().checked_sub(Self::OWNER_LEN)?;
        let owner = uuid::Uuid::from_slice(&entry[at..]).ok()?;
        entry.truncate(at);
        Some((UserId(owner), entry))
    }
}

/// Placing, reading, listing and cancelling orders.
pub struct OrderService {
    pub orders: Arc<dyn OrderRepo>,
    pub handoff: Arc<dyn Handoff>,
    pub cache: Arc<dyn Cache>,
    pub products: Arc<ProductSnapshots>,
    pub clock: Arc<dyn Clock>,
    pub renderer: Arc<dyn OrderRenderer>,
    pub settings: OrderSettings,
}

impl OrderService {
    pub const MAX_PAGE: usize = 100;

    /// Records a pending order and hands it to the relay, which publishes it.
    ///
    /// One write (the order) and at most one store read (the products, when the cache
    /// has no fresh copy; see `ProductSnapshots`) on the normal path: the
    /// idempotency key is enforced by the store's unique index on insert, and looked up
    /// only when the insert or the stock check says no. The stock check here is a
    /// courtesy (a quick 409 for what is clearly gone); the worker's `fulfil` is the
    /// authority. Once the order is stored the answer is 202 whatever the queue's
    /// state: the order is its own outbox, and the relay sends it.
    #[instrument(skip_all, fields(user_id = %actor.user_id, order_id))]
    pub async fn place(&self, actor: Actor, req: PlaceOrder) -> Result<Placed, PlaceOrderError> {
        let skus: Vec<Sku> = req.lines.iter().map(|l| l.sku.clone()).collect();
        let products = self
            .products
            .get_many(&skus)
            .await
            .map_err(|e| PlaceOrderError::Unavailable(boxed(e)))?;
        let mut matched = Vec::with_capacity(req.lines.len());
        let (mut unknown, mut short) = (Vec::new(), Vec::new());
        for line in &req.lines {
            match products.iter().find(|p| p.sku == line.sku) {
                None => unknown.push(line.sku.clone()),
                Some(p) if p.stock < line.quantity.get() => short.push(line.sku.clone()),
                Some(p) => matched.push((line.clone(), p)),
            }
        }
        if !unknown.is_empty() || !short.is_empty() {
            // A retry of an order that was accepted earlier gets that order back even if
            // the stock has gone since (or the product was removed).
            if let Some(existing) = self.existing(actor, &req).await? {
                return replay(existing, &req);
            }
            if !unknown.is_empty() {
                return Err(PlaceOrderError::UnknownSku(unknown));
            }
            return Err(PlaceOrderError::InsufficientStock(short));
        }

        let order = Order::place(
            actor.user_id,
            &matched,
            req.idempotency_key.clone(),
            req.origin.clone(),
            self.clock.now(),
        )?;
        tracing::Span::current().record("order_id", tracing::field::display(order.id));
        match self.orders.insert(&order).await {
            Ok(()) => {}
            Err(OrderRepoError::DuplicateIdempotencyKey) => {
                // A retry, or a concurrent request with the same key that got there first.
                let existing = self.existing(actor, &req).await?.ok_or_else(|| {
                    PlaceOrderError::Unavailable(
                        "store reported a duplicate idempotency key but has no such order".into(),
                    )
                })?;
                return replay(existing, &req);
            }
            Err(e) => return Err(unavailable(e)),
        }
        self.handoff.offer(&order);
        tracing::info!(total_cents = order.total_cents, "order placed");
        Ok(Placed {
            order,
            replayed: false,
        })
    }

    /// The caller's earlier order with this request's idempotency key, if any.
    async fn existing(
        &self,
        actor: Actor,
        req: &PlaceOrder,
    ) -> Result<Option<Order>, PlaceOrderError> {
        let Some(key) = &req.idempotency_key else {
            return Ok(None);
        };
        self.orders
            .by_idempotency_key(actor.user_id, key)
            .await
            .map_err(unavailable)
    }

    /// One order, rendered by the `renderer`.
    #[instrument(skip_all, fields(user_id = %actor.user_id, order_id = %id))]
    pub async fn get(
        &self,
        actor: Actor,
        id: OrderId,
    ) -> Result<(Vec<u8>, CacheStatus), GetOrderError> {
        let key = order_cache_key(id);
        match self.cache.get(&key).await {
            Ok(Some(entry)) => match CachedOrder::split(entry) {
                Some((owner, rendered)) if actor.may_see_owned_by(owner) => {
                    return Ok((rendered, CacheStatus::Hit))
                }
                Some(_) => return Err(GetOrderError::NotFound),
                None => tracing::warn!("unreadable cache entry; reading the store"),
            },
            Ok(None) => {}
            Err(e) =>
            // The cache adapter logs outages itself, rate-limited.
            {
                tracing::debug!(error = %e, "cache read failed; reading the store")
            }
        }
        let order = self
            .orders
            .get(id)
            .await
            .map_err(|e| GetOrderError::Unavailable(boxed(e)))?
            .filter(|o| actor.may_see(o))
            .ok_or(GetOrderError::NotFound)?;
        let rendered = self
            .renderer
            .render(&order)
            .map_err(GetOrderError::Unavailable)?;
        self.cache_order(&order, &rendered).await;
        Ok((rendered, CacheStatus::Miss))
    }

    async fn cache_order(&self, order: &Order, rendered: &[u8]) {
        let ttl = if order.status.is_terminal() {
            self.settings.terminal_ttl
        } else {
            self.settings.pending_ttl
        };
        if ttl.is_zero() {
            return;
        }
        let entry = CachedOrder::entry(order.user_id, rendered.to_vec());
        if let Err(e) = self
            .cache
            .set(&order_cache_key(order.id), &entry, ttl)
            .await
        {
            tracing::debug!(error = %e, "cache write failed");
        }
    }

    #[instrument(skip_all, fields(user_id = %actor.user_id))]
    pub async fn list(
        &self,
        actor: Actor,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<OrderPage, ListOrdersError> {
        if !(1..=Self::MAX_PAGE).contains(&limit) {
            return Err(
                ParseError::new("limit", format!("must be from 1 to {}", Self::MAX_PAGE)).into(),
            );
        }
        let cursor = cursor.map(OrderCursor::decode).transpose()?;
        self.orders
            .list_for_user(actor.user_id, limit, cursor)
            .await
            .map_err(|e| ListOrdersError::Unavailable(boxed(e)))
    }

    /// Cancels a pending order. Races the worker through the store's conditional
    /// update: exactly one of them moves the order out of `pending`.
    #[instrument(skip_all, fields(user_id = %actor.user_id, order_id = %id))]
    pub async fn cancel(&self, actor: Actor, id: OrderId) -> Result<Order, CancelOrderError> {
        let order = self
            .orders
            .get(id)
            .await
            .map_err(|e| CancelOrderError::Unavailable(boxed(e)))?;
        if !order.as_ref().is_some_and(|o| actor.may_see(o)) {
            return Err(CancelOrderError::NotFound);
        }
        let reason = if actor.role == Role::Admin
            && order.as_ref().is_some_and(|o| o.user_id != actor.user_id)
        {
            "cancelled by an administrator"
        } else {
            "cancelled by the customer"
        };
        let result = self
            .orders
            .cancel(id, self.clock.now(), Some(reason.to_owned()))
            .await;
        if let Err(e) = self.cache.delete(&order_cache_key(id)).await {
            tracing::debug!(error = %e, "cache invalidation failed");
        }
        match result {
            Ok(order) => Ok(order),
            Err(OrderRepoError::InvalidState(s)) => Err(CancelOrderError::InvalidState(s)),
            Err(OrderRepoError::Busy) => Err(CancelOrderError::Busy),
            Err(OrderRepoError::NotFound) => Err(CancelOrderError::NotFound),
            Err(e) => Err(CancelOrderError::Unavailable(boxed(e))),
        }
    }
}

fn unavailable(e: OrderRepoError) -> PlaceOrderError {
    PlaceOrderError::Unavailable(boxed(e))
}

fn replay(existing: Order, req: &PlaceOrder) -> Result<Placed, PlaceOrderError> {
    if existing.request_fingerprint == Order::fingerprint(&req.lines) {
        Ok(Placed {
            order: existing,
            replayed: true,
        })
    } else {
        Err(PlaceOrderError::IdempotencyConflict)
    }
}

impl From<InventoryError> for PlaceOrderError {
    fn from(e: InventoryError) -> Self {
        PlaceOrderError::Unavailable(boxed(e))
    }
}
