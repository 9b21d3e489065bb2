//! The paths an operator runs, as real processes: probes that answer while
//! dependencies are away, one order's trace from the API through the queue into the
//! worker, every process scraped by a real Prometheus, and a rolling deployment that
//! loses no request.

mod support;

use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::*;

/// `orderflow run` on the in-memory adapters, on ports of its own, its JSON log kept.
struct Embedded {
    proc: Proc,
    api: u16,
    log: std::path::PathBuf,
}

fn embedded(extra: &[(&str, String)]) -> Embedded {
    let (api, ops) = (free_port(), free_port());
    let dir = repo().join("target/operations");
    let _ = std::fs::create_dir_all(&dir);
    let tag = orderflow_testkit::services::unique("run");
    let log = dir.join(format!("{tag}.log"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orderflow"));
    cmd.arg("run")
        .env_remove("ORDERFLOW_PROFILE")
        .env("ORDERFLOW_HTTP__BIND", format!("127.0.0.1:{api}"))
        .env("ORDERFLOW_OPS__BIND", format!("127.0.0.1:{ops}"))
        .env("ORDERFLOW_MAIL__DIR", dir.join(format!("{tag}-mail")))
        .env("ORDERFLOW_LOG__FORMAT", "json")
        .env("ORDERFLOW_AUTH__ARGON2_MEMORY_KIB", "256")
        .env("ORDERFLOW_AUTH__ARGON2_ITERATIONS", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    Embedded {
        proc: Proc(cmd.spawn().unwrap(), ops),
        api,
        log,
    }
}

async fn get(url: &str) -> Option<(u16, Value)> {
    get_as(url, None).await
}

/// A GET's status and JSON body (`Null` when not JSON), as `token` when given; `None`
/// when nothing answered.
async fn get_as(url: &str, token: Option<&str>) -> Option<(u16, Value)> {
    let mut req = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(5));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.unwrap_or(Value::Null)))
}

async fn until<T>(within: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The store is unreachable: the process waits for it, and meanwhile its ops listener
/// says it is alive and starting, so a liveness probe never kills it for waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answer_while_a_dependency_is_away() {
    let nowhere = free_port();
    let mut p = embedded(&[
        ("ORDERFLOW_ADAPTERS__STORE", "mongo".into()),
        (
            "ORDERFLOW_MONGO__URI",
            format!("mongodb://127.0.0.1:{nowhere}/?directConnection=true"),
        ),
        ("ORDERFLOW_MONGO__SERVER_SELECTION_TIMEOUT_MS", "300".into()),
        (
            "ORDERFLOW_AUTH__JWT_SECRET",
            orderflow_testkit::TEST_JWT_SECRET.into(),
        ),
        (
            "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
            "not-the-development-one".into(),
        ),
    ]);
    let (status, _) = until(Duration::from_secs(20), async || {
        get(&p.proc.ops_url("/healthz")).await
    })
    .await;
    assert_eq!(status, 200, "alive");
    let (status, body) = get(&p.proc.ops_url("/readyz")).await.unwrap();
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("starting")),
        "{body}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        get(&p.proc.ops_url("/healthz")).await.unwrap().0,
        200,
        "still alive while waiting"
    );
    assert!(
        get(&format!("http://127.0.0.1:{}/api/products", p.api))
            .await
            .is_none(),
        "the API is not bound before the store answers"
    );
    let metrics = reqwest::get(p.proc.ops_url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("orderflow_process_start_time_seconds"),
        "{metrics}"
    );
    assert_eq!(
        p.proc.terminate(),
        Some(0),
        "SIGTERM during start-up is a clean stop"
    );
}

