//! The operator's view, proven against a real Prometheus (Debian's, installed by
//! `.ci/run`): the alert rules and the example config pass promtool and their unit
//! tests; then Prometheus scrapes an `api` and a `worker` on the local stack with
//! `deploy/prometheus/alerts.yml` loaded as it is, its `for:` durations alone shortened
//! to seconds, and the test makes the alerts fire and resolve the way they would in
//! production: the mail server goes away, a poison message reaches the dead-letter
//! queue. Last, every query of the Grafana dashboard runs against the same Prometheus
//! and must answer with data.

mod support;

use orderflow_adapter_sqs::{SqsQueue, SqsSettings};
use orderflow_core::ports::Queue;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn rules_dir() -> PathBuf {
    repo().join("deploy/prometheus")
}

/// `promtool ARGS` in deploy/prometheus; panics with its output unless it succeeds.
fn promtool(promtool: &Path, args: &[&str]) {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(rules_dir())
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rule file with every `for:` cut to two seconds, so an alert is pending for two
/// evaluations before it fires; expressions, labels and annotations stay as shipped.
fn rules_with_short_holds() -> String {
    let rules = std::fs::read_to_string(rules_dir().join("alerts.yml")).unwrap();
    let mut held = 0;
    let out: Vec<String> = rules
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for: ") {
            Some(_) => {
                held += 1;
                format!("{}for: 2s", &l[..l.len() - l.trim_start().len()])
            }
            None => l.to_owned(),
        })
        .collect();
    assert!(held >= 10, "the rules hold their alerts: {held}");
    out.join("\n")
}

/// The SMTP stand-in (aiosmtpd from `scripts/services`' venv) on a port of this test's
/// own, so stopping it touches no other test.
struct MailServer {
    port: u16,
    maildir: PathBuf,
    proc: Option<Proc>,
}

impl MailServer {
    async fn start() -> MailServer {
        let maildir = repo()
            .join("target/operations")
            .join(orderflow_testkit::services::unique("maildir"));
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let mut m = MailServer {
            port: free_port(),
            maildir,
            proc: None,
        };
        m.resume().await;
        m
    }

    async fn resume(&mut self) {
        let python = repo().join(".services/venv/bin/python");
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} (scripts/services installs it): {e}", python.display()));
        self.proc = Some(Proc(child, 0));
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the SMTP stand-in never listened"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(&mut self) {
        self.proc = None; // killed and reaped on drop
    }

    fn delivered(&self) -> usize {
        std::fs::read_dir(self.maildir.join("new")).map_or(0, |d| d.count())
    }
}

