//! A webhook receiver for tests: records every request and answers as told (fail the
//! first N, hang, or succeed), and checks Standard Webhooks signatures.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use orderflow_adapter_auth::HmacSigner;
use orderflow_core::domain::{signed_content, WebhookSecret};
use orderflow_core::ports::WebhookSigner;
use parking_lot::Mutex;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// One request as the receiver saw it, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or("").to_owned()
    }

    /// Whether one of the request's signatures is `secret`'s (the Standard Webhooks
    /// check: HMAC-SHA256 of `id.timestamp.body`).
    pub fn signed_by(&self, secret: &str) -> bool {
        let Ok(secret) = WebhookSecret::parse(secret) else {
            return false;
        };
        let Ok(ts) = self.timestamp.parse::<i64>() else {
            return false;
        };
        let expected = format!(
            "v1,{}",
            HmacSigner.sign(&secret, &signed_content(&self.id, ts, &self.body))
        );
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Default)]
struct State {
    seen: Vec<Received>,
    fail_first: usize,
    hang: bool,
}

/// A receiver on 127.0.0.1; clones share it.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    /// Answers 500 to the first `fail_first` requests, then 204.
    pub async fn failing_first(fail_first: usize) -> Self {
        Self::start(State {
            fail_first,
            ..State::default()
        })
        .await
    }

    /// Never answers (holds each request for a minute).
    pub async fn hanging() -> Self {
        Self::start(State {
            hang: true,
            ..State::default()
        })
        .await
    }

    async fn start(state: State) -> Self {
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move { answer(&shared, &headers, body).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("receiver binds");
        let addr = listener.local_addr().expect("receiver address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn seen(&self) -> Vec<Received> {
        self.state.lock().seen.clone()
    }

    pub fn set_fail_first(&self, n: usize) {
        let mut s = self.state.lock();
        s.fail_first = s.seen.len() + n;
    }
}

async fn answer(state: &Mutex<State>, headers: &HeaderMap, body: Bytes) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (status, hang) = {
        let mut s = state.lock();
        let status = if s.seen.len() < s.fail_first {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::NO_CONTENT
        };
        s.seen.push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: body.to_vec(),
            answered: status.as_u16(),
        });
        (status, s.hang)
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    status
}
