use crate::faults::SwitchableQueue;
use orderflow::config::{Config, Secret};
use orderflow::startup::{Application, Background, Role};
use orderflow::wiring::{jwt_issuer, memory_queue, Adapters, Services, StorePorts};
use orderflow::worker::Worker;
use orderflow_adapter_auth::{Argon2Hasher, Argon2Settings};
use orderflow_adapter_memory::{
    MemoryCache, MemoryLimiter, MemoryQueue, MemoryStore, RecordingMailer,
};
use orderflow_core::ports::SystemClock;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub const ADMIN_EMAIL: &str = "admin@test.local";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// For configurations that are not the embedded one, which refuse the development secret.
pub const TEST_JWT_SECRET: &str = "a-jwt-secret-for-the-test-suites-only";

/// A running application (built by `Application::build_with`, as `main` builds it)
/// on random ports, whatever its adapters, with the worker and relay left for the test
/// to step.
pub struct RunningApp {
    /// The API.
    pub addr: SocketAddr,
    /// The ops listener: `/healthz`, `/readyz`, `/metrics`.
    pub ops_addr: SocketAddr,
    pub client: reqwest::Client,
    pub config: Config,
    pub services: Services,
    pub worker: Worker,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The app on fresh in-memory adapters, with handles on them.
pub struct TestApp {
    app: RunningApp,
    pub store: MemoryStore,
    pub queue: MemoryQueue,
    /// The queue as the app sees it: switch it off to simulate an outage.
    pub queue_switch: SwitchableQueue,
    pub mailer: RecordingMailer,
}

impl std::ops::Deref for TestApp {
    type Target = RunningApp;
    fn deref(&self) -> &RunningApp {
        &self.app
    }
}

impl TestApp {
    /// Opens an order's live status stream; the answer as a `Reply` when it is not
    /// a stream (an error).
    pub async fn events(
        &self,
        order_id: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Result<crate::sse::EventStream, Reply> {
        let mut req = self
            .client
            .get(self.url(&format!("/api/orders/{order_id}/events")))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.expect("request sent");
        let is_stream = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if res.status().is_success() && is_stream {
            Ok(crate::sse::EventStream::new(res))
        } else {
            Err(Self::read(res).await)
        }
    }

    pub async fn read(res: reqwest::Response) -> Reply {
        RunningApp::read(res).await
    }
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app with test settings, after `tweak` has had its say.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_custom(tweak, |_| {}).await
}

/// Like `spawn_app_with`, and lets the test swap adapters (a failing hasher, a manual
/// clock…) before the use cases are built.
pub async fn spawn_app_custom(
    tweak: impl FnOnce(&mut Config),
    swap: impl FnOnce(&mut Adapters),
) -> TestApp {
    let config = test_config(tweak);
    let store = MemoryStore::new();
    let queue = memory_queue(&config);
    let queue_switch = SwitchableQueue::new(Arc::new(queue.clone()));
    let mailer = RecordingMailer::default();
    let mut adapters = memory_adapters(
        &config,
        &store,
        Arc::new(queue_switch.clone()),
        Arc::new(mailer.clone()),
    );
    swap(&mut adapters);
    let app = start(config, Some(adapters)).await;
    TestApp {
        app,
        store,
        queue,
        queue_switch,
        mailer,
    }
}

/// The in-memory adapters the test apps run on, over `store` (shared by clones, so
/// several apps on one store are processes of one fleet).
pub fn memory_adapters(
    config: &Config,
    store: &MemoryStore,
    queue: Arc<dyn orderflow_core::ports::Queue>,
    mailer: Arc<dyn orderflow_core::ports::Mailer>,
) -> Adapters {
    Adapters {
        store: StorePorts::of(store.clone()),
        cache: Arc::new(MemoryCache::new(config.cache.max_entries)),
        feed: Arc::new(orderflow_adapter_memory::MemoryFeed::default()),
        queue,
        mailer,
        tokens: Arc::new(jwt_issuer(config).expect("test jwt settings")),
        hasher: Arc::new(
            Argon2Hasher::new(Argon2Settings {
                memory_kib: config.auth.argon2_memory_kib,
                iterations: config.auth.argon2_iterations,
                parallelism: 1,
                max_waiting: config.auth.argon2_max_waiting,
            })
            .expect("test argon2 settings"),
        ),
        clock: Arc::new(SystemClock),
        limiter: Arc::new(MemoryLimiter::default()),
        webhook_sender: Arc::new(
            orderflow::wiring::webhook_sender(config).expect("test webhook settings"),
        ),
        signer: Arc::new(orderflow_adapter_auth::HmacSigner),
        probes: Vec::new(),
    }
}

/// The settings every test app starts from; `tweak` has the last word.
pub fn test_config(tweak: impl FnOnce(&mut Config)) -> Config {
    crate::init_test_logs();
    let mut config = Config::defaults();
    config.http.bind = "127.0.0.1:0".parse().expect("literal address");
    config.ops.bind = "127.0.0.1:0".parse().expect("literal address");
    // Tests hash hundreds of passwords: cheap argon2 here only. The OWASP defaults are
    // asserted by the auth adapter's own tests.
    config.auth.argon2_memory_kib = 256;
    config.auth.argon2_iterations = 1;
    config.relay.min_age_ms = 0;
    config.worker.retry_base_ms = 0;
    config.worker.retry_max_ms = 0;
    config.bootstrap.admin_email = Some(ADMIN_EMAIL.into());
    config.bootstrap.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    config.bootstrap.demo_catalog = false;
    // Tests log in far more often than people; throttling tests set their own limits.
    config.auth.login_per_email = 10_000;
    config.auth.login_per_client = 10_000;
    config.auth.login_failures_per_email = 10_000;
    config.auth.register_per_client = 10_000;
    config.auth.refresh_per_client = 10_000;
    // Receivers run on this machine; failed tries are due again at once (tests that
    // look at the pacing set their own).
    config.webhooks.allow_private_networks = true;
    config.webhooks.retry_first_ms = 1;
    config.webhooks.retry_max_ms = 1;
    tweak(&mut config);
    config
}

/// Builds the `run` role on `adapters` (or, with `None`, on those the configuration
/// names) and serves it, leaving the worker and relay to the test.
pub async fn start(config: Config, adapters: Option<Adapters>) -> RunningApp {
    let app = Application::build_with(config.clone(), Role::Run, adapters)
        .await
        .expect("the application builds");
    let addr = app.http_addr().expect("the run role serves the API");
    let ops_addr = app.ops_addr();
    let services = app.services().clone();
    let worker = app.worker();
    let server = tokio::spawn(app.run_until_stopped(std::future::pending(), Background::Stepped));
    RunningApp {
        addr,
        ops_addr,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        config,
        services,
        worker,
        server,
    }
}

/// A response read whole: status, headers and JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem `code` of an error reply.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl RunningApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A URL on the ops listener.
    pub fn ops_url(&self, path: &str) -> String {
        format!("http://{}{}", self.ops_addr, path)
    }

