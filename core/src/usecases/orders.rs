use super::products::ProductSnapshots;
use crate::domain::{
    IdempotencyKey, NewOrderLine, Order, OrderCursor, OrderId, OrderPage, OrderSearch, OrderStatus,
    Origin, ParseError, Quantity, Role, Sku, UserId, MAX_ORDER_LINES,
};
use crate::ports::{Clock, Handoff, InventoryError, OrderChanges, OrderRepoError, Orders};
use crate::BoxError;
use std::collections::HashSet;
use std::sync::Arc;
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

    /// The same rule for a copy of an order that carries only its owner's id.
    pub fn may_see_owned_by(&self, owner: UserId) -> bool {
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

/// Placing, reading, listing and cancelling orders.
pub struct OrderService {
    pub orders: Arc<dyn Orders>,
    pub handoff: Arc<dyn Handoff>,
    pub products: Arc<ProductSnapshots>,
    pub clock: Arc<dyn Clock>,
    /// Told when `cancel` may have changed an order.
    pub changes: Arc<dyn OrderChanges>,
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

    /// One order, if the actor may see it (else `NotFound`, as for an unknown id).
    #[instrument(skip_all, fields(user_id = %actor.user_id, order_id = %id))]
    pub async fn get(&self, actor: Actor, id: OrderId) -> Result<Order, GetOrderError> {
        self.orders
            .get(id)
            .await
            .map_err(|e| GetOrderError::Unavailable(boxed(e)))?
            .filter(|o| actor.may_see(o))
            .ok_or(GetOrderError::NotFound)
    }

    #[instrument(skip_all, fields(user_id = %actor.user_id))]
    pub async fn list(
        &self,
        actor: Actor,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<OrderPage, ListOrdersError> {
        let cursor = Self::page(limit, cursor)?;
        self.orders
            .list_for_user(actor.user_id, limit, cursor)
            .await
            .map_err(|e| ListOrdersError::Unavailable(boxed(e)))
    }

    /// Every customer's orders that pass `filter`, newest first, with the customer
    /// list's paging (the admin order desk; the caller checks the role).
    #[instrument(skip_all)]
    pub async fn search(
        &self,
        filter: &OrderSearch,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<OrderPage, ListOrdersError> {
        let cursor = Self::page(limit, cursor)?;
        self.orders
            .search(filter, limit, cursor)
            .await
            .map_err(|e| ListOrdersError::Unavailable(boxed(e)))
    }

    /// Checks a page request: the limit's range and the cursor's form.
    fn page(limit: usize, cursor: Option<&str>) -> Result<Option<OrderCursor>, ParseError> {
        if !(1..=Self::MAX_PAGE).contains(&limit) {
            return Err(ParseError::new(
                "limit",
                format!("must be from 1 to {}", Self::MAX_PAGE),
            ));
        }
        cursor.map(OrderCursor::decode).transpose()
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
        // The customer did not do it themselves: they are owed an email about it.
        let by_admin =
            actor.role == Role::Admin && order.as_ref().is_some_and(|o| o.user_id != actor.user_id);
        let reason = if by_admin {
            "cancelled by an administrator"
        } else {
            "cancelled by the customer"
        };
        let result = self
            .orders
            .cancel(id, self.clock.now(), Some(reason.to_owned()), by_admin)
            .await;
        // Whatever the answer: a refused cancel may have met an order the worker had
        // just settled, whose copies are stale too.
        self.changes.changed(id).await;
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
