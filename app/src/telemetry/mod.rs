//! Logs and traces.
//!
//! - Logs: pretty for people, or one JSON object per line (`log.format = "json"`) with
//!   the fields of every enclosing span (`request_id`, `trace_id`, `order_id`,
//!   `user_id`, …) at the top level ([`json`]). `RUST_LOG` overrides the level.
//! - Traces: OpenTelemetry over OTLP, configured by the standard `OTEL_*` variables
//!   and off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set
//!   ([`otel`]). W3C trace context is read from incoming `traceparent` headers and
//!   carried through the queue to the worker ([`propagation`]).

mod json;
mod otel;
mod propagation;

pub use propagation::{delivery_span, rename, request_span, traceparent_of};

use crate::config::{LogConfig, LogFormat};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

type Base = tracing_subscriber::layer::Layered<EnvFilter, Registry>;

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] sends what is buffered.
#[must_use = "dropping it stops trace export"]
pub struct Telemetry {
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered, giving up after a few seconds (an absent
    /// collector must not hold up a stop the orchestrator is timing).
    pub fn shutdown(self) {
        if let Some(p) = self.traces {
            if let Err(e) = p.shutdown_with_timeout(std::time::Duration::from_secs(3)) {
                eprintln!("orderflow: flushing traces failed: {e}");
            }
        }
    }
}

/// Installs the global subscriber. `role` names the process in its traces
/// (`orderflow.role`) when `OTEL_SERVICE_NAME` does not.
pub fn init(c: &LogConfig, role: &str) -> Telemetry {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&c.level));
    let mut layers: Vec<Box<dyn Layer<Base> + Send + Sync>> = Vec::new();
    match c.format {
        LogFormat::Json => {
            layers.push(json::JsonLines::stderr().boxed());
        }
        LogFormat::Pretty => layers.push(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .boxed(),
        ),
    }
    let traces = match otel::provider(role) {
        Ok(Some(provider)) => {
            layers.push(otel::layer(&provider).boxed());
            Some(provider)
        }
        Ok(None) => None,
        Err(e) => {
            eprintln!("orderflow: traces are off: {e}");
            None
        }
    };
    propagation::set_exporting(traces.is_some());
    // A second init (tests) is not an error worth stopping for.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init();
    Telemetry { traces }
}
