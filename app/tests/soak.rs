//! A bounded soak on the local services: concurrent clients run a mixed workload
//! (register, login, browse, place, read, cancel) against an API process and two
//! worker processes, while one worker is killed and restarted, Redis is restarted and
//! the mail server is away for 15 s (far longer than a message's retries last).
//! At the end: no 5xx, at least 20 orders/s accepted, every accepted order terminal
//! within a minute of the load stopping, stock consistent with the completed orders,
//! one email (one Message-ID) per completed or failed order.
//! `SOAK_SECS` sets the duration (default 75).
//!
//! Each client paces itself to at most `SOAK_CLIENT_RATE` requests a second (default
//! 15): the soak checks correctness under chaos at a load the emulators sustain, not
//! capacity (that is `scripts/bench local`). Placements do not wait for the queue, so
//! unpaced clients place orders faster than two workers settle them on moto, whose
//! cost per message grows with the messages it holds (every send, receive and delete
//! scans the whole queue); real SQS does not slow with depth.

mod support;

use orderflow_testkit::services::unique;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

#[derive(Default)]
struct Stats {
    requests: u64,
    /// Placements tried, accepted or not.
    offered: u64,
    by_status: BTreeMap<u16, u64>,
    /// order id -> (sku, quantity)
    placed: HashMap<String, (String, i64)>,
    cancelled: HashSet<String>,
}

/// xorshift: reproducible without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One product sells out at once (placements get 409, late settlements fail), one
/// late in the run; two have stock for every order. The clients offer orders in half of
/// their requests (8 × 15 requests/s at most; 50–80 requests/s here, so 25–40 orders/s),
/// at least 20 orders/s, and most are accepted.
const PRODUCTS: [(&str, i64); 4] = [
    ("SOAK-A", 800),
    ("SOAK-B", 100_000),
    ("SOAK-C", 15),
    ("SOAK-D", 100_000),
];

