//! Faults with real processes: `orderflow` API and worker processes on the local
//! services, with processes really killed and servers really stopped (SIGKILL, or
//! SIGSTOP to freeze a server with its data intact). Private stand-ins on free ports
//! where a test stops one, so other tests keep theirs.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// A worker killed with SIGKILL in the middle of its work: what it held comes back
/// after the visibility timeout and a new worker finishes. Every order ends in exactly
/// one terminal state, stock is taken once, and each order's email is one message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_and_doubles_nothing() {
    let Some(s) = Stack::new().await else { return };
    let c = Client::new();
    let _api = s.spawn("api");
    c.wait_ready(&s).await;
    c.product(&s, "KILL", 30).await;
    let token = c.customer(&s).await;
    let placements = (0..40).map(|_| c.place(&s, &token, "KILL", 1));
    let replies = futures::future::join_all(placements).await;
    let ids: Vec<String> = replies
        .iter()
        .map(|(st, b)| {
            assert_eq!(*st, 202, "{b}");
            b["id"].as_str().unwrap().to_owned()
        })
        .collect();

    let mut first = s.spawn("worker");
    // Kill as soon as the worker has settled something: it is mid-way through the queue.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = c.statuses(&s, &token, &ids[..5]).await;
        if st.iter().any(|x| x != "pending") || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill9();
    let _second = s.spawn("worker");
    // A transaction the killed worker left open blocks its products until the server
    // reaps it (transactionLifetimeLimitSeconds, 60 s): the survivor outwaits it.
    let st = c
        .wait_all_terminal(&s, &token, &ids, Duration::from_secs(150))
        .await;
    let completed = st.iter().filter(|x| *x == "completed").count();
    let failed = st.iter().filter(|x| *x == "failed").count();
    assert_eq!((completed, failed), (30, 10), "{st:?}");
    let (_, p) = c.call("GET", s.url("/api/products/KILL"), None, None).await;
    assert_eq!(
        p["stock"], 0,
        "stock taken exactly once per completed order"
    );
    let mut raw_duplicates = 0;
    for id in &ids {
        let (_, o) = c
            .call(
                "GET",
                s.url(&format!("/api/orders/{id}")),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            o["history"].as_array().unwrap().len(),
            2,
            "one transition for {id}"
        );
        let mut mails = (0, 0);
        for _ in 0..300 {
            mails = mails_for(&s.smtp, id).await;
            if mails.0 > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(mails.0 >= 1, "order {id} was never mailed");
        assert_eq!(mails.1, 1, "order {id} got different emails");
        raw_duplicates += mails.0 - 1;
    }
    eprintln!("faults: worker SIGKILLed mid-run; 40 orders, 30 completed, 10 failed, {raw_duplicates} redelivered copies of an email (same Message-ID)");
}

/// The queue frozen (SIGSTOP) while orders are placed: the API still answers 202 and
/// records them; when it thaws, the relay publishes them and they complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_placed_while_the_queue_is_down_complete_when_it_returns() {
    let Some(mut s) = Stack::new().await else {
        return;
    };
    let venv = repo().join(".services/venv/bin/moto_server");
    assert!(
        venv.exists(),
        "run scripts/services start first (it creates {})",
        venv.display()
    );
    let port = free_port();
    let moto = Proc(
        Command::new(&venv)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        0,
    );
    s.aws = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http
            .get(format!("{}/moto-api/data.json", s.aws))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.set("ORDERFLOW_RELAY__SWEEP_AGE_MS", "3600000");
    let c = Client::new();
    let _api = s.spawn("api");
    let _worker = s.spawn("worker");
    c.wait_ready(&s).await;
    c.product(&s, "QDOWN", 100).await;
    let token = c.customer(&s).await;

    signal(moto.pid(), "-STOP");
    let mut ids = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (st, b) = c.place(&s, &token, "QDOWN", 1).await;
        assert_eq!(st, 202, "{b}");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "placement waited {:?}",
            started.elapsed()
        );
        ids.push(b["id"].as_str().unwrap().to_owned());
    }
    let (rst, ready) = c.call("GET", s.url("/readyz"), None, None).await;
    assert_eq!(
        (rst, ready["checks"]["queue"]["status"].as_str()),
        (200, Some("down")),
        "{ready}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(c
        .statuses(&s, &token, &ids)
        .await
        .iter()
        .all(|x| x == "pending"));
    signal(moto.pid(), "-CONT");
    let st = c
        .wait_all_terminal(&s, &token, &ids, Duration::from_secs(60))
        .await;
    assert!(st.iter().all(|x| x == "completed"), "{st:?}");
}

