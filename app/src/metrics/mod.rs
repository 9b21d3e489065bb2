//! Prometheus metrics on `prometheus-client`: one typed field per series, so a call
//! site cannot misspell a name, and every name gets the `orderflow_` prefix from the
//! registry. Each app instance has its own registry (tests run many apps in one
//! process). Rendered in the Prometheus text format (0.0.4) by the ops listener.

mod process;

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

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Every series the process exports.
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub orders_placed: Counter,
    pub orders_completed: Counter,
    pub orders_failed: Counter,
    pub orders_cancelled: Counter,
    pub order_processing: Histogram,
    pub queue_received: Counter,
    pub queue_acked: Counter,
    pub queue_retried: Counter,
    pub queue_dead_lettered: Counter,
    pub cache_requests: Family<CacheLabels, Counter>,
    pub relay_published: Counter,
    pub relay_publish_calls: Counter,
    pub relay_backlog: Gauge,
    pub relay_refused: Counter,
    pub relay_set_aside: Gauge,
    pub relay_sweep_lease_held: Gauge,
    pub revoked_sessions: Gauge,
    pub relay_swept: Counter,
    pub notifications_due: Gauge,
    pub notifications_sent: Counter,
    pub notifications_deferred: Counter,
    pub notifications_abandoned: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("orderflow");
        let m = Metrics {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            orders_placed: Counter::default(),
            orders_completed: Counter::default(),
            orders_failed: Counter::default(),
            orders_cancelled: Counter::default(),
            order_processing: latency_histogram(),
            queue_received: Counter::default(),
            queue_acked: Counter::default(),
            queue_retried: Counter::default(),
            queue_dead_lettered: Counter::default(),
            cache_requests: Family::default(),
            relay_published: Counter::default(),
            relay_publish_calls: Counter::default(),
            relay_backlog: Gauge::default(),
            relay_refused: Counter::default(),
            relay_set_aside: Gauge::default(),
            relay_sweep_lease_held: Gauge::default(),
            revoked_sessions: Gauge::default(),
            relay_swept: Counter::default(),
            notifications_due: Gauge::default(),
            notifications_sent: Counter::default(),
            notifications_deferred: Counter::default(),
            notifications_abandoned: Counter::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register("http_requests", "HTTP requests by method, route template and status (timeouts, oversized bodies and panics included)", m.http_requests.clone());
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template",
            m.http_duration.clone(),
        );
        r.register(
            "orders_placed",
            "Orders accepted (202), replays excluded",
            m.orders_placed.clone(),
        );
        r.register(
            "orders_completed",
            "Orders the worker completed",
            m.orders_completed.clone(),
        );
        r.register(
            "orders_failed",
            "Orders the worker failed for want of stock",
            m.orders_failed.clone(),
        );
        r.register(
            "orders_cancelled",
            "Orders cancelled while pending",
            m.orders_cancelled.clone(),
        );
        r.register(
            "order_processing_seconds",
            "Time from placement to a terminal state set by the worker",
            m.order_processing.clone(),
        );
        r.register(
            "queue_received",
            "Deliveries received by the worker",
            m.queue_received.clone(),
        );
        r.register(
            "queue_acked",
            "Deliveries acked after processing",
            m.queue_acked.clone(),
        );
        r.register(
            "queue_retried",
            "Deliveries scheduled again with back-off",
            m.queue_retried.clone(),
        );
        r.register(
            "queue_dead_lettered",
            "Deliveries that failed on their last allowed receive (the queue dead-letters them)",
            m.queue_dead_lettered.clone(),
        );
        r.register(
            "cache_requests",
            "Order reads by cache result (hit, miss)",
            m.cache_requests.clone(),
        );
        r.register(
            "relay_published",
            "Orders the hand-off published (the timed scan's are not counted)",
            m.relay_published.clone(),
        );
        r.register(
            "relay_publish_calls",
            "Queue publish calls made by the hand-off (up to ten orders each)",
            m.relay_publish_calls.clone(),
        );
        r.register(
            "relay_backlog",
            "Orders not yet accepted by the queue, as of the relay's last run",
            m.relay_backlog.clone(),
        );
        r.register(
            "relay_refused",
            "Order messages the queue refused (each is retried on its own schedule)",
            m.relay_refused.clone(),
        );
        r.register(
            "relay_set_aside",
            "Orders set aside after repeated refusals, waiting for `orderflow outbox retry`, as of the relay's last run",
            m.relay_set_aside.clone(),
        );
        r.register(
            "relay_sweep_lease_held",
            "1 while this process holds the fleet's sweep lease (one process sweeps at a time)",
            m.relay_sweep_lease_held.clone(),
        );
        r.register(
            "auth_revoked_sessions",
            "Logins ended within an access token's lifetime, whose access tokens this process refuses",
            m.revoked_sessions.clone(),
        );
        r.register(
            "relay_swept",
            "Stale pending orders this process's sweep published again",
            m.relay_swept.clone(),
        );
        r.register(
            "notifications_due",
            "Outcome emails owed (due now or after a back-off), as of this worker's last look",
            m.notifications_due.clone(),
        );
        r.register(
            "notifications_sent",
            "Owed outcome emails sent by the due-email scan (first sends are not counted)",
            m.notifications_sent.clone(),
        );
        r.register(
            "notifications_deferred",
            "Sends of owed outcome emails that failed and were scheduled again",
            m.notifications_deferred.clone(),
        );
        r.register(
            "notifications_abandoned",
            "Outcome emails given up after notify.give_up_after_secs",
            m.notifications_abandoned.clone(),
        );
        r.register_collector(Box::new(process::ProcessCollector::new()));
        Metrics { registry, ..m }
    }

    pub fn observe_processing(&self, took: Duration) {
        self.order_processing.observe(took.as_secs_f64());
    }

    pub fn count_cache(&self, result: &'static str) {
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
        m.count_cache("hit");
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
