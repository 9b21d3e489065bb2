//! The cache of rendered orders around `OrderService::get`: a hit answers
//! `GET /api/orders/{id}` with the bytes the miss rendered, without decoding the order
//! or encoding it again (BENCHMARKS.md has what that is worth). The use case returns
//! the `Order`; rendering and caching it is this file's business alone.

use super::views::OrderView;
use async_trait::async_trait;
use orderflow_core::domain::{Order, OrderId, UserId};
use orderflow_core::ports::{Cache, OrderChanges};
use orderflow_core::usecases::{Actor, GetOrderError, OrderService};
use std::sync::Arc;
use std::time::Duration;

/// Whether a read was answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
}

/// The entry's name; it names the form too, so entries of an earlier form are never
/// read as this one.
pub fn order_cache_key(id: OrderId) -> String {
    format!("order-view:{id}")
}

/// An entry: the rendered order followed by its owner's id, which decides who may
/// read it.
struct Entry;

impl Entry {
    const OWNER_LEN: usize = 16;

    fn pack(owner: UserId, mut rendered: Vec<u8>) -> Vec<u8> {
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

/// `OrderService::get`, answered from the cache when it can.
pub struct CachedOrders {
    pub orders: Arc<OrderService>,
    pub cache: Arc<dyn Cache>,
    /// How long a finished order stays cached. Finished orders never change, so this is
    /// only a memory bound.
    pub terminal_ttl: Duration,
    /// How long a pending order stays cached: short, because the worker may finish it
    /// at any moment and a reader must not see a stale status for long.
    pub pending_ttl: Duration,
}

impl CachedOrders {
    /// The order as `GET /api/orders/{id}` answers it (JSON), and where it came from.
    pub async fn get(
        &self,
        actor: Actor,
        id: OrderId,
    ) -> Result<(Vec<u8>, CacheStatus), GetOrderError> {
        let key = order_cache_key(id);
        match self.cache.get(&key).await {
            Ok(Some(entry)) => match Entry::split(entry) {
                Some((owner, rendered)) if actor.may_see_owned_by(owner) => {
                    return Ok((rendered, CacheStatus::Hit))
                }
                Some(_) => return Err(GetOrderError::NotFound),
                None => tracing::warn!("unreadable cache entry; reading the store"),
            },
            Ok(None) => {}
            // The cache adapter logs outages itself, rate-limited.
            Err(e) => tracing::debug!(error = %e, "cache read failed; reading the store"),
        }
        let order = self.orders.get(actor, id).await?;
        let rendered = render(&order).map_err(|e| GetOrderError::Unavailable(Box::new(e)))?;
        self.keep(&key, &order, &rendered).await;
        Ok((rendered, CacheStatus::Miss))
    }

    async fn keep(&self, key: &str, order: &Order, rendered: &[u8]) {
        let ttl = if order.status.is_terminal() {
            self.terminal_ttl
        } else {
            self.pending_ttl
        };
        if ttl.is_zero() {
            return;
        }
        let entry = Entry::pack(order.user_id, rendered.to_vec());
        if let Err(e) = self.cache.set(key, &entry, ttl).await {
            tracing::debug!(error = %e, "cache write failed");
        }
    }
}

fn render(order: &Order) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&OrderView::from(order))
}

/// Drops an order's cached copy when its status changed (in this process or, with a
/// shared cache, for every API process).
pub struct DropCachedOrder(pub Arc<dyn Cache>);

#[async_trait]
impl OrderChanges for DropCachedOrder {
    async fn changed(&self, order: OrderId) {
        if let Err(e) = self.0.delete(&order_cache_key(order)).await {
            tracing::debug!(error = %e, "cache invalidation failed");
        }
    }
}
