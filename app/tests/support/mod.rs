//! Harness for tests that run `orderflow` as real processes on the local services.
#![allow(dead_code)]

use orderflow_testkit::services::{aws_endpoint, mongo_url, redis_url, smtp, unique, SmtpSink};
use orderflow_testkit::TEST_JWT_SECRET;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `[section]` keys production sets to batch its SQS calls.
pub const PRODUCTION_BATCHING: [(&str, &str); 3] = [
    ("relay", "batch_linger_ms"),
    ("worker", "receive_pause_ms"),
    ("worker", "ack_linger_ms"),
];

/// The settings of `config/production.toml` for the `[section]` keys named, as the
/// environment variables that set them: a test that measures what production runs
/// takes them from the file itself.
pub fn production_settings(keys: &[(&str, &str)]) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("config/production.toml")).unwrap();
    let config: toml::Table = text.parse().unwrap();
    keys.iter()
        .map(|(section, key)| {
            let value = &config[*section][*key];
            (
                format!(
                    "ORDERFLOW_{}__{}",
                    section.to_uppercase(),
                    key.to_uppercase()
                ),
                value
                    .as_integer()
                    .map_or_else(|| value.to_string(), |n| n.to_string()),
            )
        })
        .collect()
}

pub const ADMIN_EMAIL: &str = "admin@faults.test";
pub const ADMIN_PASSWORD: &str = "fault-tests-admin-password";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill {sig} {pid}");
}

/// A child process killed when dropped.
pub struct Proc(pub Child, pub u16);

impl Proc {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Its ops listener's port (`/healthz`, `/readyz`, `/metrics`); 0 if it has none.
    pub fn ops_port(&self) -> u16 {
        self.1
    }

