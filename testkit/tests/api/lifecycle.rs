//! The application's life as an orchestrator sees it: probes, draining, request
//! metrics whatever answered, request ids, and a task that dies taking the process
//! with it. Built with `Application::build_with`, as `main` builds every role.

use orderflow::health::Probe;
use orderflow::startup::{Application, Background, Role};
use orderflow_core::domain::{Password, PasswordHash};
use orderflow_core::ports::{
    DeadLetter, Delivery, HashError, NoMeter, Outgoing, PasswordHasher, Published, Queue,
    QueueError, Receipt,
};
use orderflow_testkit::{spawn_app, spawn_app_custom, test_config};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn series(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

/// Hashing that panics or takes its time, for answers no handler writes itself.
struct OddHasher {
    panic: bool,
}

#[async_trait::async_trait]
impl PasswordHasher for OddHasher {
    async fn hash(&self, _: &Password) -> Result<PasswordHash, HashError> {
        if self.panic {
            panic!("a bug in a dependency");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        Err(HashError::Failed("too slow".into()))
    }
    async fn verify(&self, _: &Password, _: &PasswordHash) -> Result<bool, HashError> {
        Ok(false)
    }
    async fn verify_dummy(&self, _: &Password) -> Result<(), HashError> {
        Ok(())
    }
}

#[tokio::test]
async fn timeouts_oversized_bodies_and_panics_are_counted_under_their_route() {
    let register = json!({"email": "someone@example.com", "password": "a-strong-password"});
    let panicking = spawn_app_custom(
        |c| {
            c.bootstrap.admin_email = None;
            c.bootstrap.admin_password = None;
        },
        |a| a.hasher = Arc::new(OddHasher { panic: true }),
    )
    .await;
    let r = panicking
        .post("/api/auth/register", None, register.clone())
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
    let big = vec![b'x'; panicking.config.http.body_limit_bytes + 1];
    let r = panicking
        .post_raw("/api/auth/register", None, Some("application/json"), big)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let r = panicking.get("/no/such/thing", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let text = panicking.metrics_text().await;
    for line in [
        "orderflow_http_requests_total{method=\"POST\",route=\"/api/auth/register\",status=\"500\"} 1",
        "orderflow_http_requests_total{method=\"POST\",route=\"/api/auth/register\",status=\"413\"} 1",
        "orderflow_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }

    let slow = spawn_app_custom(
        |c| {
            c.bootstrap.admin_email = None;
            c.bootstrap.admin_password = None;
            c.http.request_timeout_ms = 200;
        },
        |a| a.hasher = Arc::new(OddHasher { panic: false }),
    )
    .await;
    let r = slow.post("/api/auth/register", None, register).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::REQUEST_TIMEOUT, "timeout")
    );
    let text = slow.metrics_text().await;
    let line = "orderflow_http_requests_total{method=\"POST\",route=\"/api/auth/register\",status=\"408\"} 1";
    assert!(
        text.lines().any(|l| l == line),
        "missing {line:?} in\n{text}"
    );
    // A client's invented method is one bounded label, not a new series per spelling.
    let r = slow
        .client
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            slow.url("/api/products"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let text = slow.metrics_text().await;
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(!text.contains("BREW"), "{text}");
}

#[tokio::test]
async fn the_process_reports_its_own_resources() {
    let app = spawn_app().await;
    let text = app.metrics_text().await;
    for name in [
        "orderflow_process_cpu_seconds_total ",
        "orderflow_process_resident_memory_bytes ",
        "orderflow_process_open_fds ",
        "orderflow_process_max_fds ",
        "orderflow_process_start_time_seconds ",
    ] {
        let v = series(&text, name).unwrap_or_else(|| panic!("no {name} in\n{text}"));
        assert!(v > 0.0, "{name} = {v}");
    }
    let started = series(&text, "orderflow_process_start_time_seconds ").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        now - started < 24.0 * 3600.0 && started <= now + 1.0,
        "start time {started} vs now {now}"
    );
}

#[tokio::test]
async fn readiness_checks_are_shared_by_a_burst_of_probes_and_show_no_error_text() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = spawn_app_custom(
        |_| {},
        move |a| {
            a.probes = vec![
                Probe::new("store", true, move || {
                    let counted = counted.clone();
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(())
                    }
                }),
                Probe::new("cache", false, || async {
                    Err("connect to redis://:hunter2@cache.internal:6379 refused".into())
                }),
            ]
        },
    )
    .await;
    let burst = (0..20).map(|i| {
        let url = if i % 2 == 0 {
            app.ops_url("/readyz")
        } else {
            app.url("/readyz")
        };
        app.client.get(url).send()
    });
    for r in futures::future::join_all(burst).await {
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.unwrap();
        assert!(body.contains("\"degraded\""), "{body}");
        assert!(
            !body.contains("hunter2") && !body.contains("cache.internal"),
            "{body}"
        );
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one round of checks for the burst"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.get("/readyz", None).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "checked again after a second"
    );
}

