//! The use cases, built over the adapters.

use super::Adapters;
use crate::config::{Config, StoreKind};
use crate::handoff::{handoff_channel, HandoffReceiver};
use crate::http::order_cache::{CachedOrders, DropCachedOrder};
use crate::metrics::Metrics;
use orderflow_core::domain::Refusals;
use orderflow_core::ports::{AllOf, Handoff, OrderChanges, OrderSettlement, PublishChanges};
use orderflow_core::retry::Backoff;
use orderflow_core::usecases::{
    AuthService, CatalogService, DeadLetters, NotifyRetry, OrderProcessor, OrderService,
    OwedEmails, ProductSnapshots, Relay, ResetSettings, RevokedSessions, Throttle, WebhookDispatch,
    WebhookSettings,
};
use std::sync::Arc;
use std::time::Duration;

/// The use cases, built once and shared by the API, the worker and the relay.
#[derive(Clone)]
pub struct Services {
    pub auth: Arc<AuthService>,
    pub catalog: Arc<CatalogService>,
    pub orders: Arc<OrderService>,
    /// `orders.get` behind the cache of rendered orders.
    pub cached_orders: Arc<CachedOrders>,
    pub processor: Arc<OrderProcessor>,
    pub relay: Arc<Relay>,
    pub dead_letters: Arc<DeadLetters>,
    pub owed_emails: Arc<OwedEmails>,
    /// Webhook endpoints and their deliveries.
    pub webhooks: Arc<WebhookDispatch>,
    pub adapters: Adapters,
    pub metrics: Arc<Metrics>,
    /// The relay's end of the placements' hand-off, taken by the process that runs the
    /// hand-off task (`run` and `api`). Left untaken, orders wait for the timed scan.
    pub handoff: Arc<std::sync::Mutex<Option<HandoffReceiver>>>,
}

impl Services {
    pub fn new(c: &Config, a: Adapters, metrics: Arc<Metrics>) -> Self {
        let auth = auth_service(c, &a, &metrics);
        let (handoff, handoff_rx) = handoff_channel(c.relay.handoff_buffer);
        let handoff: Arc<dyn Handoff> = Arc::new(handoff);
        let products = Arc::new(ProductSnapshots {
            inventory: a.store.inventory.clone(),
            cache: a.cache.clone(),
            ttl: Duration::from_millis(c.cache.product_ttl_ms),
        });
        // Copies of the order are dropped first, so a stream woken by the feed reads
        // the new state.
        let changes: Arc<dyn OrderChanges> = Arc::new(AllOf(vec![
            Arc::new(DropCachedOrder(a.cache.clone())),
            Arc::new(PublishChanges(a.feed.clone())),
        ]));
        let orders = Arc::new(OrderService {
            orders: a.store.orders.clone(),
            products: products.clone(),
            handoff: handoff.clone(),
            clock: a.clock.clone(),
            changes: changes.clone(),
        });
        let cached_orders = CachedOrders {
            orders: orders.clone(),
            cache: a.cache.clone(),
            terminal_ttl: Duration::from_millis(c.cache.order_ttl_ms),
            pending_ttl: Duration::from_millis(c.cache.pending_order_ttl_ms),
        };
        let processor = order_processor(c, &a, products.clone(), changes, &metrics);
        let relay = relay(c, &a, handoff);
        Self {
            auth: Arc::new(auth),
            catalog: Arc::new(CatalogService {
                inventory: a.store.inventory.clone(),
                products,
            }),
            orders,
            cached_orders: Arc::new(cached_orders),
            processor: Arc::new(processor),
            relay: Arc::new(relay),
            dead_letters: Arc::new(DeadLetters {
                queue: a.queue.clone(),
            }),
            owed_emails: Arc::new(OwedEmails {
                ledger: a.store.ledger.clone(),
                clock: a.clock.clone(),
            }),
            webhooks: Arc::new(webhook_dispatch(c, &a)),
            adapters: a,
            metrics,
            handoff: Arc::new(std::sync::Mutex::new(Some(handoff_rx))),
        }
    }
}

fn webhook_dispatch(c: &Config, a: &Adapters) -> WebhookDispatch {
    let w = &c.webhooks;
    WebhookDispatch {
        endpoints: a.store.webhooks.clone(),
        deliveries: a.store.deliveries.clone(),
        orders: a.store.orders.clone(),
        signer: a.signer.clone(),
        sender: a.webhook_sender.clone(),
        render: Arc::new(crate::http::views::ApiOrderJson),
        clock: a.clock.clone(),
        settings: WebhookSettings {
            rotation_overlap: Duration::from_millis(w.rotation_overlap_ms),
            give_up_after: Duration::from_millis(w.give_up_after_ms),
            retry: Backoff::new(
                Duration::from_millis(w.retry_first_ms),
                Duration::from_millis(w.retry_max_ms),
            ),
            // A lane stays its sender's through the longest send and then some, so a
            // second worker never sends the same try.
            claim: Duration::from_millis(w.timeout_ms.saturating_add(30_000)),
        },
    }
}