    pub fn ops_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.1)
    }
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
    pub fn terminate(&mut self) -> Option<i32> {
        signal(self.pid(), "-TERM");
        self.0.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where the app's processes find the services, with a database, key prefix and
/// queues of this test's own.
pub struct Stack {
    pub mongo: String,
    pub redis: String,
    pub aws: String,
    pub smtp: SmtpSink,
    pub id: String,
    pub api_port: u16,
    pub extra: Vec<(String, String)>,
}

impl Stack {
    pub async fn new() -> Option<Stack> {
        Some(Stack {
            mongo: mongo_url().await?,
            redis: redis_url().await?,
            aws: aws_endpoint().await?,
            smtp: smtp().await?,
            id: unique("faults").replace('-', "_"),
            api_port: free_port(),
            extra: Vec::new(),
        })
    }

    pub fn set(&mut self, k: &str, v: impl Into<String>) {
        self.extra.push((k.to_owned(), v.into()));
    }

    pub fn spawn(&self, role: &str) -> Proc {
        self.spawn_with(role, &[])
    }

    /// The lines of this stack's process logs that contain `needle` (a request id,
    /// say), for a failure's message: CI shows a test's output, not these files.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(repo().join("target/faults")) else {
            return Vec::new();
        };
        let prefix = format!("{}-", self.id);
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .flat_map(|text| {
                text.lines()
                    .filter(|l| l.contains(needle))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Like `spawn`, with settings of this process's own (another API port, say).
    pub fn spawn_with(&self, role: &str, own: &[(&str, String)]) -> Proc {
        let (host, port) = self.smtp.addr.rsplit_once(':').unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orderflow"));
        // Each process logs to target/faults/<test id>-<role>-<pid>.log for post-mortems.
        let dir = repo().join("target/faults");
        let _ = std::fs::create_dir_all(&dir);
        let log =
            std::fs::File::create(dir.join(format!("{}-{role}-{}.log", self.id, unique("p"))))
                .expect("log file");
        let ops_port = free_port();
        cmd.arg(role)
            .env_remove("ORDERFLOW_PROFILE")
            .stdout(Stdio::null())
            .stderr(log);
        let base = [
            (
                "ORDERFLOW_HTTP__BIND",
                format!("127.0.0.1:{}", self.api_port),
            ),
            ("ORDERFLOW_OPS__BIND", format!("127.0.0.1:{ops_port}")),
            ("ORDERFLOW_AUTH__JWT_SECRET", TEST_JWT_SECRET.into()),
            ("ORDERFLOW_ADAPTERS__STORE", "mongo".into()),
            ("ORDERFLOW_ADAPTERS__CACHE", "redis".into()),
            ("ORDERFLOW_ADAPTERS__QUEUE", "sqs".into()),
            ("ORDERFLOW_ADAPTERS__MAILER", "smtp".into()),
            ("ORDERFLOW_MONGO__URI", self.mongo.clone()),
            ("ORDERFLOW_MONGO__DATABASE", self.id.clone()),
            ("ORDERFLOW_REDIS__URL", self.redis.clone()),
            ("ORDERFLOW_REDIS__KEY_PREFIX", format!("{}:", self.id)),
            ("ORDERFLOW_AWS__ENDPOINT_URL", self.aws.clone()),
            ("ORDERFLOW_AWS__ACCESS_KEY_ID", "test".into()),
            ("ORDERFLOW_AWS__SECRET_ACCESS_KEY", "test".into()),
            ("ORDERFLOW_SQS__QUEUE_NAME", self.id.clone()),
            ("ORDERFLOW_SQS__DLQ_NAME", format!("{}_dlq", self.id)),
            ("ORDERFLOW_SQS__CREATE_QUEUES", "true".into()),
            ("ORDERFLOW_SQS__VISIBILITY_TIMEOUT_MS", "3000".into()),
            ("ORDERFLOW_SQS__WAIT_TIME_MS", "1000".into()),
            ("ORDERFLOW_SQS__CALL_TIMEOUT_MS", "1000".into()),
            ("ORDERFLOW_SMTP__HOST", host.to_owned()),
            ("ORDERFLOW_SMTP__PORT", port.to_owned()),
            ("ORDERFLOW_WORKER__RETRY_BASE_MS", "200".into()),
            ("ORDERFLOW_WORKER__RETRY_MAX_MS", "1000".into()),
            // A claim held by a killed worker lapses after this; then another mails.
            ("ORDERFLOW_WORKER__NOTIFY_LEASE_MS", "4000".into()),
            // Which a send must not outlast (by 2 s).
            ("ORDERFLOW_MAIL__SEND_TIMEOUT_MS", "2000".into()),
            ("ORDERFLOW_RELAY__INTERVAL_MS", "200".into()),
            // Background looks that find nothing slow down to a second here, not
            // production's half minute, so the tests' events show promptly.
            ("ORDERFLOW_OPS__IDLE_SCAN_MAX_MS", "1000".into()),
            ("ORDERFLOW_RELAY__MIN_AGE_MS", "200".into()),
            // As the database profiles have it.
            ("ORDERFLOW_CACHE__PRODUCT_TTL_MS", "1000".into()),
            ("ORDERFLOW_AUTH__ARGON2_MEMORY_KIB", "256".into()),
            ("ORDERFLOW_AUTH__ARGON2_ITERATIONS", "1".into()),
            ("ORDERFLOW_AUTH__LOGIN_PER_CLIENT", "10000".into()),
            ("ORDERFLOW_BOOTSTRAP__ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
            ("ORDERFLOW_BOOTSTRAP__DEMO_CATALOG", "false".into()),
            ("ORDERFLOW_LOG__LEVEL", "info".into()),
        ];
        for (k, v) in base.iter() {
            cmd.env(k, v);
        }
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        for (k, v) in own {
            cmd.env(k, v);
        }
        Proc(cmd.spawn().expect("spawn orderflow"), ops_port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.api_port)
    }
}

/// An OTLP/HTTP receiver for traces sent as JSON (`OTEL_EXPORTER_OTLP_PROTOCOL=
/// http/json`): what a collector would get, kept for the test to read.
pub struct Collector {
    pub endpoint: String,
    spans: std::sync::Arc<std::sync::Mutex<Vec<SpanSeen>>>,
}

#[derive(Debug, Clone)]
pub struct SpanSeen {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: String,
    pub name: String,
    /// The sending process's `orderflow.role` resource attribute.
    pub role: String,
    pub service: String,
}

/// OTLP JSON writes ids as hex; accept base64 as well, and compare in hex.
fn hex_id(v: &Value) -> String {
    let s = v.as_str().unwrap_or_default();
    if s.chars().all(|c| c.is_ascii_hexdigit()) {
        return s.to_ascii_lowercase();
    }
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
        .unwrap_or_default()
}

fn attribute(attrs: &Value, key: &str) -> String {
    attrs
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["key"] == key)
        .and_then(|a| a["value"]["stringValue"].as_str())
        .unwrap_or_default()
        .to_owned()
}

impl Collector {
    pub async fn start() -> Collector {
        use axum::routing::post;
        let spans = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = spans.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            post(move |body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    let doc: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let mut out = kept.lock().unwrap();
                    for rs in doc["resourceSpans"].as_array().into_iter().flatten() {
                        let attrs = &rs["resource"]["attributes"];
                        let (role, service) = (
                            attribute(attrs, "orderflow.role"),
                            attribute(attrs, "service.name"),
                        );
                        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                            for sp in ss["spans"].as_array().into_iter().flatten() {
                                out.push(SpanSeen {
                                    trace_id: hex_id(&sp["traceId"]),
                                    span_id: hex_id(&sp["spanId"]),
                                    parent_id: hex_id(&sp["parentSpanId"]),
                                    name: sp["name"].as_str().unwrap_or_default().to_owned(),
                                    role: role.clone(),
                                    service: service.clone(),
                                });
                            }
                        }
                    }
                    "{}"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Collector { endpoint, spans }
    }

    /// The settings that make a process send its traces here, quickly.
    pub fn env(&self, service: &str) -> Vec<(&'static str, String)> {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
            ("OTEL_SERVICE_NAME", service.into()),
        ]
    }

    pub fn spans_of(&self, trace_id: &str) -> Vec<SpanSeen> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

pub struct Client {
    pub http: reqwest::Client,
}

impl Client {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub async fn wait_ready(&self, s: &Stack) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(s.url("/healthz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the API never answered");
    }

    pub async fn call(
        &self,
        method: &str,
        url: String,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("answered");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn login(&self, s: &Stack, email: &str, password: &str) -> String {
        let (st, b) = self
            .call(
                "POST",
                s.url("/api/auth/login"),
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(st, 200, "{b}");
        b["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn customer(&self, s: &Stack) -> String {
        let email = format!("{}@example.com", unique("customer"));
        let (st, _) = self
            .call(
                "POST",
                s.url("/api/auth/register"),
                None,
                Some(json!({"email": email, "password": "a-strong-password"})),
            )
            .await;
        assert_eq!(st, 201);
        self.login(s, &email, "a-strong-password").await
    }

    /// Places a one-line order; returns the status and body as they came.
    pub async fn place(&self, s: &Stack, token: &str, sku: &str, quantity: i64) -> (u16, Value) {
        self.call(
            "POST",
            s.url("/api/orders"),
            Some(token),
            Some(json!({"items": [{"sku": sku, "quantity": quantity}]})),
        )
        .await
    }

    pub async fn product(&self, s: &Stack, sku: &str, stock: i64) {
        let admin = self.login(s, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (st, b) = self
            .call(
                "POST",
                s.url("/api/products"),
                Some(&admin),
                Some(json!({"sku": sku, "name": sku, "price_cents": 100, "stock": stock})),
            )
            .await;
        assert_eq!(st, 201, "{b}");
    }

    pub async fn statuses(&self, s: &Stack, token: &str, ids: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for id in ids {
            let (_, b) = self
                .call(
                    "GET",
                    s.url(&format!("/api/orders/{id}")),
                    Some(token),
                    None,
                )
                .await;
            out.push(b["status"].as_str().unwrap_or("?").to_owned());
        }
        out
    }

    pub async fn wait_all_terminal(
        &self,
        s: &Stack,
        token: &str,
        ids: &[String],
        within: Duration,
    ) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let st = self.statuses(s, token, ids).await;
            if st.iter().all(|x| x != "pending") || Instant::now() > deadline {
                return st;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Emails per order id, and the distinct Message-IDs among them.
pub async fn mails_for(sink: &SmtpSink, id: &str) -> (usize, usize) {
    let msgs: Vec<String> = sink
        .messages()
        .await
        .into_iter()
        .filter(|m| m.contains(id))
        .collect();
    let mut ids: Vec<String> = msgs
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids.dedup();
    (msgs.len(), ids.len())
}

/// A private redis-server on `port`, nothing kept on disk.
pub fn start_redis(port: u16) -> Proc {
    Proc(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/services installs it)"),
        0,
    )
}

/// A TCP gate in front of the SMTP stand-in: while closed, new connections are dropped
/// at once and open ones are cut, as when a mail provider is down.
pub struct MailGate {
    pub port: u16,
    open: tokio::sync::watch::Sender<bool>,
}

impl MailGate {
    pub async fn start(target: String) -> MailGate {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the mail gate");
        let port = listener.local_addr().expect("gate address").port();
        let (open, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut watch = watch.clone();
                if !*watch.borrow() {
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        MailGate { port, open }
    }

    pub fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }
}

/// A tool from the machine's packages (`.ci/run` installs them). Missing outside CI:
/// the test says so and is skipped; under `CI=true` it fails.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed (apt-get install prometheus), and CI=true requires it"
        );
        eprintln!("skipped: {name} is not installed (apt-get install prometheus)");
    }
    found
}

/// A real Prometheus on a port of its own, scraping each `(job, process)` ops listener
/// every second and, given a rule file, evaluating it every second. Its data, config
/// and log are under target/operations/.
pub struct Prometheus {
    pub port: u16,
    pub dir: PathBuf,
    _server: Proc,
}

impl Prometheus {
    pub fn start(binary: &std::path::Path, jobs: &[(&str, &Proc)], rules: Option<&str>) -> Self {
        let dir = repo().join("target/operations").join(unique("prometheus"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n",
        );
        if let Some(rules) = rules {
            std::fs::write(dir.join("alerts.yml"), rules).unwrap();
            config.push_str("rule_files: [alerts.yml]\n");
        }
        config.push_str("scrape_configs:\n");
        for (job, p) in jobs {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
                p.ops_port()
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let server = Proc(
            Command::new(binary)
                .arg(format!(
                    "--config.file={}",
                    dir.join("prometheus.yml").display()
                ))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
                .spawn()
                .unwrap(),
            0,
        );
        Prometheus {
            port,
            dir,
            _server: server,
        }
    }

    /// Waits until the server answers `/-/ready` (a minute at most).
    pub async fn wait_ready(&self) {
        let url = format!("http://127.0.0.1:{}/-/ready", self.port);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                Instant::now() < deadline,
                "prometheus never became ready: {}",
                self.dir.join("prometheus.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `/api/v1/<path>`'s `data`, once Prometheus answers with status success.
    pub async fn api(&self, path: &str) -> Option<Value> {
        let url = format!("http://127.0.0.1:{}/api/v1/{path}", self.port);
        let r: Value = reqwest::get(url).await.ok()?.json().await.ok()?;
        (r["status"] == "success").then(|| r["data"].clone())
    }

    /// An instant query's result vector; an error answer (a query that does not parse,
    /// say) panics with Prometheus's message.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        let encoded = orderflow::admin_client::percent_encode(promql);
        let r: Value = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{}/api/v1/query?query={encoded}",
                self.port
            ))
            .send()
            .await
            .expect("prometheus answered")
            .json()
            .await
            .expect("json");
        assert_eq!(r["status"], "success", "{promql}: {r}");
        r["data"]["result"].as_array().cloned().unwrap_or_default()
    }
}
