//! The port contracts, run against the in-memory adapters.

use orderflow_adapter_memory::{MemoryCache, MemoryLimiter, MemoryQueue, MemoryStore};
use orderflow_core::ports::{
    Cache, Leases, Queue, RateLimiter, ResetTokens, SessionRepo, UserRepo,
};
use orderflow_testkit::contracts::store::Store;
use std::sync::Arc;
use std::time::Duration;

fn users() -> Arc<dyn UserRepo> {
    Arc::new(MemoryStore::new())
}
fn sessions() -> Arc<dyn SessionRepo> {
    Arc::new(MemoryStore::new())
}
fn store() -> Store {
    Store::of(MemoryStore::new())
}
fn leases() -> Arc<dyn Leases> {
    Arc::new(MemoryStore::new())
}
fn resets() -> Arc<dyn ResetTokens> {
    Arc::new(MemoryStore::new())
}
fn cache() -> Arc<dyn Cache> {
    Arc::new(MemoryCache::default())
}
async fn queue(visibility: Duration, max_receives: u32) -> Option<Arc<dyn Queue>> {
    Some(Arc::new(MemoryQueue::new(visibility, max_receives)))
}

orderflow_testkit::user_repo_contract!(async { Some(users()) });
orderflow_testkit::session_repo_contract!(async { Some(sessions()) });
orderflow_testkit::orders_contract!(async { Some(store()) });
orderflow_testkit::outbox_contract!(async { Some(store()) });
orderflow_testkit::notification_ledger_contract!(async { Some(store()) });
orderflow_testkit::inventory_contract!(async { Some(store()) });
orderflow_testkit::settlement_contract!(async { Some(store()) });
orderflow_testkit::cache_contract!(async { Some(cache()) });
orderflow_testkit::leases_contract!(async { Some(leases()) });
orderflow_testkit::reset_tokens_contract!(async { Some(resets()) });
fn webhook_store() -> orderflow_testkit::contracts::webhooks::WebhookStore {
    let m = MemoryStore::new();
    orderflow_testkit::contracts::webhooks::WebhookStore {
        endpoints: Arc::new(m.clone()),
        deliveries: Arc::new(m.clone()),
        store: Store::of(m),
    }
}
orderflow_testkit::webhooks_contract!(async { Some(webhook_store()) });

/// Within one process a feed's clones are its "processes".
fn feeds() -> orderflow_testkit::contracts::feed::Processes {
    let feed = orderflow_adapter_memory::MemoryFeed::default();
    orderflow_testkit::contracts::feed::Processes(Arc::new(feed.clone()), Arc::new(feed))
}
orderflow_testkit::order_feed_contract!(async { Some(feeds()) });
orderflow_testkit::queue_contract!(queue);

fn limiter() -> Arc<dyn RateLimiter> {
    Arc::new(MemoryLimiter::default())
}

orderflow_testkit::limiter_contract!(async { Some(limiter()) });