/// The states `alert` has been seen in (pending, firing), polled every 200 ms until
/// `done` says the sequence is complete.
async fn watch_alert(
    prom: &Prometheus,
    alert: &str,
    within: Duration,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen: Vec<String> = Vec::new();
    loop {
        if let Some(data) = prom.api("alerts").await {
            let states: BTreeSet<String> = data["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["labels"]["alertname"] == alert)
                .filter_map(|a| a["state"].as_str().map(str::to_owned))
                .collect();
            let now = if states.is_empty() {
                "inactive".to_owned()
            } else {
                states.into_iter().collect::<Vec<_>>().join("+")
            };
            if seen.last() != Some(&now) {
                seen.push(now);
            }
        }
        if done(&seen) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "{alert}: seen {seen:?}, Prometheus in {}",
            prom.dir.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn fired(seen: &[String]) -> bool {
    seen.iter().any(|s| s == "pending") && seen.last().is_some_and(|s| s == "firing")
}

fn resolved(seen: &[String]) -> bool {
    seen.last().is_some_and(|s| s == "inactive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_and_resolve_and_every_dashboard_query_answers() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let Some(promtool_bin) = tool("promtool") else {
        return;
    };
    promtool(&promtool_bin, &["check", "rules", "alerts.yml"]);
    promtool(&promtool_bin, &["test", "rules", "alerts.test.yml"]);
    promtool(&promtool_bin, &["check", "config", "prometheus.yml"]);
    let Some(mut s) = Stack::new().await else {
        return;
    };
    let mut mail = MailServer::start().await;
    for (k, v) in [
        ("ORDERFLOW_SMTP__PORT", mail.port.to_string()),
        ("ORDERFLOW_OPS__GAUGE_INTERVAL_MS", "300".into()),
        ("ORDERFLOW_NOTIFY__SCAN_INTERVAL_MS", "200".into()),
        // A failed email waits ten minutes for its next try, as in production after
        // a few failures: the mail server's return alone does not resolve the alert
        // within the test, the runbook's `orderflow emails retry` does.
        ("ORDERFLOW_NOTIFY__RETRY_FIRST_MS", "600000".into()),
        ("ORDERFLOW_NOTIFY__RETRY_MAX_MS", "600000".into()),
        ("ORDERFLOW_WORKER__MAX_RECEIVES", "2".into()),
        ("ORDERFLOW_SQS__MAX_RECEIVES", "2".into()),
        ("ORDERFLOW_WEBHOOKS__ALLOW_PRIVATE_NETWORKS", "true".into()),
        ("ORDERFLOW_WEBHOOKS__SCAN_INTERVAL_MS", "200".into()),
    ] {
        s.set(k, v);
    }
    let api = s.spawn("api");
    let worker = s.spawn("worker");
    let c = Client::new();
    c.wait_ready(&s).await;
    let prom = Prometheus::start(
        &prometheus,
        &[("orderflow-api", &api), ("orderflow-worker", &worker)],
        Some(&rules_with_short_holds()),
    );
    prom.wait_ready().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while prom.query("up == 1").await.len() < 2 {
        assert!(Instant::now() < deadline, "both targets up");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // `orderflow` as an operator runs it, on the same store and queues.
    let cli_env = [
        ("ORDERFLOW_ADAPTERS__QUEUE", "sqs".to_owned()),
        ("ORDERFLOW_AWS__ENDPOINT_URL", s.aws.clone()),
        ("ORDERFLOW_AWS__ACCESS_KEY_ID", "test".into()),
        ("ORDERFLOW_AWS__SECRET_ACCESS_KEY", "test".into()),
        ("ORDERFLOW_SQS__QUEUE_NAME", s.id.clone()),
        ("ORDERFLOW_SQS__DLQ_NAME", format!("{}_dlq", s.id)),
        ("ORDERFLOW_ADAPTERS__STORE", "mongo".into()),
        ("ORDERFLOW_MONGO__URI", s.mongo.clone()),
        ("ORDERFLOW_MONGO__DATABASE", s.id.clone()),
    ];
    let cli = |args: Vec<String>| {
        let env = cli_env.clone();
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_orderflow"))
                .args(&args)
                .env_remove("ORDERFLOW_PROFILE")
                .envs(env)
                .output()
                .expect("run orderflow");
            assert!(
                out.status.success(),
                "orderflow {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    };
    // Some of everything the dashboard shows: orders, an error, a webhook delivery.
    c.product(&s, "ALERTED", 100).await;
    let admin = c.login(&s, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let receiver = orderflow_testkit::receiver::Receiver::failing_first(0).await;
    let (st, hook) = c
        .call(
            "POST",
            s.url("/api/admin/webhooks"),
            Some(&admin),
            Some(json!({"url": receiver.url(), "events": ["*"]})),
        )
        .await;
    assert_eq!(st, 201, "{hook}");
    let token = c.customer(&s).await;
    let (st, _) = c.place(&s, &token, "NO-SUCH-SKU", 1).await;
    assert!((400..500).contains(&st), "{st}");

    // The mail server goes away; orders keep completing, their emails stay owed.
    mail.stop();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (st, o) = c.place(&s, &token, "ALERTED", 1).await;
        assert_eq!(st, 202, "{o}");
        ids.push(o["id"].as_str().unwrap().to_owned());
    }
    let st = c
        .wait_all_terminal(&s, &token, &ids, Duration::from_secs(60))
        .await;
    assert!(st.iter().all(|x| x == "completed"), "{st:?}");
    let seen = watch_alert(
        &prom,
        "OrderflowNotificationsFailing",
        Duration::from_secs(60),
        fired,
    )
    .await;
    println!("notifications alert: {seen:?}");
    assert_eq!(mail.delivered(), 0, "nothing was sent while it was away");

    // It comes back; the emails wait out their back-off until the runbook's command
    // makes them due, then they go out and the alert resolves.
    mail.resume().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mail.delivered(), 0, "still waiting for their next try");
    let retried = cli(vec!["emails".into(), "retry".into()]).await.unwrap();
    assert_eq!(retried.trim(), "due now 3");
    let seen = watch_alert(
        &prom,
        "OrderflowNotificationsFailing",
        Duration::from_secs(60),
        resolved,
    )
    .await;
    println!("notifications alert after the mail server returned: {seen:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while mail.delivered() < 3 {
        assert!(Instant::now() < deadline, "{} emails", mail.delivered());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A message no worker can read: retried, dead-lettered, alerted on.
    let sdk = orderflow::aws::sdk_config(&orderflow::config::AwsConfig {
        region: "us-east-1".into(),
        endpoint_url: Some(s.aws.clone()),
        access_key_id: Some("test".into()),
        secret_access_key: Some(orderflow::config::Secret::new("test")),
    })
    .await;
    let queue = SqsQueue::connect(
        &sdk,
        SqsSettings {
            queue_name: s.id.clone(),
            dlq_name: format!("{}_dlq", s.id),
            create_queues: false,
            visibility_timeout: Duration::from_secs(3),
            max_receives: 2,
            call_timeout: Duration::from_secs(10),
        },
    )
    .await
    .unwrap();
    assert!(queue
        .publish(&["{\"poison\":true}".into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    let seen = watch_alert(
        &prom,
        "OrderflowDeadLetters",
        Duration::from_secs(90),
        fired,
    )
    .await;
    println!("dead-letter alert: {seen:?}");

    // The runbook's fix: read it, then drop it for good.
    let listed = cli(vec!["dlq".into(), "list".into()]).await.unwrap();
    let letter: Value =
        serde_json::from_str(listed.lines().next().expect("a dead letter")).unwrap();
    assert!(
        letter["body"].as_str().unwrap().contains("poison"),
        "{letter}"
    );
    let id = letter["message_id"].as_str().unwrap().to_owned();
    let dropped = cli(vec!["dlq".into(), "drop".into(), id.clone()])
        .await
        .unwrap();
    assert_eq!(dropped.trim(), format!("dropped {id}"));
    let seen = watch_alert(
        &prom,
        "OrderflowDeadLetters",
        Duration::from_secs(60),
        resolved,
    )
    .await;
    println!("dead-letter alert after the drop: {seen:?}");

    // Every rule evaluated against the real series without an error.
    let rules = prom.api("rules").await.expect("rules");
    let mut evaluated = 0;
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            assert_eq!(rule["health"], "ok", "{rule}");
            evaluated += 1;
        }
    }
    assert_eq!(evaluated, 17, "every rule of alerts.yml is loaded");
    assert!(
        receiver
            .seen()
            .iter()
            .any(|r| r.event_type() == "order.completed"),
        "the webhook endpoint got its events"
    );

    // The dashboard: every query parses and returns data after this workload.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/grafana/orderflow.json")).unwrap(),
    )
    .unwrap();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            // Grafana's own variable: the window it picks for rates (here, a minute).
            let promql = expr.replace("$__rate_interval", "1m");
            assert!(!promql.contains('$'), "an unknown variable in {expr}");
            let result = prom.query(&promql).await;
            assert!(
                !result.is_empty(),
                "{:?}: no data for {promql}",
                panel["title"]
            );
            queries += 1;
        }
    }
    println!("dashboard: {queries} queries answered");
    assert!(queries >= 30, "{queries}");
    drop((api, worker));
}

/// Every alert has a summary, a description and a `runbook` annotation, and each
/// runbook link lands on a section of RUNBOOK.md (its GitHub anchor).
#[test]
fn every_alert_links_to_a_runbook_section() {
    let rules = std::fs::read_to_string(rules_dir().join("alerts.yml")).unwrap();
    let runbook = std::fs::read_to_string(repo().join("RUNBOOK.md")).unwrap();
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| {
            h.to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect();
    let count = |key: &str| {
        rules
            .lines()
            .filter(|l| l.trim_start().starts_with(key))
            .count()
    };
    let alerts = count("- alert: ");
    assert!(alerts >= 15, "{alerts}");
    for key in ["summary: ", "description: ", "runbook: "] {
        assert_eq!(count(key), alerts, "every alert has its {key}");
    }
    for line in rules.lines() {
        if let Some(link) = line.trim_start().strip_prefix("runbook: ") {
            let anchor = link
                .strip_prefix("RUNBOOK.md#")
                .unwrap_or_else(|| panic!("not a RUNBOOK.md section: {link}"));
            assert!(
                anchors.contains(anchor),
                "{link}: no such section in RUNBOOK.md ({anchors:?})"
            );
        }
    }
}