fn auth_service(c: &Config, a: &Adapters, metrics: &Arc<Metrics>) -> AuthService {
    AuthService {
        users: a.store.users.clone(),
        sessions: a.store.sessions.clone(),
        hasher: a.hasher.clone(),
        tokens: a.tokens.clone(),
        clock: a.clock.clone(),
        refresh_ttl: Duration::from_millis(c.auth.refresh_ttl_ms),
        refresh_reuse_grace: Duration::from_millis(c.auth.refresh_reuse_grace_ms),
        throttle: Throttle {
            limiter: a.limiter.clone(),
            window: Duration::from_millis(c.auth.throttle_window_ms),
            login_per_email: c.auth.login_per_email,
            login_failures_per_email: c.auth.login_failures_per_email,
            register_per_client: c.auth.register_per_client,
            login_per_client: c.auth.login_per_client,
            refresh_per_client: c.auth.refresh_per_client,
            reset_per_client: c.auth.reset_per_client,
            reset_per_email: c.auth.reset_per_email,
        },
        resets: a.store.resets.clone(),
        reset_mailer: Arc::new(crate::background_mail::InBackground::new(
            Arc::new(crate::mail_deadline::Deadlined::new(
                a.mailer.clone(),
                Duration::from_millis(c.mail.send_timeout_ms),
                metrics.clone(),
            )),
            64,
        )),
        reset: ResetSettings {
            url: c.auth.reset_url.clone(),
            ttl: Duration::from_millis(c.auth.reset_ttl_ms),
        },
        // An ended login matters while one of its access tokens may be alive: the
        // tokens' lifetime plus the skew leeway. Each read goes back a check
        // interval and the skew further, for revocations stamped by slower clocks.
        revoked: Arc::new(RevokedSessions::new(
            Duration::from_millis(c.auth.access_ttl_ms + c.auth.clock_skew_ms),
            Duration::from_millis(c.auth.revocation_check_ms + c.auth.clock_skew_ms),
        )),
    }
}

/// How long a settlement waits for others to share its batch: the deliveries of one
/// receive ask within microseconds of one another.
const SETTLE_LINGER_MS: u64 = 2;

fn order_processor(
    c: &Config,
    a: &Adapters,
    products: Arc<ProductSnapshots>,
    changes: Arc<dyn OrderChanges>,
    metrics: &Arc<Metrics>,
) -> OrderProcessor {
    // A settlement on MongoDB is a network transaction: the deliveries a worker holds
    // settle together. In memory, one at a time costs nothing and needs no hop.
    let settlement: Arc<dyn OrderSettlement> = match c.adapters.store {
        StoreKind::Mongo => Arc::new(crate::settle_batches::BatchedSettlement::new(
            a.store.settlement.clone(),
            crate::settle_batches::Batching {
                linger: Duration::from_millis(SETTLE_LINGER_MS),
                email_lease: Duration::from_millis(c.worker.notify_lease_ms),
            },
        )),
        StoreKind::Memory => a.store.settlement.clone(),
    };
    OrderProcessor {
        ledger: a.store.ledger.clone(),
        settlement,
        users: a.store.users.clone(),
        mailer: Arc::new(crate::mail_deadline::Deadlined::new(
            a.mailer.clone(),
            Duration::from_millis(c.mail.send_timeout_ms),
            metrics.clone(),
        )),
        changes,
        products: products.clone(),
        clock: a.clock.clone(),
        notify_lease: Duration::from_millis(c.worker.notify_lease_ms),
        notify_retry: NotifyRetry {
            first_wait: Duration::from_millis(c.notify.retry_first_ms),
            max_wait: Duration::from_millis(c.notify.retry_max_ms),
            give_up_after: Duration::from_millis(c.notify.give_up_after_ms),
        },
    }
}

fn relay(c: &Config, a: &Adapters, handoff: Arc<dyn Handoff>) -> Relay {
    Relay {
        outbox: a.store.outbox.clone(),
        queue: a.queue.clone(),
        clock: a.clock.clone(),
        handoff,
        min_age: Duration::from_millis(c.relay.min_age_ms),
        batch: c.relay.batch_size,
        refusals: Refusals {
            limit: c.relay.refusal_limit,
            first_wait: Duration::from_millis(c.relay.refusal_first_wait_ms),
            max_wait: Duration::from_millis(c.relay.refusal_max_wait_ms),
        },
    }
}
