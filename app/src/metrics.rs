//! Prometheus metrics, rendered in the text exposition format at `/metrics`.
//!
//! A small registry of our own rather than a metrics framework: a handful of counters,
//! one gauge and two histograms, behind one short-held lock. Each app instance has its
//! own registry (tests run many apps in one process).

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Upper bounds, in seconds, shared by the latency histograms.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    /// (name, rendered labels) -> value
    counters: BTreeMap<(&'static str, String), u64>,
    gauges: BTreeMap<(&'static str, String), f64>,
    histograms: BTreeMap<(&'static str, String), Histogram>,
}

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "http_requests_total",
        "counter",
        "HTTP requests by method, route and status.",
    ),
    (
        "http_request_duration_seconds",
        "histogram",
        "HTTP request latency by route.",
    ),
    (
        "orders_placed_total",
        "counter",
        "Orders accepted (202), replays excluded.",
    ),
    (
        "orders_completed_total",
        "counter",
        "Orders the worker completed.",
    ),
    (
        "orders_failed_total",
        "counter",
        "Orders the worker failed for want of stock.",
    ),
    (
        "orders_cancelled_total",
        "counter",
        "Orders cancelled while pending.",
    ),
    (
        "order_processing_seconds",
        "histogram",
        "Time from placement to a terminal state set by the worker.",
    ),
    (
        "queue_received_total",
        "counter",
        "Deliveries received by the worker.",
    ),
    (
        "queue_acked_total",
        "counter",
        "Deliveries acked after processing.",
    ),
    (
        "queue_retried_total",
        "counter",
        "Deliveries scheduled again with back-off.",
    ),
    (
        "queue_dead_lettered_total",
        "counter",
        "Deliveries that failed on their last allowed receive (the queue dead-letters them).",
    ),
    (
        "cache_requests_total",
        "counter",
        "Order reads by cache result (hit, miss).",
    ),
    (
        "relay_backlog",
        "gauge",
        "Orders not yet accepted by the queue, as of the relay's last run.",
    ),
];

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s
}

impl Metrics {
    pub fn incr(&self, name: &'static str, pairs: &[(&str, &str)], by: u64) {
        *self
            .inner
            .lock()
            .counters
            .entry((name, labels(pairs)))
            .or_default() += by;
    }

    pub fn set_gauge(&self, name: &'static str, value: f64) {
        self.inner
            .lock()
            .gauges
            .insert((name, String::new()), value);
    }

    pub fn observe(&self, name: &'static str, pairs: &[(&str, &str)], took: Duration) {
        let secs = took.as_secs_f64();
        let mut r = self.inner.lock();
        let h = r.histograms.entry((name, labels(pairs))).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// A counter's current value, for tests.
    pub fn counter(&self, name: &'static str, pairs: &[(&str, &str)]) -> u64 {
        self.inner
            .lock()
            .counters
            .get(&(name, labels(pairs)))
            .copied()
            .unwrap_or(0)
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let r = self.inner.lock();
        let mut out = String::with_capacity(4096);
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            match *kind {
                "counter" => {
                    let mut any = false;
                    for ((n, l), v) in r.counters.range((*name, String::new())..) {
                        if n != name {
                            break;
                        }
                        any = true;
                        let _ = writeln!(out, "{}{} {v}", n, braces(l));
                    }
                    if !any && !name.starts_with("http_") && !name.starts_with("cache_") {
                        let _ = writeln!(out, "{name} 0");
                    }
                }
                "gauge" => {
                    let v = r
                        .gauges
                        .get(&(*name, String::new()))
                        .copied()
                        .unwrap_or(0.0);
                    let _ = writeln!(out, "{name} {v}");
                }
                _ => {
                    for ((n, l), h) in r.histograms.range((*name, String::new())..) {
                        if n != name {
                            break;
                        }
                        let sep = if l.is_empty() { "" } else { "," };
                        for (i, bound) in BUCKETS.iter().enumerate() {
                            let _ = writeln!(
                                out,
                                "{n}_bucket{{{l}{sep}le=\"{bound}\"}} {}",
                                h.buckets[i]
                            );
                        }
                        let _ = writeln!(out, "{n}_bucket{{{l}{sep}le=\"+Inf\"}} {}", h.count);
                        let _ = writeln!(out, "{n}_sum{} {}", braces(l), h.sum);
                        let _ = writeln!(out, "{n}_count{} {}", braces(l), h.count);
                    }
                }
            }
        }
        out
    }
}

fn braces(l: &str) -> String {
    if l.is_empty() {
        String::new()
    } else {
        format!("{{{l}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_cumulative_buckets() {
        let m = Metrics::default();
        m.incr(
            "http_requests_total",
            &[("method", "GET"), ("route", "/healthz"), ("status", "200")],
            2,
        );
        m.incr("orders_placed_total", &[], 1);
        m.set_gauge("relay_backlog", 3.0);
        m.observe(
            "http_request_duration_seconds",
            &[("route", "/healthz")],
            Duration::from_millis(3),
        );
        let text = m.render();
        assert!(
            text.contains(
                "http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("orders_placed_total 1"));
        assert!(text.contains("orders_completed_total 0"));
        assert!(text.contains("relay_backlog 3"));
        assert!(text
            .contains("http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0025\"} 0"));
        assert!(text
            .contains("http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 1"));
        assert!(
            text.contains("http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1")
        );
        assert!(text.contains("http_request_duration_seconds_count{route=\"/healthz\"} 1"));
        assert_eq!(m.counter("orders_placed_total", &[]), 1);
    }
}