/// Every accepted order is settled within this of the load stopping, worker kills
/// included.
const SETTLED_WITHIN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak() {
    let Some(mut s) = Stack::new().await else {
        return;
    };
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(75);
    let rate: f64 = std::env::var("SOAK_CLIENT_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|r: &f64| *r > 0.0)
        .unwrap_or(15.0);
    let redis_port = free_port();
    let mut redis = start_redis(redis_port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.redis = format!("redis://127.0.0.1:{redis_port}");
    let gate = MailGate::start(s.smtp.addr.clone()).await;
    s.set("ORDERFLOW_SMTP__PORT", gate.port.to_string());
    s.set("ORDERFLOW_NOTIFY__RETRY_FIRST_MS", "200");
    s.set("ORDERFLOW_NOTIFY__RETRY_MAX_MS", "2000");
    s.set("ORDERFLOW_NOTIFY__SCAN_INTERVAL_MS", "500");
    // The workers as production runs them: batched SQS calls, forty deliveries in hand.
    let keys = [PRODUCTION_BATCHING.as_slice(), &[("worker", "concurrency")]].concat();
    for (k, v) in production_settings(&keys) {
        s.set(&k, v);
    }
    let s = Arc::new(s);
    let c = Arc::new(Client::new());
    let _api = s.spawn("api");
    let mut w1 = s.spawn("worker");
    let _w2 = s.spawn("worker");
    c.wait_ready(&s).await;
    for (sku, stock) in PRODUCTS {
        c.product(&s, sku, stock).await;
    }

    let stats = Arc::new(Mutex::new(Stats::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut clients = Vec::new();
    for n in 0..8u64 {
        let (s, c, stats) = (s.clone(), c.clone(), stats.clone());
        clients.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((n + 1) * 7919));
            let email = format!("soak-{}@example.com", unique("c"));
            let record = |st: u16| {
                let mut g = stats.lock().unwrap();
                g.requests += 1;
                *g.by_status.entry(st).or_default() += 1;
            };
            let (st, _) = c
                .call(
                    "POST",
                    s.url("/api/auth/register"),
                    None,
                    Some(json!({"email": email, "password": "soak-password"})),
                )
                .await;
            record(st);
            let (st, b) = c
                .call(
                    "POST",
                    s.url("/api/auth/login"),
                    None,
                    Some(json!({"email": email, "password": "soak-password"})),
                )
                .await;
            record(st);
            let mut token = b["access_token"].as_str().unwrap_or_default().to_owned();
            let mut mine: Vec<String> = Vec::new();
            let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while Instant::now() < deadline {
                pace.tick().await;
                let roll = rng.below(100);
                let what: &str;
                let (st, body): (u16, Value) = if roll < 50 {
                    stats.lock().unwrap().offered += 1;
                    what = "place an order";
                    let (sku, _) = PRODUCTS[rng.below(4) as usize];
                    let qty = 1 + rng.below(3) as i64;
                    let (st, b) = c.place(&s, &token, sku, qty).await;
                    if st == 202 {
                        let id = b["id"].as_str().unwrap().to_owned();
                        stats
                            .lock()
                            .unwrap()
                            .placed
                            .insert(id.clone(), (sku.to_owned(), qty));
                        mine.push(id);
                    }
                    (st, b)
                } else if roll < 58 {
                    what = "GET /api/products";
                    c.call("GET", s.url("/api/products?limit=10"), None, None)
                        .await
                } else if roll < 72 && !mine.is_empty() {
                    let id = &mine[rng.below(mine.len() as u64) as usize];
                    what = "GET /api/orders/{id}";
                    c.call(
                        "GET",
                        s.url(&format!("/api/orders/{id}")),
                        Some(&token),
                        None,
                    )
                    .await
                } else if roll < 80 {
                    what = "GET /api/orders";
                    c.call("GET", s.url("/api/orders?limit=20"), Some(&token), None)
                        .await
                } else if roll < 90 && !mine.is_empty() {
                    let id = mine[rng.below(mine.len() as u64) as usize].clone();
                    what = "POST /api/orders/{id}/cancel";
                    let (st, b) = c
                        .call(
                            "POST",
                            s.url(&format!("/api/orders/{id}/cancel")),
                            Some(&token),
                            None,
                        )
                        .await;
                    if st == 200 {
                        stats.lock().unwrap().cancelled.insert(id);
                    }
                    (st, b)
                } else {
                    what = "POST /api/auth/login";
                    let (st, b) = c
                        .call(
                            "POST",
                            s.url("/api/auth/login"),
                            None,
                            Some(json!({"email": email, "password": "soak-password"})),
                        )
                        .await;
                    if st == 200 {
                        token = b["access_token"].as_str().unwrap_or_default().to_owned();
                    }
                    (st, b)
                };
                if st >= 500 {
                    let logged = s.log_lines(body["request_id"].as_str().unwrap_or("?"));
                    panic!(
                        "5xx during the soak, {:.1} s in, to {what}: {st} {body}\nlogged:\n{}",
                        started.elapsed().as_secs_f64(),
                        logged.join("\n")
                    );
                }
                record(st);
            }
        }));
    }

    // Chaos: the mail server away from a quarter for 15 s, a worker killed and
    // restarted at a third, Redis restarted at a half.
    let outage = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(secs / 4)).await;
        gate.set_open(false);
        tokio::time::sleep(Duration::from_secs(15)).await;
        gate.set_open(true);
        gate
    });
    tokio::time::sleep(Duration::from_secs(secs / 3)).await;
    w1.kill9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _w1b = s.spawn("worker");
    tokio::time::sleep(Duration::from_secs(secs / 2 - secs / 3)).await;
    redis.kill9();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _redis = start_redis(redis_port);
    for t in clients {
        t.await.expect("a client task failed");
    }
    let _gate = outage.await.expect("the mail outage ran");
    let elapsed = started.elapsed();

    let (placed, cancelled, requests, offered, by_status) = {
        let g = stats.lock().unwrap();
        (
            g.placed.clone(),
            g.cancelled.clone(),
            g.requests,
            g.offered,
            g.by_status.clone(),
        )
    };
    let admin = c.login(&s, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let ids: Vec<String> = placed.keys().cloned().collect();
    // Settled: the order desk finds no pending order (one indexed read per look; reading
    // every order's status takes longer than settling them).
    let settle_by = Instant::now() + SETTLED_WITHIN;
    loop {
        let (st, desk) = c
            .call(
                "GET",
                s.url("/api/admin/orders?status=pending&limit=100"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(st, 200, "{desk}");
        let left = desk["items"].as_array().map_or(0, Vec::len);
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < settle_by,
            "{left} or more orders still pending {SETTLED_WITHIN:?} after the load stopped"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let settling = started.elapsed() - elapsed;
    let statuses = c
        .wait_all_terminal(&s, &admin, &ids, Duration::from_secs(10))
        .await;
    let by_id: HashMap<&String, &String> = ids.iter().zip(statuses.iter()).collect();
    let lost: Vec<_> = by_id
        .iter()
        .filter(|(_, st)| st.as_str() == "pending" || st.as_str() == "?")
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} orders not settled {SETTLED_WITHIN:?} after the load stopped: {lost:?}",
        lost.len(),
        ids.len()
    );
    for id in &cancelled {
        assert_eq!(by_id[id].as_str(), "cancelled");
    }
    for (sku, initial) in PRODUCTS {
        let taken: i64 = placed
            .iter()
            .filter(|(id, (s2, _))| s2 == sku && by_id[id].as_str() == "completed")
            .map(|(_, (_, q))| q)
            .sum();
        let (_, p) = c
            .call("GET", s.url(&format!("/api/products/{sku}")), None, None)
            .await;
        assert_eq!(
            p["stock"].as_i64(),
            Some(initial - taken),
            "{sku}: stock must equal initial minus completed"
        );
    }
    // Emails, read once: order id -> distinct Message-IDs and raw copies.
    let mut mail: HashMap<String, (usize, HashSet<String>)> = HashMap::new();
    let mut mail_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        mail.clear();
        for m in s.smtp.messages().await {
            let Some(mid) = m
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            else {
                continue;
            };
            for id in ids.iter().filter(|id| m.contains(id.as_str())) {
                let e = mail.entry(id.clone()).or_default();
                e.0 += 1;
                e.1.insert(mid.to_owned());
            }
        }
        let missing = ids
            .iter()
            .filter(|id| {
                matches!(by_id[id].as_str(), "completed" | "failed") && !mail.contains_key(*id)
            })
            .count();
        if missing == 0 || Instant::now() > mail_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        if Instant::now() > mail_deadline {
            mail_deadline = Instant::now();
        }
    }
    let mut raw_dupes = 0;
    for id in &ids {
        match by_id[id].as_str() {
            "completed" | "failed" => {
                let (copies, mids) = mail.get(id).cloned().unwrap_or_default();
                assert_eq!(mids.len(), 1, "order {id}: {} distinct emails", mids.len());
                raw_dupes += copies - 1;
            }
            _ => assert!(!mail.contains_key(id), "cancelled order {id} was mailed"),
        }
    }
    let count = |st: &str| statuses.iter().filter(|x| *x == st).count();
    eprintln!(
        "soak: {:.0} s, {requests} requests ({:.0}/s), by status {by_status:?}; orders: {:.1}/s offered, {} accepted ({:.1}/s), {} completed, {} failed, {} cancelled, 0 lost, all settled {:.1} s after the load stopped; 5xx: 0; emails: one Message-ID per settled order, {raw_dupes} redelivered copies",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        offered as f64 / elapsed.as_secs_f64(),
        ids.len(),
        ids.len() as f64 / elapsed.as_secs_f64(),
        count("completed"),
        count("failed"),
        count("cancelled"),
        settling.as_secs_f64(),
    );
    assert!(
        offered as f64 / elapsed.as_secs_f64() >= 20.0,
        "the soak must offer at least 20 orders/s to be one"
    );
}
