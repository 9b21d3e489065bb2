//! The HTTP API: routes, middleware and the OpenAPI document.
//!
//! `error.rs` is the only place errors become status codes; `extract.rs` turns bad
//! input into those errors; `layers.rs` holds the middleware; one file per resource
//! holds its handlers.

pub mod admin;
pub mod auth;
pub mod desk;
pub mod error;
pub mod extract;
pub mod health;
pub mod layers;
pub mod openapi;
pub mod order_cache;
pub mod order_events;
pub mod orders;
pub mod password_reset;
pub mod products;
pub mod routes;
pub mod views;
pub mod webhooks;

use crate::config::{Cidr, HttpConfig};
use crate::health::Readiness;
use crate::metrics::Metrics;
use crate::wiring::Services;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::Response;
use axum::Router;
use error::ApiError;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa_swagger_ui::SwaggerUi;

/// What every handler gets: the use cases and what the API needs beside them. One
/// `Arc`, because axum clones the state for every extractor of every request: cloning
/// the services themselves (some twenty `Arc`s) costs 3% of the CPU of a cached order
/// read, and every extra `Arc` is an atomic increment and decrement per extractor.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub services: Services,
    /// Proxies whose `X-Forwarded-For` entries are believed (see `extract::ClientAddr`).
    pub trusted_proxies: Vec<Cidr>,
    pub readiness: Arc<Readiness>,
    pub streams: order_events::Streams,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for Arc<Readiness> {
    fn from_ref(s: &AppState) -> Self {
        s.readiness.clone()
    }
}

/// Every operation of the API, each served and documented from its `#[utoipa::path]`.
pub fn operations() -> routes::Api {
    routes::api![
        auth::register,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::me,
        auth::change_password,
        password_reset::request_password_reset,
        password_reset::confirm_password_reset,
        desk::get_user,
        admin::change_role,
        products::list,
        products::create,
        products::get,
        products::update,
        orders::list,
        orders::place,
        orders::get,
        order_events::order_events,
        orders::cancel,
        desk::search_orders,
        desk::cancel_order,
        webhooks::create_webhook,
        webhooks::list_webhooks,
        webhooks::delete_webhook,
        webhooks::deliveries,
        webhooks::redeliver,
        webhooks::rotate_secret,
        admin::dead_letters,
        admin::redrive,
        admin::drop_dead_letter,
        admin::set_aside,
        admin::retry_set_aside,
        admin::retry_emails,
        health::healthz,
        health::readyz,
    ]
}

pub fn router(services: Services, c: &HttpConfig, readiness: Arc<Readiness>) -> Router {
    let metrics: Arc<Metrics> = services.metrics.clone();
    let api = operations()
        .router
        // Inside the route, so their bare statuses (413, 408, a panic's 500) still
        // pass `note_route` and are counted under the route they hit. Below wraps above.
        .layer(DefaultBodyLimit::max(c.body_limit_bytes))
        .layer(RequestBodyLimitLayer::new(c.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(c.request_timeout_ms),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            res
        }))
        .route_layer(layers::NoteRouteLayer)
        .with_state(AppState(Arc::new(Shared {
            services,
            trusted_proxies: c.trusted_proxies.clone(),
            readiness,
            streams: order_events::Streams {
                slots: Arc::new(tokio::sync::Semaphore::new(c.max_streams)),
                heartbeat: Duration::from_millis(c.stream_heartbeat_ms.max(1)),
                recheck: Duration::from_millis(c.stream_recheck_ms.max(1)),
            },
        })));

    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::document()))
        .fallback(|| async { ApiError::NotFound("no such resource") })
        // Below wraps above: the request id is checked, set, traced, then errors are
        // rendered as problems; the metrics layer is outermost, so it counts every
        // answer, whatever produced it.
        .layer(middleware::from_fn(layers::render_problems))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(crate::telemetry::request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(tower::util::MapRequestLayer::new(
            layers::keep_valid_request_id,
        ))
        .layer(layers::TrackHttpLayer::new(metrics))
}
