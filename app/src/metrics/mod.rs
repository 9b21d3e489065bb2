//! Prometheus metrics on `prometheus-client`: one typed field per series, declared
//! once with its name and help in `metrics!` (so a call site cannot misspell a name,
//! and no series is recorded without being registered), and every name gets the
//! `orderflow_` prefix from the registry. Each app instance has its own registry (tests run many apps in one
//! process). Rendered in the Prometheus text format (0.0.4) by the ops listener.

mod process;

use crate::http::order_cache::CacheStatus;
use orderflow_core::domain::WebhookId;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds, in seconds, shared by the latency histograms.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One HTTP request's series. Every value comes from a bounded set (known methods,
/// route templates, status codes), never from what a client wrote.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: &'static str,
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// hit | miss
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// delivered | failed | given_up | dropped
    pub outcome: &'static str,
    /// The endpoint's id: a set only admins grow, so an alert can name the endpoint
    /// that is failing.
    pub endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DependencyLabels {
    /// A readiness check's name: store, cache, queue, mailer.
    pub dependency: &'static str,
}

/// A command sent to the store. Names and collections come from the adapter's own
/// code, a bounded set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreCommandLabels {
    pub command: String,
    pub collection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    pub command: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MailLabels {
    /// sent | failed (the email stays owed) | rejected (refused for good)
    pub outcome: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Declares every series once: the field call sites record on, its type and
/// constructor, and the name and help it is rendered under. A field cannot exist
/// without being registered, so nothing is recorded that a scrape does not show.
macro_rules! metrics {
    ($( $field:ident: $ty:ty = $init:expr, $name:literal, $help:literal; )*) => {
        /// Every series the process exports.
        pub struct Metrics {
            registry: Registry,
            $(pub $field: $ty,)*
        }

        impl Metrics {
            pub fn new() -> Self {
                let mut registry = Registry::with_prefix("orderflow");
                $(
                    let $field: $ty = $init;
                    registry.register($name, $help, $field.clone());
                )*
                registry.register_collector(Box::new(process::ProcessCollector::new()));
                Metrics {
                    registry,
                    $($field,)*
                }
            }
        }
    };
}

metrics! {
    http_requests: Family<HttpLabels, Counter> = Family::default(),
        "http_requests",
        "HTTP requests by method, route template and status (timeouts, oversized bodies and panics included)";
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram> = Family::new_with_constructor(latency_histogram),
        "http_request_duration_seconds",
        "HTTP request latency by method and route template";
    orders_placed: Counter = Counter::default(),
        "orders_placed",
        "Orders accepted (202), replays excluded";
    orders_completed: Counter = Counter::default(),
        "orders_completed",
        "Orders the worker completed";
    orders_failed: Counter = Counter::default(),
        "orders_failed",
        "Orders the worker failed for want of stock";
    orders_cancelled: Counter = Counter::default(),
        "orders_cancelled",
        "Orders cancelled while pending";
    order_processing: Histogram = latency_histogram(),
        "order_processing_seconds",
        "Time from placement to a terminal state set by the worker";
    queue_received: Counter = Counter::default(),
        "queue_received",
        "Deliveries received by the worker";
    queue_acked: Counter = Counter::default(),
        "queue_acked",
        "Deliveries acked after processing";
    queue_retried: Counter = Counter::default(),
        "queue_retried",
        "Deliveries scheduled again with back-off";
    queue_dead_lettered: Counter = Counter::default(),
        "queue_dead_lettered",
        "Deliveries that failed on their last allowed receive (the queue dead-letters them)";
    cache_requests: Family<CacheLabels, Counter> = Family::default(),
        "cache_requests",
        "Order reads by cache result (hit, miss)";
    relay_published: Counter = Counter::default(),
        "relay_published",
        "Orders the hand-off published (the timed scan's are not counted)";
    relay_publish_calls: Counter = Counter::default(),
        "relay_publish_calls",
        "Queue publish calls made by the hand-off (up to ten orders each)";
    relay_backlog: Gauge = Gauge::default(),
        "relay_backlog",
        "Orders not yet accepted by the queue, as of the relay's last run";
    relay_failures: Counter = Counter::default(),
        "relay_failures",
        "Hand-off calls and timed scans that failed to publish (queue or store unreachable); the scan retries them";
    relay_refused: Counter = Counter::default(),
        "relay_refused",
        "Order messages the queue refused (each is retried on its own schedule)";
    relay_set_aside: Gauge = Gauge::default(),
        "relay_set_aside",
        "Orders set aside after repeated refusals, waiting for `orderflow outbox retry`, as of the relay's last run";
    relay_sweep_lease_held: Gauge = Gauge::default(),
        "relay_sweep_lease_held",
        "1 while this process holds the fleet's sweep lease (one process sweeps at a time)";
    revoked_sessions: Gauge = Gauge::default(),
        "auth_revoked_sessions",
        "Logins ended within an access token's lifetime, whose access tokens this process refuses";
    relay_swept: Counter = Counter::default(),
        "relay_swept",
        "Stale pending orders this process's sweep published again";
    notifications_due: Gauge = Gauge::default(),
        "notifications_due",
        "Outcome emails owed (due now or after a back-off), as of the gauge lease holder's last look (0 on other workers)";
    notifications_failing: Gauge = Gauge::default(),
        "notifications_failing",
        "Owed outcome emails whose last send failed (zero unless the mail provider refuses or is unreachable), as of the gauge lease holder's last look (0 on other workers)";
    notifications_sent: Counter = Counter::default(),
        "notifications_sent",
        "Owed outcome emails sent by the due-email scan (first sends are not counted)";
    notifications_deferred: Counter = Counter::default(),
        "notifications_deferred",
        "Sends of owed outcome emails that failed and were scheduled again";
    notifications_abandoned: Counter = Counter::default(),
        "notifications_abandoned",
        "Outcome emails given up after notify.give_up_after_ms";
    webhook_deliveries: Family<WebhookLabels, Counter> = Family::default(),
        "webhook_deliveries",
        "Webhook delivery tries by outcome: delivered, failed (retried later), given_up (after webhooks.give_up_after_ms), dropped (the endpoint was removed)";
    webhook_fanned_out: Counter = Counter::default(),
        "webhook_fanned_out",
        "Orders whose status changes were handed to the webhook endpoints";
    orders_pending: Gauge = Gauge::default(),
        "orders_pending",
        "Orders accepted and not yet settled or cancelled (counted up to 10,000), as of the gauge lease holder's last look (0 on other workers)";
    orders_pending_oldest_age: Gauge = Gauge::default(),
        "orders_pending_oldest_age_seconds",
        "How long ago the oldest pending order was placed (0 when none is pending), as of the gauge lease holder's last look (0 on other workers)";
    dead_letters: Gauge = Gauge::default(),
        "dead_letters",
        "Messages in the dead-letter queue (SQS's approximate count), as of the gauge lease holder's last look (0 on other workers)";
    ready: Gauge = Gauge::default(),
        "ready",
        "1 while this process would answer /readyz with 200 (ready or degraded), else 0; read at each scrape";
    store_commands: Family<StoreCommandLabels, Counter> = Family::default(),
        "store_commands",
        "Commands sent to the store (MongoDB), by command and collection, each attempt counted: what the database is sized by";
    store_failures: Family<CommandLabels, Counter> = Family::default(),
        "store_command_failures",
        "Store commands that failed (an error reply, a timeout, no connection), by command";
    store_conflict_retries: Counter = Counter::default(),
        "store_conflict_retries",
        "Settlement tries retried because the stock moved between their read and their conditional take";
    queue_requests: Family<ActionLabels, Counter> = Family::default(),
        "queue_requests",
        "Requests sent to the queue service (SQS), by action, each attempt counted: what SQS bills";
    queue_failures: Family<ActionLabels, Counter> = Family::default(),
        "queue_request_failures",
        "Queue requests that failed, by action";
    mail_sends: Family<MailLabels, Counter> = Family::default(),
        "mail_sends",
        "Emails handed to the mailer, by outcome: sent, failed (stays owed, retried), rejected (refused for good)";
    dependency_up: Family<DependencyLabels, Gauge> = Family::default(),
        "dependency_up",
        "1 while a readiness check of this dependency passes, 0 while it fails; read at each scrape";
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Sets a gauge to a count (a count past `i64::MAX` shows as that).
pub fn set_count(gauge: &Gauge, n: usize) {
    gauge.set(i64::try_from(n).unwrap_or(i64::MAX));
}

/// Sets a gauge to the count just read. A failed read keeps the last value (the outage
/// shows in the readiness gauges and the logs; a gauge dropping to zero would read as
/// the backlog clearing).
pub fn set_count_read<E: std::fmt::Display>(gauge: &Gauge, read: Result<usize, E>, what: &str) {
    match read {
        Ok(n) => set_count(gauge, n),
        Err(e) => tracing::debug!(error = %e, "could not count {what}"),
    }
}

/// The adapters count their requests here.
impl orderflow_core::ports::CallMeter for Metrics {
    fn store_command(&self, command: &str, collection: &str) {
        self.store_commands
            .get_or_create(&StoreCommandLabels {
                command: command.to_owned(),
                collection: collection.to_owned(),
            })
            .inc();
    }

    fn store_failure(&self, command: &str) {
        self.store_failures
            .get_or_create(&CommandLabels {
                command: command.to_owned(),
            })
            .inc();
    }

    fn store_conflict_retry(&self) {
        self.store_conflict_retries.inc();
    }

    fn queue_request(&self, action: &str) {
        self.queue_requests
            .get_or_create(&ActionLabels {
                action: action.to_owned(),
            })
            .inc();
    }

    fn queue_failure(&self, action: &str) {
        self.queue_failures
            .get_or_create(&ActionLabels {
                action: action.to_owned(),
            })
            .inc();
    }
}

impl Metrics {
    /// Counts one send by its outcome.
    pub fn count_mail(&self, sent: &Result<(), orderflow_core::ports::MailError>) {
        use orderflow_core::ports::MailError;
        let outcome = match sent {
            Ok(()) => "sent",
            Err(MailError::Rejected(_)) => "rejected",
            Err(_) => "failed",
        };
        self.mail_sends.get_or_create(&MailLabels { outcome }).inc();
    }

    pub fn observe_processing(&self, took: Duration) {
        self.order_processing.observe(took.as_secs_f64());
    }

    /// Records what `/readyz` would answer now.
    pub fn record_readiness(&self, view: &crate::health::ReadinessView) {
        self.ready.set(i64::from(view.ready()));
        for (name, check) in &view.checks {
            self.dependency_up
                .get_or_create(&DependencyLabels { dependency: name })
                .set(i64::from(check.status == "up"));
        }
    }

    pub fn count_webhook(&self, sent: &orderflow_core::usecases::Sent, endpoint: WebhookId) {
        use orderflow_core::usecases::Sent;
        let outcome = match sent {
            Sent::Delivered => "delivered",
            Sent::Failed => "failed",
            Sent::GaveUp => "given_up",
            Sent::Dropped => "dropped",
        };
        self.webhook_deliveries
            .get_or_create(&WebhookLabels {
                outcome,
                endpoint: endpoint.to_string(),
            })
            .inc();
    }

    /// Counts an order read by whether the cache had it.
    pub fn count_cache(&self, status: CacheStatus) {
        let result = match status {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
        };
        self.cache_requests
            .get_or_create(&CacheLabels { result })
            .inc();
    }

    /// The Prometheus text exposition format (version 0.0.4); see [`CONTENT_TYPE`].
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            // Writing to a String cannot fail; a collector could, and then the
            // scrape shows what was written before it.
            tracing::warn!(error = %e, "metrics encoding stopped early");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_prefixed_and_typed() {
        let m = Metrics::new();
        m.http_requests
            .get_or_create(&HttpLabels {
                method: "GET",
                route: "/healthz",
                status: 200,
            })
            .inc_by(2);
        m.orders_placed.inc();
        m.relay_backlog.set(3);
        m.http_duration
            .get_or_create(&RouteLabels {
                method: "GET",
                route: "/healthz",
            })
            .observe(0.003);
        m.count_cache(CacheStatus::Hit);
        let text = m.render();
        for line in [
            "orderflow_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2",
            "orderflow_orders_placed_total 1",
            "orderflow_orders_completed_total 0",
            "orderflow_relay_backlog 3",
            "orderflow_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"0.0025\"} 0",
            "orderflow_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"0.005\"} 1",
            "orderflow_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\"} 1",
            "orderflow_cache_requests_total{result=\"hit\"} 1",
            "# TYPE orderflow_process_cpu_seconds_total counter",
            "# TYPE orderflow_process_resident_memory_bytes gauge",
            "# TYPE orderflow_process_open_fds gauge",
            "# TYPE orderflow_process_start_time_seconds gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("orderflow_"), "unprefixed series {line:?}");
        }
    }
}
