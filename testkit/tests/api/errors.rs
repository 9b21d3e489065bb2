//! Error shape and the edges of input: every error is problem+json with a code and the
//! request id; nothing malformed gets a 500.

use orderflow_testkit::{spawn_app, RunningApp};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn errors_are_problem_json_with_the_request_id() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/nowhere"))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(res.headers()["x-request-id"], "req-42");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["request_id"], "req-42");
    for key in ["type", "title", "detail"] {
        assert!(body[key].is_string(), "{key}");
    }
    // Without a request id one is made up, and it is the same in header and body.
    let r = app.get("/api/nowhere", None).await;
    assert_eq!(r.header("x-request-id"), r.body["request_id"].as_str());
    assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
}

#[tokio::test]
async fn wrong_method_is_405_problem() {
    let app = spawn_app().await;
    let r = app
        .call(reqwest::Method::DELETE, "/api/products", None, None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn malformed_json_is_400_and_wrong_content_type_415() {
    let app = spawn_app().await;
    for raw in [&b"{"[..], b"not json", b"{\"email\": }", b""] {
        let r = app
            .post_raw(
                "/api/auth/register",
                None,
                Some("application/json"),
                raw.to_vec(),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "invalid_json"),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    let r = app
        .post_raw(
            "/api/auth/register",
            None,
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let r = app
        .post_raw("/api/auth/register", None, None, b"{}".to_vec())
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let big = json!({"items": [{"sku": "X".repeat(70_000), "quantity": 1}]})
        .to_string()
        .into_bytes();
    let r = app
        .post_raw(
            "/api/orders",
            Some(&user.access_token),
            Some("application/json"),
            big,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    assert!(app.store.all_orders().is_empty());
}

#[tokio::test]
async fn customers_get_403_on_every_admin_route() {
    let app = spawn_app().await;
    app.product("ADM", 1, 1).await;
    let c = app.customer().await;
    let create = app
        .post(
            "/api/products",
            Some(&c.access_token),
            json!({"sku": "Z", "name": "z", "price_cents": 1, "stock": 1}),
        )
        .await;
    let patch = app
        .patch(
            "/api/products/ADM",
            Some(&c.access_token),
            json!({"stock_delta": 1}),
        )
        .await;
    for r in [create, patch] {
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    }
    assert_eq!(app.stock("ADM").await, 1);
}

struct BrokenHasher;

#[async_trait::async_trait]
impl orderflow_core::ports::PasswordHasher for BrokenHasher {
    async fn hash(
        &self,
        _: &orderflow_core::domain::Password,
    ) -> Result<orderflow_core::domain::PasswordHash, orderflow_core::ports::HashError> {
        Err(orderflow_core::ports::HashError::Failed(
            "secret internal detail".into(),
        ))
    }
    async fn verify(
        &self,
        _: &orderflow_core::domain::Password,
        _: &orderflow_core::domain::PasswordHash,
    ) -> Result<bool, orderflow_core::ports::HashError> {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        Ok(false)
    }
    async fn verify_dummy(
        &self,
        _: &orderflow_core::domain::Password,
    ) -> Result<(), orderflow_core::ports::HashError> {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        Ok(())
    }
}

struct DownUsers;

#[async_trait::async_trait]
impl orderflow_core::ports::Health for DownUsers {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Err("connection refused".into())
    }
}

#[async_trait::async_trait]
impl orderflow_core::ports::UserRepo for DownUsers {
    async fn insert(
        &self,
        _: &orderflow_core::domain::User,
    ) -> Result<(), orderflow_core::ports::UserRepoError> {
        Err(orderflow_core::ports::UserRepoError::Unavailable(
            "connection refused".into(),
        ))
    }
    async fn by_email(
        &self,
        _: &orderflow_core::domain::Email,
    ) -> Result<Option<orderflow_core::domain::User>, orderflow_core::ports::UserRepoError> {
        Err(orderflow_core::ports::UserRepoError::Unavailable(
            "connection refused".into(),
        ))
    }
    async fn by_id(
        &self,
        _: orderflow_core::domain::UserId,
    ) -> Result<Option<orderflow_core::domain::User>, orderflow_core::ports::UserRepoError> {
        Err(orderflow_core::ports::UserRepoError::Unavailable(
            "connection refused".into(),
        ))
    }
    async fn set_password(
        &self,
        _: orderflow_core::domain::UserId,
        _: &orderflow_core::domain::PasswordHash,
    ) -> Result<bool, orderflow_core::ports::UserRepoError> {
        Err(orderflow_core::ports::UserRepoError::Unavailable(
            "connection refused".into(),
        ))
    }
    async fn set_role(
        &self,
        _: orderflow_core::domain::UserId,
        _: orderflow_core::domain::Role,
    ) -> Result<bool, orderflow_core::ports::UserRepoError> {
        Err(orderflow_core::ports::UserRepoError::Unavailable(
            "connection refused".into(),
        ))
    }
}

#[tokio::test]
async fn internal_failures_are_opaque_500s() {
    let app = orderflow_testkit::spawn_app_custom(
        |c| {
            c.bootstrap.admin_email = None;
            c.bootstrap.admin_password = None;
        },
        |a| a.hasher = std::sync::Arc::new(BrokenHasher),
    )
    .await;
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "x@example.com", "password": "a-strong-password"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
    assert!(
        !r.body.to_string().contains("secret internal detail"),
        "causes stay in the log"
    );
    assert!(r.body["request_id"].is_string());
}

#[tokio::test]
async fn an_unavailable_store_is_a_503_with_retry_after() {
    let app = orderflow_testkit::spawn_app_custom(
        |c| {
            c.bootstrap.admin_email = None;
            c.bootstrap.admin_password = None;
        },
        |a| a.store.users = std::sync::Arc::new(DownUsers),
    )
    .await;
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "x@example.com", "password": "a-strong-password"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    let r = app.login("x@example.com", "a-strong-password").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    );
}

#[tokio::test]
async fn slow_requests_time_out_with_408() {
    let app = orderflow_testkit::spawn_app_custom(
        |c| {
            c.http.request_timeout_ms = 100;
            c.bootstrap.admin_email = None;
            c.bootstrap.admin_password = None;
        },
        |a| a.hasher = std::sync::Arc::new(BrokenHasher),
    )
    .await;
    let r = app.login("nobody@example.com", "a-strong-password").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::REQUEST_TIMEOUT, "timeout")
    );
}

/// A client that trickles its request head is disconnected: slow clients cannot hold
/// connections open.
#[tokio::test]
async fn slow_clients_are_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = orderflow_testkit::spawn_app_with(|c| c.http.header_read_timeout_ms = 500).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf)).await;
    match read {
        Ok(Ok(n)) => assert!(
            n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Ok(Err(_)) => {}
        Err(_) => panic!("the half-sent request kept the connection open"),
    }
    // A normal request still works.
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
}

/// A path segment that does not decode (invalid UTF-8 after percent-decoding) is a
/// problem like any other rejection, not axum's plain-text answer.
#[tokio::test]
async fn an_undecodable_path_segment_is_a_problem_too() {
    let app = spawn_app().await;
    let user = app.customer().await;
    for (path, token) in [
        ("/api/products/%C0", None),
        ("/api/orders/%C0", Some(user.access_token.as_str())),
        (
            "/api/orders/%FF%FE/cancel",
            Some(user.access_token.as_str()),
        ),
    ] {
        let mut req = app.client.get(app.url(path));
        if path.ends_with("/cancel") {
            req = app.client.post(app.url(path)).json(&json!({}));
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = RunningApp::read(req.send().await.unwrap()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {:?}", r.body);
        assert_eq!(r.code(), "not_found", "{path}");
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{path}"
        );
    }
}
