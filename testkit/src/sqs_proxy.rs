//! A proxy in front of an SQS emulator that answers receives as real SQS may: fewer
//! messages than asked for, nothing at all to a short poll (which samples only some of
//! SQS's servers), and errors. Emulators always answer a receive with everything they
//! hold, so code that relies on that passes against them and fails against AWS.
//!
//! It speaks the JSON protocol the SDK uses (`X-Amz-Target: AmazonSQS.<Action>`) and
//! forwards every other call untouched. Changing a request body voids its signature;
//! the emulators do not check signatures.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

pub struct SqsProxy {
    /// Give this to the SDK as its endpoint.
    pub endpoint: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

struct State {
    upstream: String,
    client: reqwest::Client,
    one_per_receive: AtomicBool,
    empty_short_polls: AtomicBool,
    /// Receives still answered before every further one fails; `usize::MAX`: none fail.
    receives_before_failing: AtomicUsize,
    receives: AtomicUsize,
}

impl Drop for SqsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SqsProxy {
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            one_per_receive: AtomicBool::new(false),
            empty_short_polls: AtomicBool::new(false),
            receives_before_failing: AtomicUsize::new(usize::MAX),
            receives: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SQS proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let s = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = s.clone();
                async move { s.handle(method, uri, headers, body).await }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            endpoint,
            state,
            task,
        }
    }

    /// Every receive answers with at most one message.
    pub fn one_per_receive(&self, on: bool) {
        self.state.one_per_receive.store(on, Ordering::SeqCst);
    }

    /// Every short poll (no `WaitTimeSeconds`, or zero) answers with no message.
    pub fn empty_short_polls(&self, on: bool) {
        self.state.empty_short_polls.store(on, Ordering::SeqCst);
    }

    /// After `n` more receives, every receive fails (a 500) until `heal`.
    pub fn fail_receives_after(&self, n: usize) {
        self.state
            .receives_before_failing
            .store(n, Ordering::SeqCst);
    }

    pub fn heal(&self) {
        self.state
            .receives_before_failing
            .store(usize::MAX, Ordering::SeqCst);
    }

    /// Receives that reached the proxy.
    pub fn receives(&self) -> usize {
        self.state.receives.load(Ordering::SeqCst)
    }
}

impl State {
    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut body = body;
        if target == "AmazonSQS.ReceiveMessage" {
            self.receives.fetch_add(1, Ordering::SeqCst);
            let left = self.receives_before_failing.load(Ordering::SeqCst);
            if left == 0 {
                return json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"__type":"InternalError","message":"failed by the test's proxy"}"#,
                );
            }
            if left != usize::MAX {
                self.receives_before_failing
                    .store(left - 1, Ordering::SeqCst);
            }
            let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
                return json(StatusCode::BAD_REQUEST, r#"{"__type":"InvalidRequest"}"#);
            };
            let wait = request["WaitTimeSeconds"].as_i64().unwrap_or(0);
            if wait == 0 && self.empty_short_polls.load(Ordering::SeqCst) {
                return json(StatusCode::OK, "{}");
            }
            if self.one_per_receive.load(Ordering::SeqCst) {
                request["MaxNumberOfMessages"] = Value::from(1);
                body = Bytes::from(request.to_string());
            }
        }
        let mut forward = self
            .client
            .request(method, format!("{}{}", self.upstream, uri))
            .body(body);
        for (name, value) in &headers {
            if name != "host" && name != "content-length" {
                forward = forward.header(name, value);
            }
        }
        match forward.send().await {
            Ok(r) => {
                let status = r.status();
                let content_type = r.headers().get("content-type").cloned();
                let bytes = r.bytes().await.unwrap_or_default();
                let mut out = (status, bytes).into_response();
                if let Some(ct) = content_type {
                    out.headers_mut().insert("content-type", ct);
                }
                out
            }
            Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        }
    }
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [("content-type", "application/x-amz-json-1.0")],
        body,
    )
        .into_response()
}