/// One order's trace: the caller's `traceparent` → the API's request span → (through
/// the queue) the worker's delivery, settlement and email spans, all one trace; and the
/// JSON log lines carry the same trace id at the top level.
async fn check_one_trace(
    api: u16,
    collector: &Collector,
    expect_roles: (&str, &str),
) -> (String, String) {
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{api}");
    let email = format!(
        "{}@example.com",
        orderflow_testkit::services::unique("traced")
    );
    let r = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"email": email, "password": "a-strong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = &login(api, &email, "a-strong-password").await;
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let caller_span = "00f067aa0ba902b7";
    let r = http
        .post(format!("{base}/api/orders"))
        .bearer_auth(token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&json!({"items": [{"sku": "TRACED", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let order: Value = r.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();
    until(Duration::from_secs(60), async || {
        let (_, o) = get_as(&format!("{base}/api/orders/{id}"), Some(token)).await?;
        (o["status"] == "completed").then_some(())
    })
    .await;
    let spans = until(Duration::from_secs(20), async || {
        let spans = collector.spans_of(&trace_id);
        spans.iter().any(|s| s.name == "notify").then_some(spans)
    })
    .await;
    let by_id = |id: &str| spans.iter().find(|s| s.span_id == id);
    let request = spans
        .iter()
        .find(|s| s.name == "POST /api/orders")
        .unwrap_or_else(|| panic!("no request span in {spans:#?}"));
    assert_eq!(
        request.parent_id, caller_span,
        "the caller's span is the parent"
    );
    assert_eq!(request.role, expect_roles.0);
    for name in ["process order", "settle", "notify"] {
        let span = spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name:?} span in {spans:#?}"));
        assert_eq!(span.role, expect_roles.1, "{name}");
        // Follow the parents: every one of them leads back to the placing request.
        let mut at = span;
        let mut hops = 0;
        while at.span_id != request.span_id {
            at = by_id(&at.parent_id)
                .unwrap_or_else(|| panic!("{name}: broken chain at {at:?} in {spans:#?}"));
            hops += 1;
            assert!(hops < 10);
        }
    }
    (trace_id, id)
}

fn log_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_orders_trace_runs_from_the_api_through_the_memory_queue_into_the_worker() {
    let collector = Collector::start().await;
    let mut env = collector.env("orderflow-embedded");
    env.push(("ORDERFLOW_BOOTSTRAP__DEMO_CATALOG", "false".into()));
    let mut p = embedded(&env);
    until(Duration::from_secs(20), async || {
        get(&p.proc.ops_url("/readyz"))
            .await
            .filter(|(s, _)| *s == 200)
    })
    .await;
    let admin = login(p.api, "admin@orderflow.local", "orderflow-admin-dev").await;
    create_product(p.api, &admin, "TRACED").await;
    let (trace_id, order_id) = check_one_trace(p.api, &collector, ("run", "run")).await;
    assert_eq!(p.proc.terminate(), Some(0));
    let lines = log_lines(&p.log);
    let settled = lines
        .iter()
        .find(|l| l["message"] == "order settled" && l["order_id"] == order_id.as_str())
        .unwrap_or_else(|| panic!("no settlement line in {}", p.log.display()));
    assert_eq!(settled["trace_id"], trace_id.as_str(), "{settled}");
    assert!(settled["request_id"].is_string(), "{settled}");
    let placed = lines
        .iter()
        .find(|l| l["trace_id"] == trace_id.as_str() && l["user_id"].is_string())
        .unwrap_or_else(|| panic!("no request line with user_id and trace_id"));
    assert!(
        placed.get("spans").is_none() && placed.get("span").is_some(),
        "{placed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_orders_trace_runs_from_the_api_process_through_sqs_into_the_worker_process() {
    let Some(s) = Stack::new().await else { return };
    let collector = Collector::start().await;
    let _api = s.spawn_with("api", &collector.env("orderflow-api"));
    let _worker = s.spawn_with("worker", &collector.env("orderflow-worker"));
    let c = Client::new();
    c.wait_ready(&s).await;
    c.product(&s, "TRACED", 10).await;
    check_one_trace(s.api_port, &collector, ("api", "worker")).await;
}

async fn login(api: u16, email: &str, password: &str) -> String {
    let r: Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{api}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().expect("logged in").to_owned()
}

async fn create_product(api: u16, token: &str, sku: &str) {
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{api}/api/products"))
        .bearer_auth(token)
        .json(&json!({"sku": sku, "name": sku, "price_cents": 100, "stock": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// A rolling deployment behind a load balancer that follows `/readyz` (as an ALB's
/// health checks or Kubernetes endpoints do, here every 100 ms): a second API comes
/// up, the first gets SIGTERM, readiness drops at once while it keeps serving for the
/// drain delay, and not one request of a steady stream fails. Every order placed
/// during the roll completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_deployment_loses_no_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, RwLock};
    let Some(mut s) = Stack::new().await else {
        return;
    };
    s.set("ORDERFLOW_HTTP__DRAIN_DELAY_MS", "2000");
    let c = Client::new();
    let _worker = s.spawn("worker");
    let mut old = s.spawn("api");
    c.wait_ready(&s).await;
    c.product(&s, "ROLL", 100_000).await;
    let token = Arc::new(c.customer(&s).await);
    let new_port = free_port();

    // The load balancer's view: which backends pass their readiness check.
    let backends: Arc<RwLock<Vec<(u16, String)>>> =
        Arc::new(RwLock::new(vec![(s.api_port, old.ops_url("/readyz"))]));
    let in_rotation: Arc<RwLock<Vec<u16>>> = Arc::new(RwLock::new(vec![s.api_port]));
    let done = Arc::new(AtomicBool::new(false));
    let checker = {
        let (backends, in_rotation, done) = (backends.clone(), in_rotation.clone(), done.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_millis(500))
                .build()
                .unwrap();
            while !done.load(Ordering::SeqCst) {
                let candidates = backends.read().unwrap().clone();
                let mut healthy = Vec::new();
                for (port, ready) in candidates {
                    if http
                        .get(&ready)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                    {
                        healthy.push(port);
                    }
                }
                *in_rotation.write().unwrap() = healthy;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let (sent, failed) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(Mutex::new(Vec::<String>::new())),
    );
    let placed = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for n in 0..4usize {
        let (in_rotation, done, sent, failed, placed, token) = (
            in_rotation.clone(),
            done.clone(),
            sent.clone(),
            failed.clone(),
            placed.clone(),
            token.clone(),
        );
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut i = n;
            while !done.load(Ordering::SeqCst) {
                let ports = in_rotation.read().unwrap().clone();
                if ports.is_empty() {
                    failed.lock().unwrap().push("no backend in rotation".into());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                let port = ports[i % ports.len()];
                i += 1;
                let base = format!("http://127.0.0.1:{port}");
                let res = if i % 5 == 0 {
                    http.post(format!("{base}/api/orders"))
                        .bearer_auth(token.as_str())
                        .json(&json!({"items": [{"sku": "ROLL", "quantity": 1}]}))
                        .send()
                        .await
                } else {
                    http.get(format!("{base}/api/products/ROLL")).send().await
                };
                sent.fetch_add(1, Ordering::SeqCst);
                match res {
                    Ok(r) if r.status().is_success() => {
                        if r.status().as_u16() == 202 {
                            if let Ok(b) = r.json::<Value>().await {
                                placed
                                    .lock()
                                    .unwrap()
                                    .push(b["id"].as_str().unwrap_or("").to_owned());
                            }
                        }
                    }
                    Ok(r) => failed
                        .lock()
                        .unwrap()
                        .push(format!("{port}: {}", r.status())),
                    Err(e) => failed.lock().unwrap().push(format!("{port}: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The new version comes up and passes its checks...
    let new = s.spawn_with(
        "api",
        &[("ORDERFLOW_HTTP__BIND", format!("127.0.0.1:{new_port}"))],
    );
    backends
        .write()
        .unwrap()
        .push((new_port, new.ops_url("/readyz")));
    until(Duration::from_secs(60), async || {
        in_rotation
            .read()
            .unwrap()
            .contains(&new_port)
            .then_some(())
    })
    .await;
    // ...then the old one is told to stop, as Kubernetes or ECS would.
    let before = sent.load(Ordering::SeqCst);
    let stopping = Instant::now();
    let old_exit = tokio::task::spawn_blocking(move || old.terminate())
        .await
        .unwrap();
    let took = stopping.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    done.store(true, Ordering::SeqCst);
    for cl in clients {
        cl.await.unwrap();
    }
    checker.await.unwrap();
    let (total, failures) = (sent.load(Ordering::SeqCst), failed.lock().unwrap().clone());
    println!(
        "rolling deployment: {total} requests, {} during the old API's {took:?} stop, {} failed",
        total - before,
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(old_exit, Some(0), "the old API exits cleanly");
    assert!(
        took >= Duration::from_secs(2),
        "it kept serving for the drain delay: {took:?}"
    );
    assert!(total > before + 20, "requests went on during the roll");
    let ids = placed.lock().unwrap().clone();
    assert!(!ids.is_empty());
    s.api_port = new_port; // the old one is gone
    let st = c
        .wait_all_terminal(&s, &token, &ids, Duration::from_secs(120))
        .await;
    assert!(st.iter().all(|x| x == "completed"), "{st:?}");
    drop(new);
}

/// A real Prometheus scrapes every process's ops listener (an API and a worker), and
/// promtool finds nothing wrong with what they expose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_process() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let Some(s) = Stack::new().await else { return };
    let c = Client::new();
    let api = s.spawn("api");
    let worker = s.spawn("worker");
    c.wait_ready(&s).await;
    c.product(&s, "SCRAPED", 10).await;
    let token = c.customer(&s).await;
    let (st, o) = c.place(&s, &token, "SCRAPED", 1).await;
    assert_eq!(st, 202);
    c.wait_all_terminal(
        &s,
        &token,
        &[o["id"].as_str().unwrap().to_owned()],
        Duration::from_secs(60),
    )
    .await;

    for p in [&api, &worker] {
        let text = reqwest::get(p.ops_url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut lint = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        lint.stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = lint.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let prom = Prometheus::start(
        &prometheus,
        &[("orderflow-api", &api), ("orderflow-worker", &worker)],
        None,
    );
    let port = prom.port;
    let query = |q: &'static str| async move {
        // The queries are bare metric names: nothing to escape.
        let (_, r) = get(&format!("http://127.0.0.1:{port}/api/v1/query?query={q}")).await?;
        r["data"]["result"].as_array().cloned()
    };
    let up = until(Duration::from_secs(60), async || {
        let r = query("up").await?;
        (r.len() == 2 && r.iter().all(|s| s["value"][1] == "1")).then_some(r)
    })
    .await;
    println!("prometheus up: {up:?}");
    // Each process's own count, as Prometheus scraped it from that process.
    for (series, job) in [
        ("orderflow_orders_completed_total", "orderflow-worker"),
        ("orderflow_orders_placed_total", "orderflow-api"),
    ] {
        let seen = until(Duration::from_secs(30), async || {
            let r = query(series).await?;
            r.iter()
                .find(|s| s["metric"]["job"] == job && s["value"][1] == "1")
                .cloned()
        })
        .await;
        println!("scraped: {seen}");
    }
}
