//! The `orderflow` binary's command line, run as a real process.

use orderflow_adapter_sqs::{SqsQueue, SqsSettings};
use orderflow_core::ports::{Outbox, Queue};
use orderflow_testkit::services::{aws_endpoint, unique};
use orderflow_testkit::{spawn_app, spawn_app_with, RunningApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use serde_json::json;
use std::process::{Command, Output};
use std::time::Duration;

fn owned(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn orderflow(args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orderflow"));
    cmd.args(args).env_remove("ORDERFLOW_PROFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run orderflow")
}

/// The admin's environment for a command that reaches the running `app` through its
/// admin API.
fn through(app: &RunningApp) -> Vec<(String, String)> {
    owned(&[
        ("ORDERFLOW_HTTP__BIND", app.addr.to_string().as_str()),
        ("ORDERFLOW_BOOTSTRAP__ADMIN_EMAIL", ADMIN_EMAIL),
        ("ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD),
    ])
}

/// `orderflow ARGS` off the async runtime (the process talks back to this test's app).
async fn orderflow_async(args: &[&str], env: &[(String, String)]) -> Output {
    let (args, env): (Vec<String>, _) =
        (args.iter().map(|a| (*a).to_owned()).collect(), env.to_vec());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        orderflow(&args, &env)
    })
    .await
    .expect("the command ran")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn config_prints_the_effective_settings_with_secrets_redacted() {
    let o = orderflow(
        &["config"],
        &owned(&[("ORDERFLOW_HTTP__BIND", "127.0.0.1:9999")]),
    );
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("bind = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("jwt_secret = \"<redacted>\""), "{text}");
    assert!(!text.contains("dev-only-jwt-secret"), "{text}");
}

#[test]
fn a_bad_setting_stops_the_start_naming_the_key() {
    let o = orderflow(
        &["config"],
        &owned(&[("ORDERFLOW_ADAPTERS__STORE", "postgres")]),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).to_lowercase();
    assert!(
        err.contains("adapters.store") && err.contains("postgres"),
        "{err}"
    );
    let o = orderflow(&["--profile", "staging", "config"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("staging") && err.contains("ORDERFLOW_CONFIG_DIR"),
        "{err}"
    );
}

/// A second process on one host with the same ops port (an `api` and a `worker` of one
/// profile) stops at once and says what to set.
#[test]
fn a_taken_ops_port_stops_the_start_saying_what_to_set() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let at = taken.local_addr().expect("its address").to_string();
    let o = orderflow(
        &["worker"],
        &owned(&[
            ("ORDERFLOW_OPS__BIND", at.as_str()),
            ("ORDERFLOW_HTTP__BIND", "127.0.0.1:0"),
        ]),
    );
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("ops.bind = {at}"))
            && err.contains("in use")
            && err.contains("ORDERFLOW_OPS__BIND="),
        "{err}"
    );
}

fn orderflow_in(dir: &str, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orderflow"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("ORDERFLOW_PROFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run orderflow")
}

