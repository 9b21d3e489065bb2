//! The cost guard: what orders cost in MongoDB commands and SQS requests, read from the
//! processes' own counters (`orderflow_store_commands_total`,
//! `orderflow_queue_requests_total`), for an `api` and a `worker` on the local services
//! with production's batching settings. A change that adds a command or a request to
//! every order, or a scan to every process, fails here instead of in the AWS bill.
//!
//! Cheap on purpose (a few hundred orders at a steady pace): `scripts/bench cost`
//! measures the same figures at 100 orders/s and breaks them down. The processes'
//! idle background is not subtracted here, so the limits hold it too.

mod support;

use std::time::{Duration, Instant};
use support::*;

/// Orders placed, one every `PACE`.
const ORDERS: usize = 300;
const PACE: Duration = Duration::from_millis(20);

/// What this guard measured (10.1–10.3 commands and 0.59–0.63 requests per order at
/// this pace, idle background included, three runs) plus about a tenth, and a little
/// more for the spread between runs on a busy machine: a change that adds a command or
/// a request per order, or unbatches the acks (1.2 requests per order), fails. The
/// budget is 5 commands and 0.3 requests (README, What an order costs); BENCHMARKS.md
/// says what is left to reach it. Lower these as the figures come down.
const MONGO_LIMIT: f64 = 11.5;
const SQS_LIMIT: f64 = 0.75;

/// The `[relay]` and `[worker]` keys production sets to batch its SQS calls, as
/// environment variables: the guard measures what production runs.
fn production_batching() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("config/production.toml")).unwrap();
    let config: toml::Table = text.parse().unwrap();
    let mut out = Vec::new();
    for (section, keys) in [
        ("relay", &["batch_linger_ms"][..]),
        ("worker", &["receive_pause_ms", "ack_linger_ms"][..]),
    ] {
        for key in keys {
            let value = config[section][*key].as_integer().unwrap();
            out.push((
                format!("ORDERFLOW_{}__{}", section.to_uppercase(), key.to_uppercase()),
                value.to_string(),
            ));
        }
    }
    out
}

async fn metrics_text(client: &Client, process: &Proc) -> String {
    let res = client.http.get(process.ops_url("/metrics")).send().await;
    res.unwrap().text().await.unwrap()
}

/// The sum of every sample of a counter family on one process's /metrics.
async fn total(client: &Client, process: &Proc, family: &str) -> f64 {
    metrics_text(client, process)
        .await
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} ")))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Every sample of a family, for a failure's message.
async fn samples(client: &Client, process: &Proc, family: &str) -> Vec<String> {
    metrics_text(client, process)
        .await
        .lines()
        .filter(|l| l.starts_with(family))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_costs_no_more_than_its_budget() {
    let Some(mut s) = Stack::new().await else {
        return;
    };
    for (k, v) in production_batching() {
        s.set(&k, v);
    }
    // Production's pace of long polls and scans, not the fault tests' quick one.
    s.set("ORDERFLOW_SQS__WAIT_TIME_MS", "20000");
    s.set("ORDERFLOW_SQS__VISIBILITY_TIMEOUT_MS", "30000");
    s.set("ORDERFLOW_SQS__CALL_TIMEOUT_MS", "10000");
    s.set("ORDERFLOW_RELAY__INTERVAL_MS", "1000");
    s.set("ORDERFLOW_OPS__IDLE_SCAN_MAX_MS", "30000");
    s.set("ORDERFLOW_RELAY__MIN_AGE_MS", "2000");
    s.set("ORDERFLOW_RELAY__CONCURRENCY", "1");
    s.set("ORDERFLOW_WORKER__NOTIFY_LEASE_MS", "20000");
    s.set("ORDERFLOW_MAIL__SEND_TIMEOUT_MS", "15000");
    let api = s.spawn("api");
    let worker = s.spawn("worker");
    let client = Client::new();
    client.wait_ready(&s).await;
    client.product(&s, "COST", 1_000_000).await;
    let token = client.customer(&s).await;
    // Start-up (indexes, queues, the first scans) is not what an order costs.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let commands = "orderflow_store_commands_total";
    let requests = "orderflow_queue_requests_total";
    let mut before = (0.0, 0.0);
    for p in [&api, &worker] {
        before.0 += total(&client, p, commands).await;
        before.1 += total(&client, p, requests).await;
    }
    let started = Instant::now();
    for i in 0..ORDERS {
        let (status, body) = client.place(&s, &token, "COST", 1).await;
        assert_eq!(status, 202, "{body}");
        let next = started + PACE * u32::try_from(i + 1).unwrap();
        tokio::time::sleep_until(next.into()).await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let settled = total(&client, &worker, "orderflow_orders_completed_total").await
            + total(&client, &worker, "orderflow_orders_failed_total").await;
        if settled >= ORDERS as f64 {
            break;
        }
        assert!(Instant::now() < deadline, "{settled} of {ORDERS} orders settled in 120 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The last acks and email marks.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut after = (0.0, 0.0);
    let mut breakdown = Vec::new();
    for p in [&api, &worker] {
        after.0 += total(&client, p, commands).await;
        after.1 += total(&client, p, requests).await;
        breakdown.extend(samples(&client, p, commands).await);
        breakdown.extend(samples(&client, p, requests).await);
    }
    let per_order = |a: f64, b: f64| (a - b) / ORDERS as f64;
    let mongo = per_order(after.0, before.0);
    let sqs = per_order(after.1, before.1);
    println!(
        "cost guard: {ORDERS} orders in {:.1} s: {mongo:.2} MongoDB commands and {sqs:.3} SQS requests per order",
        started.elapsed().as_secs_f64()
    );
    assert!(
        mongo <= MONGO_LIMIT && sqs <= SQS_LIMIT,
        "an order now costs {mongo:.2} MongoDB commands (limit {MONGO_LIMIT}) and {sqs:.3} SQS requests (limit {SQS_LIMIT}):\n{}",
        breakdown.join("\n")
    );
}