/// Redis really stopped: reads fall through to MongoDB, /readyz says the cache is
/// down while /healthz stays green; when Redis returns, caching resumes without a
/// restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_degrades_reads_but_never_fails_them() {
    let Some(mut s) = Stack::new().await else {
        return;
    };
    let port = free_port();
    let mut redis = start_redis(port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.redis = format!("redis://127.0.0.1:{port}");
    let c = Client::new();
    let _api = s.spawn("api");
    let _worker = s.spawn("worker");
    c.wait_ready(&s).await;
    c.product(&s, "RDOWN", 10).await;
    let token = c.customer(&s).await;
    let (_, o) = c.place(&s, &token, "RDOWN", 1).await;
    let id = o["id"].as_str().unwrap().to_owned();
    c.wait_all_terminal(
        &s,
        &token,
        std::slice::from_ref(&id),
        Duration::from_secs(30),
    )
    .await;
    let cache = |c: &Client, s: &Stack, token: &str, id: &str| {
        let url = s.url(&format!("/api/orders/{id}"));
        let req = c.http.get(url).bearer_auth(token);
        async move {
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.headers()
                    .get("x-cache")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned(),
            )
        }
    };
    cache(&c, &s, &token, &id).await;
    assert_eq!(cache(&c, &s, &token, &id).await, (200, "hit".into()));

    redis.kill9();
    for _ in 0..3 {
        assert_eq!(
            cache(&c, &s, &token, &id).await,
            (200, "miss".into()),
            "reads fall through to the store"
        );
    }
    let (rst, ready) = c.call("GET", s.url("/readyz"), None, None).await;
    assert_eq!(rst, 200);
    assert_eq!(ready["status"], "degraded");
    assert_eq!(ready["checks"]["cache"]["status"], "down");
    assert_eq!(c.call("GET", s.url("/healthz"), None, None).await.0, 200);

    let _redis = start_redis(port);
    let mut resumed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if cache(&c, &s, &token, &id).await == (200, "hit".into()) {
            resumed = true;
            break;
        }
    }
    assert!(resumed, "caching resumed without a restart");
    // Readiness reuses a check for about a second: a moment later it says so too.
    let mut status = serde_json::Value::Null;
    for _ in 0..30 {
        status = c.call("GET", s.url("/readyz"), None, None).await.1["status"].clone();
        if status == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "ready");
}