    /// The ops listener's `/metrics` text.
    pub async fn metrics_text(&self) -> String {
        let res = self
            .client
            .get(self.ops_url("/metrics"))
            .send()
            .await
            .expect("metrics answered");
        assert!(res.status().is_success());
        res.text().await.expect("metrics body")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    pub async fn read(res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    /// Sends a raw body with the given content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: impl Into<Value>) -> Reply {
        self.post(
            "/api/auth/refresh",
            None,
            json!({ "refresh_token": refresh_token.into() }),
        )
        .await
    }

    /// Registers and logs in a fresh customer.
    pub async fn customer(&self) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "a-strong-password".to_owned();
        let r = self
            .post(
                "/api/auth/register",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let id = r.body["id"].as_str().expect("id").to_owned();
        let t = self.login(&email, &password).await;
        assert_eq!(t.status, StatusCode::OK, "{:?}", t.body);
        TestUser {
            id,
            email,
            password,
            access_token: t.body["access_token"].as_str().expect("access").to_owned(),
            refresh_token: t.body["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        }
    }

    /// The bootstrap admin's access token.
    pub async fn admin_token(&self) -> String {
        let t = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(t.status, StatusCode::OK, "{:?}", t.body);
        t.body["access_token"].as_str().expect("access").to_owned()
    }

    /// Creates a product through the API as admin.
    pub async fn product(&self, sku: &str, price_cents: i64, stock: i64) {
        let admin = self.admin_token().await;
        let r = self
            .post("/api/products", Some(&admin), json!({"sku": sku, "name": format!("Product {sku}"), "price_cents": price_cents, "stock": stock}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }

    /// Places an order, then publishes what the placement handed to the relay, as the
    /// running hand-off task would at once. `post` leaves the hand-off to the test.
    pub async fn place(&self, token: &str, items: Value) -> Reply {
        let reply = self
            .post("/api/orders", Some(token), json!({ "items": items }))
            .await;
        self.flush_handoff().await;
        reply
    }

    /// Publishes what placements handed to the relay (as the `run` role's hand-off task
    /// does in the background), ten to a call; returns how many orders the queue accepted.
    pub async fn flush_handoff(&self) -> usize {
        let mut total = 0;
        loop {
            let batch = {
                let mut rx = self.services.handoff.lock().expect("hand-off lock");
                let Some(batch) = rx.as_mut().and_then(|rx| rx.try_batch(10)) else {
                    return total;
                };
                batch
            };
            // As in the running task, a failed publish leaves the orders to the scan.
            match self.services.relay.hand_off(&batch).await {
                Ok(done) => total += done.published,
                Err(_) => return total,
            }
        }
    }

    /// Publishes handed-over orders, then runs the worker until the queue has nothing
    /// visible; returns deliveries handled.
    pub async fn drain(&self) -> usize {
        self.flush_handoff().await;
        let mut total = 0;
        loop {
            let n = self
                .worker
                .run_once(Duration::ZERO)
                .await
                .expect("queue receive");
            if n == 0 {
                return total;
            }
            total += n;
        }
    }

    /// One look of the due-email scan, gauges included; returns how many emails it sent.
    pub async fn send_due_emails(&self) -> usize {
        orderflow::notifier::scan_once(&self.services.processor, &self.services.metrics, 50)
            .await
            .expect("due-email scan")
            .sent
    }

    /// One look of the workers' fleet gauges (pending orders, dead letters).
    pub async fn read_fleet_gauges(&self) {
        let s = &self.services;
        orderflow::gauges::FleetGauges {
            relay: s.relay.clone(),
            processor: s.processor.clone(),
            dead_letters: s.dead_letters.clone(),
            clock: s.adapters.clock.clone(),
            metrics: s.metrics.clone(),
        }
        .look()
        .await;
    }

    /// One value from the ops listener's `/metrics`: the sample whose series (name and
    /// labels, as rendered) is `series`; `None` when there is none.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        self.metrics_text().await.lines().find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
    }

    /// One pass of the relay's timed scan, gauges included; returns how many orders it
    /// published.
    pub async fn run_relay(&self) -> usize {
        orderflow::relay::scan_once(&self.services.relay, &self.services.metrics)
            .await
            .expect("relay")
            .published
    }

    /// Hands out every owed webhook event, then sends every due delivery one at a time
    /// until none is due (a retry due within a few milliseconds is waited for); what
    /// each try did, in order. Counted in the metrics as the sender task counts.
    pub async fn deliver_webhooks(&self) -> Vec<orderflow_core::usecases::Sent> {
        let w = &self.services.webhooks;
        while w.fan_out(100).await.expect("webhook fan-out").handed > 0 {}
        let mut sent = Vec::new();
        let mut idle = 0;
        while idle < 3 {
            let Some(lane) = w.claim(&[]).await.expect("claim a lane") else {
                idle += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            idle = 0;
            let outcome = w.send(&lane).await.expect("send");
            self.services.metrics.count_webhook(&outcome, lane.webhook);
            sent.push(outcome);
            assert!(sent.len() < 10_000, "deliveries do not end");
        }
        sent
    }

    pub async fn stock(&self, sku: &str) -> i64 {
        let r = self.get(&format!("/api/products/{sku}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["stock"].as_i64().expect("stock")
    }
}

/// The app on the real services named by the test environment (MongoDB, Redis, SQS,
/// SMTP): its own database, key prefix and queues per call, so tests run in parallel.
/// `None` (the test is skipped) when the services are not configured outside CI.
pub async fn spawn_stack(tweak: impl FnOnce(&mut Config)) -> Option<RunningApp> {
    use crate::services::unique;
    use orderflow::config::{CacheKind, MailerKind, QueueKind, SmtpTls, StoreKind};
    let mongo = crate::services::mongo_url().await?;
    let redis = crate::services::redis_url().await?;
    let aws = crate::services::aws_endpoint().await?;
    let smtp = crate::services::smtp().await?.addr;
    let id = unique("stack");
    let mut config = test_config(|c| {
        c.adapters.store = StoreKind::Mongo;
        c.adapters.cache = CacheKind::Redis;
        c.adapters.queue = QueueKind::Sqs;
        c.adapters.mailer = MailerKind::Smtp;
        c.mongo.uri = Secret::new(mongo);
        c.mongo.database = id.replace('-', "_");
        c.redis.url = Secret::new(redis);
        c.redis.key_prefix = format!("{id}:");
        c.aws.endpoint_url = Some(aws);
        c.aws.access_key_id = Some("test".into());
        c.aws.secret_access_key = Some(Secret::new("test"));
        c.sqs.queue_name = id.clone();
        c.sqs.dlq_name = format!("{id}-dlq");
        c.sqs.create_queues = true;
        let (host, port) = smtp
            .rsplit_once(':')
            .expect("ORDERFLOW_TEST_SMTP_ADDR is host:port");
        c.smtp.host = host.into();
        c.smtp.port = port.parse().expect("smtp port");
        c.smtp.tls = SmtpTls::None;
        // As the database profiles have it.
        c.cache.product_ttl_ms = 1000;
        // Not the embedded configuration: the public development secret is refused.
        c.auth.jwt_secret = Secret::new(TEST_JWT_SECRET);
    });
    tweak(&mut config);
    Some(start(config, None).await)
}