#[test]
fn the_production_profile_is_found_from_any_directory() {
    // Without its secrets it is shown, with a warning naming the variable to set;
    // `--check` makes that an exit code.
    let o = orderflow_in("/", &["--profile", "production", "config"], &[]);
    let text = stdout(&o);
    assert!(
        text.contains("queue = \"sqs\"") && text.contains("mailer = \"ses\""),
        "{text}"
    );
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("refused") && err.contains("ORDERFLOW_AUTH__JWT_SECRET"),
        "{err}"
    );
    let o = orderflow_in("/", &["--profile", "production", "config", "--check"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let secrets = owned(&[
        (
            "ORDERFLOW_AUTH__JWT_SECRET",
            "a-production-secret-of-32-bytes-or-more",
        ),
        (
            "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
            "a-production-admin-password",
        ),
    ]);
    let o = orderflow_in(
        "/",
        &["--profile", "production", "config", "--check"],
        &secrets,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout(&o).contains("bind = \"0.0.0.0:9090\""),
        "the image's ops listener"
    );
}

#[test]
fn kubernetes_service_links_do_not_stop_the_start() {
    let o = orderflow(
        &["config"],
        &owned(&[
            ("ORDERFLOW_SERVICE_HOST", "10.96.0.12"),
            ("ORDERFLOW_SERVICE_PORT", "80"),
            ("ORDERFLOW_PORT", "tcp://10.96.0.12:80"),
            ("ORDERFLOW_PORT_80_TCP_ADDR", "10.96.0.12"),
        ]),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = orderflow(
        &["config"],
        &owned(&[("ORDERFLOW_HTTP__BIDN", "0.0.0.0:1")]),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .to_lowercase()
        .contains("bidn"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_asks_the_running_process() {
    let app = spawn_app().await;
    let env = owned(&[("ORDERFLOW_OPS__BIND", &app.ops_addr.to_string())]);
    let e = env.clone();
    let alive = tokio::task::spawn_blocking(move || orderflow(&["healthcheck"], &e))
        .await
        .unwrap();
    assert!(
        alive.status.success(),
        "{}",
        String::from_utf8_lossy(&alive.stderr)
    );
    let e = env.clone();
    let ready = tokio::task::spawn_blocking(move || orderflow(&["healthcheck", "--ready"], &e))
        .await
        .unwrap();
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    drop(app);
    // Nothing listens there any more.
    let gone = tokio::task::spawn_blocking(move || orderflow(&["healthcheck"], &env))
        .await
        .unwrap();
    assert_eq!(gone.status.code(), Some(1));
}

#[tokio::test]
async fn dlq_list_and_redrive_on_sqs() {
    let Some(endpoint) = aws_endpoint().await else {
        return;
    };
    let name = unique("cli");
    let c = orderflow::config::AwsConfig {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint.clone()),
        access_key_id: Some("test".into()),
        secret_access_key: Some(orderflow::config::Secret::new("test")),
    };
    let sdk = orderflow::aws::sdk_config(&c).await;
    let q = SqsQueue::connect(
        &sdk,
        SqsSettings {
            queue_name: name.clone(),
            dlq_name: format!("{name}-dlq"),
            create_queues: true,
            visibility_timeout: Duration::from_secs(30),
            max_receives: 1,
            call_timeout: Duration::from_secs(10),
        },
    )
    .await
    .unwrap();
    assert!(q
        .publish(&["{\"poison\":true}".into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    let d = q
        .receive(1, Duration::from_secs(2))
        .await
        .unwrap()
        .pop()
        .expect("delivered");
    q.retry_after(&d.receipt, Duration::ZERO).await.unwrap();
    assert!(
        q.receive(1, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "dead-lettered"
    );

    let dlq = format!("{name}-dlq");
    let env = owned(&[
        ("ORDERFLOW_ADAPTERS__QUEUE", "sqs"),
        ("ORDERFLOW_AWS__ENDPOINT_URL", endpoint.as_str()),
        ("ORDERFLOW_AWS__ACCESS_KEY_ID", "test"),
        ("ORDERFLOW_AWS__SECRET_ACCESS_KEY", "test"),
        ("ORDERFLOW_SQS__QUEUE_NAME", name.as_str()),
        ("ORDERFLOW_SQS__DLQ_NAME", dlq.as_str()),
    ]);
    let e = env.clone();
    let listed = tokio::task::spawn_blocking(move || orderflow(&["dlq", "list"], &e))
        .await
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(stdout(&listed).contains("poison"), "{}", stdout(&listed));
    let e = env.clone();
    let redriven = tokio::task::spawn_blocking(move || orderflow(&["dlq", "redrive"], &e))
        .await
        .unwrap();
    assert_eq!(stdout(&redriven).trim(), "redriven 1");
    let back = q.receive(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(back.len(), 1);
    assert!(back[0].body.contains("poison"));

    // Still unreadable: dead-lettered again, and this time dropped for good.
    q.retry_after(&back[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    assert!(q
        .receive(1, Duration::from_secs(1))
        .await
        .unwrap()
        .is_empty());
    let e = env.clone();
    let listed = tokio::task::spawn_blocking(move || orderflow(&["dlq", "list"], &e))
        .await
        .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(stdout(&listed).lines().next().expect("listed again")).unwrap();
    let id = line["message_id"].as_str().unwrap().to_owned();
    let (e, i) = (env.clone(), id.clone());
    let dropped = tokio::task::spawn_blocking(move || orderflow(&["dlq", "drop", &i], &e))
        .await
        .unwrap();
    assert_eq!(stdout(&dropped).trim(), format!("dropped {id}"));
    let (e, i) = (env.clone(), id.clone());
    let again = tokio::task::spawn_blocking(move || orderflow(&["dlq", "drop", &i], &e))
        .await
        .unwrap();
    assert!(!again.status.success(), "nothing left to drop");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no such dead letter"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let listed = tokio::task::spawn_blocking(move || orderflow(&["dlq", "list"], &env))
        .await
        .unwrap();
    assert_eq!(stdout(&listed).trim(), "", "the queue holds no dead letter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_reaches_the_in_memory_queue_through_the_running_process() {
    let app = spawn_app().await;
    assert!(app
        .queue
        .publish(&["not an order".into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    app.drain().await;
    let env = through(&app);
    let listed = orderflow_async(&["dlq", "list"], &env).await;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(stdout(&listed).contains("not an order"));
    let redriven = orderflow_async(&["dlq", "redrive", "--limit", "5"], &env).await;
    assert_eq!(stdout(&redriven).trim(), "redriven 1");
    assert_eq!(app.queue.len(), 1);
    app.drain().await;
    let listed = orderflow_async(&["dlq", "list"], &env).await;
    let line: serde_json::Value =
        serde_json::from_str(stdout(&listed).lines().next().expect("dead again")).unwrap();
    let id = line["message_id"].as_str().unwrap().to_owned();
    let dropped = orderflow_async(&["dlq", "drop", &id], &env).await;
    assert_eq!(stdout(&dropped).trim(), format!("dropped {id}"));
    use orderflow_core::ports::Queue;
    assert!(app.queue.dead_letters(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_retry_reaches_the_in_memory_store_through_the_running_process() {
    let app = spawn_app_with(|c| {
        c.notify.retry_first_ms = 3_600_000;
        c.notify.retry_max_ms = 3_600_000;
    })
    .await;
    app.product("CLI-MAIL", 100, 10).await;
    let user = app.customer().await;
    app.mailer.set_failing(true);
    app.place(
        &user.access_token,
        json!([{"sku": "CLI-MAIL", "quantity": 1}]),
    )
    .await;
    app.drain().await;
    app.mailer.set_failing(false);
    let env = through(&app);
    let retried = orderflow_async(&["emails", "retry"], &env).await;
    assert!(
        retried.status.success(),
        "{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    assert_eq!(stdout(&retried).trim(), "due now 1");
    assert_eq!(app.send_due_emails().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_lists_and_retries_set_aside_orders_through_the_running_process() {
    let app = spawn_app_with(|c| {
        c.relay.min_age_ms = 0;
        c.relay.refusal_limit = 1;
    })
    .await;
    app.product("CLI-OB", 100, 10).await;
    let user = app.customer().await;
    app.queue_switch.set_down(true);
    let placed = app
        .place(
            &user.access_token,
            json!([{"sku": "CLI-OB", "quantity": 1}]),
        )
        .await;
    let id = placed.body["id"].as_str().expect("id").to_owned();
    app.queue_switch.set_down(false);
    app.queue_switch.refuse_containing(Some(id.clone()));
    // The scan takes orders strictly older than now (in milliseconds).
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(app.run_relay().await, 0, "refused and set aside at once");
    let aside = app.store.set_aside(10).await.expect("the store answers");
    assert_eq!(
        aside
            .iter()
            .map(|a| a.order.id.to_string())
            .collect::<Vec<_>>(),
        vec![id.clone()],
        "{aside:?}"
    );
    app.queue_switch.refuse_containing(None);

    let env = through(&app);
    let listed = orderflow_async(&["outbox", "list"], &env).await;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_str(stdout(&listed).trim()).unwrap_or_else(|e| {
            panic!(
                "one JSON line ({e}): {:?} {:?}",
                stdout(&listed),
                String::from_utf8_lossy(&listed.stderr)
            )
        });
    assert_eq!(line["order"]["id"], id.as_str());
    assert_eq!(line["refusals"], 1);
    let retried = orderflow_async(&["outbox", "retry", &id], &env).await;
    assert!(
        retried.status.success(),
        "{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    let again = orderflow_async(&["outbox", "retry", &id], &env).await;
    assert!(!again.status.success(), "no longer set aside");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not set aside"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(app.run_relay().await, 1, "published once retried");
}

/// Runs `orderflow worker` with `env` until it exits or `limit` passes (then kills it).
async fn start_worker_until_it_exits(
    env: Vec<(String, String)>,
    limit: Duration,
) -> Option<Output> {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orderflow"));
        cmd.arg("worker")
            .env_remove("ORDERFLOW_PROFILE")
            .env("ORDERFLOW_OPS__BIND", "127.0.0.1:0")
            .env(
                "ORDERFLOW_AUTH__JWT_SECRET",
                "a-test-secret-of-32-bytes-or-more-xx",
            )
            .env(
                "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
                "a-long-admin-password",
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn orderflow");
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if child.try_wait().expect("poll orderflow").is_some() {
                return Some(child.wait_with_output().expect("collect output"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    })
    .await
    .expect("the worker ran")
}

#[tokio::test]
async fn a_start_no_retry_can_fix_stops_at_once_saying_why() {
    let (Some(aws), Some(mongo)) = (
        aws_endpoint().await,
        orderflow_testkit::services::mongo_url().await,
    ) else {
        return;
    };
    let missing_queue = owned(&[
        ("ORDERFLOW_ADAPTERS__QUEUE", "sqs"),
        ("ORDERFLOW_AWS__ENDPOINT_URL", aws.as_str()),
        ("ORDERFLOW_AWS__ACCESS_KEY_ID", "test"),
        ("ORDERFLOW_AWS__SECRET_ACCESS_KEY", "test"),
        (
            "ORDERFLOW_SQS__QUEUE_NAME",
            unique("never-created").as_str(),
        ),
        ("ORDERFLOW_SQS__CREATE_QUEUES", "false"),
    ]);
    // Wrong credentials for the test server: it refuses the login (code 18).
    let bad_login = mongo.replacen("mongodb://", "mongodb://nobody:wrong@", 1);
    let refused_login = owned(&[
        ("ORDERFLOW_ADAPTERS__STORE", "mongo"),
        ("ORDERFLOW_MONGO__URI", bad_login.as_str()),
    ]);
    let malformed = owned(&[
        ("ORDERFLOW_ADAPTERS__STORE", "mongo"),
        (
            "ORDERFLOW_MONGO__URI",
            "mongodb://127.0.0.1:27017/?authMechanism=NOT-A-MECHANISM",
        ),
    ]);
    for (env, says) in [
        (missing_queue, "does not exist"),
        (refused_login, "authentication failed"),
        (malformed, "invalid mechanism"),
    ] {
        let shown = format!("{env:?}");
        let out = start_worker_until_it_exits(env, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("still retrying after 20 s: {shown}"));
        assert_eq!(out.status.code(), Some(1), "{shown}");
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.contains(says) && last.contains("retrying cannot fix this"),
            "{shown}: {last}"
        );
    }
}
