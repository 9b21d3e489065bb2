//! JSON log lines with the fields of every enclosing span at the top level, so a log
//! query can say `order_id = "…"` or `trace_id = "…"` without knowing which span
//! carried the field. Inner spans and the event itself win on a name clash.

use serde_json::{Map, Value};
use std::fmt;
use std::io::Write;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A span's fields as recorded so far, kept in the span's extensions.
struct Fields(Map<String, Value>);

/// Where finished lines go.
type Sink = Box<dyn Fn(&[u8]) + Send + Sync>;

/// Writes one JSON object per event: to stderr in the process, anywhere in tests.
pub struct JsonLines {
    write: Sink,
}

impl JsonLines {
    pub fn stderr() -> Self {
        // One write per line, so lines from different threads never interleave.
        Self::to(|line| {
            let _ = std::io::stderr().lock().write_all(line);
        })
    }

    pub fn to(write: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        Self {
            write: Box::new(write),
        }
    }
}

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut Collect(&mut fields));
        span.extensions_mut().insert(Fields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(Fields(fields)) = ext.get_mut::<Fields>() {
            values.record(&mut Collect(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("target".into(), Value::String(meta.target().to_owned()));
        if let Some(scope) = ctx.event_scope(event) {
            let mut innermost = None;
            for span in scope.from_root() {
                if let Some(Fields(fields)) = span.extensions().get::<Fields>() {
                    for (k, v) in fields {
                        line.insert(k.clone(), v.clone());
                    }
                }
                innermost = Some(span.name());
            }
            if let Some(name) = innermost {
                line.insert("span".into(), Value::String(name.to_owned()));
            }
        }
        event.record(&mut Collect(&mut line));
        let Ok(mut text) = serde_json::to_vec(&line) else {
            return;
        };
        text.push(b'\n');
        (self.write)(&text);
    }
}

struct Collect<'a>(&'a mut Map<String, Value>);

impl Collect<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        // OpenTelemetry's own directives (otel.name, otel.kind) are not log fields.
        if !field.name().starts_with("otel.") {
            self.0.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for Collect<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn span_fields_are_top_level_and_inner_ones_win() {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let layer = JsonLines::to(move |line| sink.lock().unwrap().extend_from_slice(line));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!(
                "request",
                request_id = "r-1",
                user_id = tracing::field::Empty,
                otel.name = "POST /api/orders"
            );
            let _o = outer.enter();
            outer.record("user_id", "u-7");
            let inner = tracing::info_span!("place", order_id = "o-9", request_id = "r-inner");
            let _i = inner.enter();
            tracing::info!(status = "pending", "order placed");
        });
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let lines: Vec<Map<String, Value>> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line = &lines[0];
        assert_eq!(line["request_id"], "r-inner", "the inner span wins");
        assert_eq!(line["user_id"], "u-7", "recorded after the span began");
        assert_eq!(line["order_id"], "o-9");
        assert_eq!(line["status"], "pending");
        assert_eq!(line["message"], "order placed");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["span"], "place");
        assert!(!line.contains_key("otel.name"));
        assert!(!line.contains_key("spans") && !line.contains_key("fields"));
    }
}
