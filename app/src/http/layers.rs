//! The API's middleware: request metrics, request ids, and problem rendering.

use super::error::{ApiError, Problem};
use crate::metrics::{HttpLabels, Metrics, RouteLabels};
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use pin_project_lite::pin_project;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use tower::{Layer, Service};

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

// The two layers below run on every request, so they are plain tower services with
// their own futures: `middleware::from_fn` boxes a future and clones the whole inner
// stack per request (see BENCHMARKS.md, issue 10).

/// Runs first inside every matched route: tags the response with the route template
/// and names the request's span after it (`POST /api/orders`).
#[derive(Clone, Copy)]
pub struct NoteRouteLayer;

impl<S> Layer<S> for NoteRouteLayer {
    type Service = NoteRoute<S>;
    fn layer(&self, inner: S) -> NoteRoute<S> {
        NoteRoute { inner }
    }
}

#[derive(Clone)]
pub struct NoteRoute<S> {
    inner: S,
}

impl<S> Service<Request> for NoteRoute<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = WithRoute<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| intern(p.as_str()));
        if let Some(route) = route {
            let span = tracing::Span::current();
            span.record("http.route", route);
            crate::telemetry::rename(&span, || format!("{} {route}", req.method()));
        }
        WithRoute {
            inner: self.inner.call(req),
            route,
        }
    }
}

pin_project! {
    pub struct WithRoute<F> {
        #[pin]
        inner: F,
        route: Option<&'static str>,
    }
}

impl<F, E> Future for WithRoute<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if let Some(route) = *this.route {
            res.extensions_mut().insert(RouteName(route));
        }
        Poll::Ready(Ok(res))
    }
}

/// Counts every answer by method, route template and status, with its latency. The
/// outermost layer: timeouts, oversized bodies, panics and unknown routes included
/// (the last as route `unmatched`).
#[derive(Clone)]
pub struct TrackHttpLayer {
    metrics: Arc<Metrics>,
}

impl TrackHttpLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for TrackHttpLayer {
    type Service = TrackHttp<S>;
    fn layer(&self, inner: S) -> TrackHttp<S> {
        TrackHttp {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct TrackHttp<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B> Service<axum::http::Request<B>> for TrackHttp<S>
where
    S: Service<axum::http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Tracked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        Tracked {
            method: method_label(req.method()),
            started: std::time::Instant::now(),
            metrics: self.metrics.clone(),
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    pub struct Tracked<F> {
        #[pin]
        inner: F,
        method: &'static str,
        started: std::time::Instant,
        metrics: Arc<Metrics>,
    }
}

impl<F, E> Future for Tracked<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.inner.poll(cx))?;
        let route = res
            .extensions()
            .get::<RouteName>()
            .map_or("unmatched", |r| r.0);
        let method = *this.method;
        this.metrics
            .http_requests
            .get_or_create(&HttpLabels {
                method,
                route,
                status: res.status().as_u16(),
            })
            .inc();
        this.metrics
            .http_duration
            .get_or_create(&RouteLabels { method, route })
            .observe(this.started.elapsed().as_secs_f64());
        Poll::Ready(Ok(res))
    }
}

/// The longest `X-Request-Id` kept from a client; longer ones are replaced.
pub const MAX_REQUEST_ID: usize = 128;

/// A client's `X-Request-Id` is stored with the order, put in the queue message and
/// echoed back: keep it only if it is one value of 1 to 128 visible ASCII characters,
/// otherwise drop it so the request-id layer makes a fresh one.
pub fn keep_valid_request_id<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
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