/// MongoDB frozen: requests that need it fail fast with 503 `unavailable`, the
/// worker holds off without dead-lettering, and both recover on their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongodb_outage_fails_fast_and_recovers() {
    let Some(mut s) = Stack::new().await else {
        return;
    };
    let python = repo().join(".services/venv/bin/python");
    assert!(python.exists(), "run scripts/services start first");
    let port = free_port();
    let mongo = Proc(
        Command::new(&python)
            .args([
                "-m",
                "secantus",
                "--port",
                &port.to_string(),
                "--storage-path",
                ":memory:",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        0,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.mongo = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    s.set("ORDERFLOW_SQS__MAX_RECEIVES", "2");
    s.set("ORDERFLOW_MONGO__OPERATION_TIMEOUT_MS", "1500");
    let c = Client::new();
    let _api = s.spawn("api");
    c.wait_ready(&s).await;
    c.product(&s, "MDOWN", 10).await;
    let token = c.customer(&s).await;
    let (_, o) = c.place(&s, &token, "MDOWN", 1).await;
    let id = o["id"].as_str().unwrap().to_owned();

    signal(mongo.pid(), "-STOP");
    let _worker = s.spawn("worker");
    let started = Instant::now();
    let (st, b) = c
        .call("GET", s.url("/api/orders"), Some(&token), None)
        .await;
    assert_eq!((st, b["code"].as_str()), (503, Some("unavailable")), "{b}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "failed fast: {:?}",
        started.elapsed()
    );
    let (rst, ready) = c.call("GET", s.url("/readyz"), None, None).await;
    assert_eq!(
        (rst, ready["checks"]["store"]["status"].as_str()),
        (503, Some("down"))
    );
    // Longer than max_receives × visibility: without the pause it would dead-letter.
    tokio::time::sleep(Duration::from_secs(10)).await;
    signal(mongo.pid(), "-CONT");
    let st = c
        .wait_all_terminal(
            &s,
            &token,
            std::slice::from_ref(&id),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(st, vec!["completed".to_owned()]);
    let out = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["dlq", "list"])
        .envs([
            ("ORDERFLOW_ADAPTERS__QUEUE", "sqs"),
            ("ORDERFLOW_AWS__ENDPOINT_URL", s.aws.as_str()),
            ("ORDERFLOW_AWS__ACCESS_KEY_ID", "test"),
            ("ORDERFLOW_AWS__SECRET_ACCESS_KEY", "test"),
            ("ORDERFLOW_SQS__QUEUE_NAME", s.id.as_str()),
            ("ORDERFLOW_SQS__DLQ_NAME", &format!("{}_dlq", s.id)),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "nothing dead-lettered: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// SIGTERM to a worker while it works: it finishes what it holds and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_work_and_exits_cleanly() {
    let Some(s) = Stack::new().await else { return };
    let c = Client::new();
    let mut api = s.spawn("api");
    c.wait_ready(&s).await;
    c.product(&s, "TERM", 50).await;
    let token = c.customer(&s).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let (_, b) = c.place(&s, &token, "TERM", 1).await;
        ids.push(b["id"].as_str().unwrap().to_owned());
    }
    let mut worker = s.spawn("worker");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(worker.terminate(), Some(0), "worker exit code");
    let _again = s.spawn("worker");
    let st = c
        .wait_all_terminal(&s, &token, &ids, Duration::from_secs(60))
        .await;
    assert!(st.iter().all(|x| x == "completed"), "{st:?}");
    assert_eq!(api.terminate(), Some(0), "api exit code");
}

/// The mail server's outage shows on the worker's /readyz as a `mailer` check that is
/// down, with the worker degraded but ready (orders still settle; their emails stay
/// owed), and clears once the server is back. The API sends no mail and has no such
/// check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_outage_shows_on_the_workers_readiness_as_degraded() {
    let Some(mut s) = Stack::new().await else {
        return;
    };
    let gate = MailGate::start(s.smtp.addr.clone()).await;
    s.set("ORDERFLOW_SMTP__PORT", gate.port.to_string());
    let c = Client::new();
    let _api = s.spawn("api");
    let ops = free_port();
    let _worker = s.spawn_with(
        "worker",
        &[("ORDERFLOW_OPS__BIND", format!("127.0.0.1:{ops}"))],
    );
    c.wait_ready(&s).await;
    let worker_ready = format!("http://127.0.0.1:{ops}/readyz");
    let mailer = |want: &'static str| {
        let (c, url) = (&c, worker_ready.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (st, ready) = c.call("GET", url.clone(), None, None).await;
                if ready["checks"]["mailer"]["status"] == want {
                    return (st, ready);
                }
                assert!(Instant::now() < deadline, "mailer never {want}: {ready}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let (st, ready) = mailer("up").await;
    assert_eq!(
        (st, ready["status"].as_str()),
        (200, Some("ready")),
        "{ready}"
    );
    let (_, api) = c.call("GET", s.url("/readyz"), None, None).await;
    assert!(
        api["checks"]["store"].is_object() && api["checks"]["mailer"].is_null(),
        "{api}"
    );
    gate.set_open(false);
    let (st, ready) = mailer("down").await;
    assert_eq!(
        (st, ready["status"].as_str()),
        (200, Some("degraded")),
        "{ready}"
    );
    gate.set_open(true);
    let (st, _) = mailer("up").await;
    assert_eq!(st, 200);
}