#[tokio::test]
async fn a_client_request_id_is_kept_only_when_short_and_visible() {
    let app = spawn_app().await;
    let id_of = |value: Option<&'static [u8]>| {
        let mut req = app.client.get(app.url("/api/products"));
        if let Some(v) = value {
            req = req.header(
                "x-request-id",
                reqwest::header::HeaderValue::from_bytes(v).unwrap(),
            );
        }
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.headers()["x-request-id"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(id_of(Some(b"req-42.abc")).await, "req-42.abc");
    let max = "a".repeat(128);
    assert_eq!(
        id_of(Some(Box::leak(max.clone().into_boxed_str()).as_bytes())).await,
        max
    );
    let fresh = |id: &str| uuid::Uuid::parse_str(id).is_ok();
    let too_long: &'static [u8] = Box::leak("a".repeat(129).into_bytes().into_boxed_slice());
    assert!(
        fresh(&id_of(Some(too_long)).await),
        "over 128 characters is replaced"
    );
    assert!(fresh(&id_of(Some(b"has space")).await), "not visible ASCII");
    assert!(fresh(&id_of(Some(b"caf\xc3\xa9")).await), "not ASCII");
    assert!(fresh(&id_of(None).await));
    // What a placement stores and queues is the kept one.
    let user = app.customer().await;
    app.product("RID", 100, 5).await;
    let r = app
        .client
        .post(app.url("/api/orders"))
        .bearer_auth(&user.access_token)
        .header("x-request-id", "x".repeat(5000))
        .json(&json!({"items": [{"sku": "RID", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let kept = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(fresh(&kept));
    let body: serde_json::Value = r.json().await.unwrap();
    let id = orderflow_core::domain::OrderId::parse(body["id"].as_str().unwrap()).unwrap();
    use orderflow_core::ports::Orders;
    let stored = app.store.get(id).await.unwrap().unwrap();
    assert_eq!(stored.request_id.as_deref(), Some(kept.as_str()));
}

#[tokio::test]
async fn sigterm_turns_readiness_to_draining_while_the_api_still_serves_then_stops() {
    let config = test_config(|c| c.http.drain_delay_ms = 1500);
    let app = Application::build_with(config, Role::Api, None)
        .await
        .unwrap();
    let (api, ops) = (app.http_addr().unwrap(), app.ops_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(
        async {
            let _ = stop_rx.await;
        },
        Background::Run,
    ));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let ready = client
        .get(format!("http://{ops}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    stop_tx.send(()).unwrap();
    let signalled = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for url in [
        format!("http://{ops}/readyz"),
        format!("http://{api}/readyz"),
    ] {
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], "draining");
    }
    // Still serving, on fresh connections too, until the drain delay is over.
    let fresh = reqwest::Client::new();
    let r = fresh
        .get(format!("http://{api}/api/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let outcome = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(
        signalled.elapsed() >= Duration::from_millis(1500),
        "drained for the whole delay"
    );
    assert!(
        reqwest::Client::new()
            .get(format!("http://{api}/api/products"))
            .send()
            .await
            .is_err(),
        "the listener is closed after the drain"
    );
}

/// A queue whose receive panics: the worker task dies with it.
struct PanickingQueue;

#[async_trait::async_trait]
impl orderflow_core::ports::Health for PanickingQueue {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl Queue for PanickingQueue {
    async fn publish(&self, _: &[Outgoing]) -> Result<Published, QueueError> {
        Ok(Published::all())
    }
    async fn receive(&self, _: usize, _: Duration) -> Result<Vec<Delivery>, QueueError> {
        panic!("the queue client hit a bug")
    }
    async fn ack(&self, _: &Receipt) -> Result<(), QueueError> {
        Ok(())
    }
    async fn retry_after(&self, _: &Receipt, _: Duration) -> Result<(), QueueError> {
        Ok(())
    }
    async fn extend(&self, _: &Receipt, _: Duration) -> Result<(), QueueError> {
        Ok(())
    }
    async fn dead_letters(&self, _: usize) -> Result<Vec<DeadLetter>, QueueError> {
        Ok(vec![])
    }
    async fn redrive(&self, _: usize) -> Result<usize, QueueError> {
        Ok(0)
    }
    async fn count_dead_letters(&self) -> Result<usize, QueueError> {
        Ok(0)
    }
    async fn drop_dead_letter(&self, _: &str) -> Result<bool, QueueError> {
        Ok(false)
    }
}

#[tokio::test]
async fn a_role_task_that_dies_ends_the_process_with_an_error() {
    let config = test_config(|_| {});
    let mut adapters = orderflow::wiring::Adapters::from_config(&config, Arc::new(NoMeter))
        .await
        .unwrap();
    adapters.queue = Arc::new(PanickingQueue);
    let app = Application::build_with(config, Role::Worker, Some(adapters))
        .await
        .unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        app.run_until_stopped(std::future::pending(), Background::Run),
    )
    .await
    .expect("it stops by itself instead of lingering");
    let err = outcome.expect_err("an error, so main exits non-zero");
    assert!(err.to_string().contains("panicked"), "{err:#}");
}
