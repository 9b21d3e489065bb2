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

/// name -> rendered labels -> value. Two levels so that a lookup needs no allocation:
/// the labels are rendered into a reused buffer and looked up as `&str`.
#[derive(Default)]
struct Registry {
    counters: BTreeMap<&'static str, BTreeMap<String, u64>>,
    gauges: BTreeMap<&'static str, f64>,
    histograms: BTreeMap<&'static str, BTreeMap<String, Histogram>>,
}

thread_local! {
    static LABELS: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(128));
}

/// Calls `f` with `pairs` rendered, from a per-thread buffer (this runs on every request).
fn with_labels<R>(pairs: &[(&str, &str)], f: impl FnOnce(&str) -> R) -> R {
    LABELS.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            write_labels(&mut buf, pairs);
            f(&buf)
        }
        // Only if `f` itself recorded a metric; it does not, but never panic for it.
        Err(_) => {
            let mut own = String::new();
            write_labels(&mut own, pairs);
            f(&own)
        }
    })
}

fn entry<'a, V: Default>(map: &'a mut BTreeMap<String, V>, labels: &str) -> &'a mut V {
    if !map.contains_key(labels) {
        map.insert(labels.to_owned(), V::default());
    }
    map.get_mut(labels).expect("inserted above")
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
        "relay_published_total",
        "counter",
        "Orders the hand-off published (the timed scan's are not counted).",
    ),
    (
        "relay_publish_calls_total",
        "counter",
        "Queue publish calls made by the hand-off (up to ten orders each).",
    ),
    (
        "relay_backlog",
        "gauge",
        "Orders not yet accepted by the queue, as of the relay's last run.",
    ),
];

fn write_labels(s: &mut String, pairs: &[(&str, &str)]) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        // Label values are route templates and status codes: escaping is almost never
        // needed.
        if v.contains(['\\', '"', '\n']) {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(s, "{k}=\"{v}\"");
        } else {
            let _ = write!(s, "{k}=\"{v}\"");
        }
    }
}

impl Metrics {
    pub fn incr(&self, name: &'static str, pairs: &[(&str, &str)], by: u64) {
        with_labels(pairs, |l| {
            *entry(self.inner.lock().counters.entry(name).or_default(), l) += by;
        })
    }

    pub fn set_gauge(&self, name: &'static str, value: f64) {
        self.inner.lock().gauges.insert(name, value);
    }

    pub fn observe(&self, name: &'static str, pairs: &[(&str, &str)], took: Duration) {
        let secs = took.as_secs_f64();
        with_labels(pairs, |l| {
            let mut r = self.inner.lock();
            let h = entry(r.histograms.entry(name).or_default(), l);
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.buckets[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        })
    }

    /// A counter's current value, for tests.
    pub fn counter(&self, name: &'static str, pairs: &[(&str, &str)]) -> u64 {
        with_labels(pairs, |l| {
            self.inner
                .lock()
                .counters
                .get(name)
                .and_then(|m| m.get(l))
                .copied()
                .unwrap_or(0)
        })
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
                    for (l, v) in r.counters.get(name).into_iter().flatten() {
                        any = true;
                        let _ = writeln!(out, "{name}{} {v}", braces(l));
                    }
                    if !any && !name.starts_with("http_") && !name.starts_with("cache_") {
                        let _ = writeln!(out, "{name} 0");
                    }
                }
                "gauge" => {
                    let v = r.gauges.get(name).copied().unwrap_or(0.0);
                    let _ = writeln!(out, "{name} {v}");
                }
                _ => {
                    for (l, h) in r.histograms.get(name).into_iter().flatten() {
                        let n = name;
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
