//! The API's middleware: request metrics, request ids, and problem rendering.

use super::error::{ApiError, Problem};
use crate::metrics::{HttpLabels, Metrics, RouteLabels};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

/// The route template a request matched, put on its response by [`note_route`].
#[derive(Clone, Copy)]
struct RouteName(&'static str);

/// Route templates as `&'static str`, so a metric label costs no allocation. Only
/// templates the router declared ever get here, never a path a client wrote, so the
/// set is small and fixed.
fn intern(route: &str) -> &'static str {
    static ROUTES: OnceLock<parking_lot::RwLock<HashSet<&'static str>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(r) = routes.read().get(route) {
        return r;
    }
    let mut w = routes.write();
    if let Some(r) = w.get(route) {
        return r;
    }
    let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
    w.insert(leaked);
    leaked
}

/// A bounded set of method labels: anything unusual a client sends is `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Runs first inside every matched route: tags the response with the route template
/// and names the request's span after it (`POST /api/orders`).
pub async fn note_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| intern(p.as_str()));
    if let Some(route) = route {
        let span = tracing::Span::current();
        span.record("http.route", route);
        crate::telemetry::rename(&span, || format!("{} {route}", req.method()));
    }
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(RouteName(route));
    }
    res
}

/// Counts every answer by method, route template and status, with its latency. The
/// outermost layer: timeouts, oversized bodies, panics and unknown routes included
/// (the last as route `unmatched`).
pub async fn track_http(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<RouteName>()
        .map_or("unmatched", |r| r.0);
    m.http_requests
        .get_or_create(&HttpLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    m.http_duration
        .get_or_create(&RouteLabels { method, route })
        .observe(started.elapsed().as_secs_f64());
    res
}

/// The longest `X-Request-Id` kept from a client; longer ones are replaced.
pub const MAX_REQUEST_ID: usize = 128;

/// A client's `X-Request-Id` is stored with the order, put in the queue message and
/// echoed back: keep it only if it is one value of 1 to 128 visible ASCII characters,
/// otherwise drop it so the request-id layer makes a fresh one.
pub async fn keep_valid_request_id(mut req: Request) -> Request {
    let headers = req.headers_mut();
    let mut values = headers.get_all("x-request-id").iter();
    let keep = match (values.next(), values.next()) {
        (None, _) => true,
        (Some(v), None) => {
            let b = v.as_bytes();
            (1..=MAX_REQUEST_ID).contains(&b.len()) && b.iter().all(|c| (0x21..=0x7e).contains(c))
        }
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove("x-request-id");
    }
    req
}

/// Renders every error response as `application/problem+json` with the request id:
/// the handlers' `ApiError`s, and bare statuses from routing, limits and timeouts.
pub async fn render_problems(req: Request, next: Next) -> Response {
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
