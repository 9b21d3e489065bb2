//! W3C trace context in and out: from an HTTP request's `traceparent` header, into the
//! order (and from there the queue message's attributes), and from a delivery back
//! into the worker's span. Every span that adopts a context records its `trace_id`,
//! so log lines and traces join up; with tracing off, an incoming trace id is still
//! recorded for the logs.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use orderflow_core::ports::TraceContext;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct Carrier<'a>(&'a TraceContext);

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0 .0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0 .0.keys().map(String::as_str).collect()
    }
}

struct Out<'a>(&'a mut Vec<(String, String)>);

impl Injector for Out<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

fn extract(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier))
}

/// Whether spans are exported (set once, at start). Without it a span has no
/// OpenTelemetry context of its own, and asking for one on every request is waste.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(super) fn set_exporting(on: bool) {
    EXPORTING.store(on, std::sync::atomic::Ordering::Relaxed);
}

fn exporting() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Makes `parent` the parent of `span` (when it holds a valid remote span) and records
/// the span's `trace_id` field. Must run before anything else asks for the span's
/// context: a started span keeps its parent.
fn adopt_parent(span: &Span, parent: Context) {
    if span.is_disabled() {
        return;
    }
    let remote = parent.span().span_context().clone();
    if remote.is_valid() && exporting() {
        let _ = span.set_parent(parent);
    }
    let own = if exporting() {
        span.context().span().span_context().trace_id()
    } else {
        opentelemetry::trace::TraceId::INVALID
    };
    let trace_id = if own != opentelemetry::trace::TraceId::INVALID {
        own
    } else {
        remote.trace_id()
    };
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// The span for one HTTP request, child of the caller's trace when the request
/// carries a valid `traceparent`.
pub fn request_span(req: &axum::http::Request<axum::body::Body>) -> Span {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id,
        trace_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        otel.name = %req.method(),
        otel.kind = "server",
        http.route = tracing::field::Empty,
    );
    // Most requests carry no trace context: no need to run the propagator for them.
    let parent = if req.headers().contains_key("traceparent") {
        extract(&Headers(req.headers()))
    } else {
        Context::new()
    };
    adopt_parent(&span, parent);
    span
}

/// The span for one queue delivery, child of the placing request's trace.
pub fn delivery_span(message_id: &str, receive_count: u32, trace: &TraceContext) -> Span {
    let span = tracing::info_span!(
        "delivery",
        message_id,
        receive_count,
        trace_id = tracing::field::Empty,
        otel.name = "process order",
        otel.kind = "consumer",
    );
    if !trace.is_empty() || exporting() {
        adopt_parent(&span, extract(&Carrier(trace)));
    }
    span
}

/// Renames a span that has already started (a request's span once its route is
/// known). The name is only made when the span is traced.
pub fn rename(span: &Span, name: impl FnOnce() -> String) {
    if !exporting() || span.is_disabled() {
        return;
    }
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        cx.span().update_name(name());
    }
}

/// The W3C `traceparent` of `span`, when it is being traced.
pub fn traceparent_of(span: &Span) -> Option<String> {
    if !exporting() || span.is_disabled() {
        return None;
    }
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut out = Vec::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut Out(&mut out)));
    out.into_iter()
        .find(|(k, _)| k == "traceparent")
        .map(|(_, v)| v)
}
