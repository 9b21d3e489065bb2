//! The HTTP API: routes, middleware and the OpenAPI document.
//!
//! `error.rs` is the only place errors become status codes; `extract.rs` turns bad
//! input into those errors; one file per resource holds its handlers.

pub mod admin;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod orders;
pub mod products;
pub mod views;

use crate::config::HttpConfig;
use crate::wiring::Services;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use error::{ApiError, Problem};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// What every handler gets: the use cases. Behind an `Arc` because axum clones the
/// state for every extractor of every request: cloning the services themselves (some
/// twenty `Arc`s) cost 3% of the CPU of a cached order read.
#[derive(Clone)]
pub struct AppState {
    pub services: std::sync::Arc<Services>,
    pub trust_forwarded_for: bool,
}

pub fn router(services: Services, c: &HttpConfig) -> Router {
    let api = Router::new()
        .route("/api/auth/register", post(auth::register))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/refresh", post(auth::refresh))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/me", get(auth::me))
        .route("/api/products", get(products::list).post(products::create))
        .route(
            "/api/products/{sku}",
            get(products::get).patch(products::update),
        )
        .route("/api/orders", get(orders::list).post(orders::place))
        .route("/api/orders/{id}", get(orders::get))
        .route("/api/orders/{id}/cancel", post(orders::cancel))
        .route("/api/admin/dead-letters", get(admin::dead_letters))
        .route("/api/admin/dead-letters/redrive", post(admin::redrive))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route_layer(middleware::from_fn_with_state(
            services.metrics.clone(),
            record_metrics,
        ))
        .with_state(AppState {
            services: std::sync::Arc::new(services),
            trust_forwarded_for: c.trust_forwarded_for,
        });

    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::ApiDoc::openapi()))
        .fallback(|| async { ApiError::NotFound("no such resource") })
        .layer(DefaultBodyLimit::max(c.body_limit_bytes))
        // Layers below wrap those above: the request id is set first, then traced,
        // then errors rendered (including panics, timeouts and oversized bodies).
        .layer(RequestBodyLimitLayer::new(c.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_millis(c.request_timeout_ms)))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            res
        }))
        .layer(middleware::from_fn(render_problems))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let rid = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %rid)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Counts every routed request by method, route template and status, with latency.
async fn record_metrics(
    axum::extract::State(m): axum::extract::State<std::sync::Arc<crate::metrics::Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    let method = req.method().clone();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    m.incr(
        "http_requests_total",
        &[
            ("method", method.as_str()),
            ("route", route),
            ("status", res.status().as_str()),
        ],
        1,
    );
    m.observe(
        "http_request_duration_seconds",
        &[("route", route)],
        started.elapsed(),
    );
    res
}

/// Renders every error response as `application/problem+json` with the request id:
/// the handlers' `ApiError`s, and bare statuses from routing, limits and timeouts.
async fn render_problems(req: Request, next: Next) -> Response {
    // The header value, not a String: a cheap reference-counted copy, turned into text
    // only for the rare error response.
    let rid = req.headers().get("x-request-id").cloned();
    let mut res = next.run(req).await;
    let problem = match res.extensions_mut().remove::<Problem>() {
        Some(p) => Some(p),
        None if res.status().as_u16() >= 400 && !is_json(&res) => {
            ApiError::from_status(res.status()).map(|e| e.problem())
        }
        None => None,
    };
    if let Some(mut p) = problem {
        p.request_id = rid.and_then(|v| v.to_str().ok().map(str::to_owned));
        let body = serde_json::to_vec(&p).unwrap_or_default();
        res.headers_mut().remove(header::CONTENT_LENGTH);
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        *res.body_mut() = Body::from(body);
    }
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
}
