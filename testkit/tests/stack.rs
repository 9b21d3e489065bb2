//! The whole app on the real services: MongoDB, Redis, SQS and SMTP (see
//! `scripts/services`). Each test gets its own database, key prefix and queues.

use orderflow::config::Secret;
use orderflow_core::domain::{Role, UserId};
use orderflow_testkit::addresses::{url_of, NOT_GLOBAL};
use orderflow_testkit::{spawn_stack, start, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn wait_for_mail(needle: &str) -> Vec<String> {
    let Some(sink) = orderflow_testkit::services::smtp().await else {
        return vec![];
    };
    for _ in 0..100 {
        let found: Vec<String> = sink
            .messages()
            .await
            .into_iter()
            .filter(|m| m.contains(needle))
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vec![]
}

#[tokio::test]
async fn an_order_completes_on_the_real_services_and_the_customer_is_mailed() {
    let Some(app) = spawn_stack(|_| {}).await else {
        return;
    };
    app.product("STACK-1", 1250, 5).await;
    let user = app.customer().await;
    let r = app
        .place(
            &user.access_token,
            json!([{"sku": "STACK-1", "quantity": 2}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.drain().await, 1, "one message on SQS");
    let first = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(first.body["status"], "completed");
    assert_eq!(first.header("x-cache"), Some("miss"));
    let second = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(second.header("x-cache"), Some("hit"), "served by Redis");
    assert_eq!(second.body, first.body);
    assert_eq!(app.stock("STACK-1").await, 3);
    let mails = wait_for_mail(&id).await;
    assert_eq!(mails.len(), 1, "one email for the order");
    assert!(mails[0].contains(&user.email) && mails[0].contains("25.00 USD"));

    // What the order cost is on /metrics: the store's commands, the queue's requests
    // and the mail sends, each counted by the adapters themselves.
    let count = |series: &'static str| {
        let app = &app;
        async move { app.metric(series).await.unwrap_or(0.0) }
    };
    assert!(
        count("orderflow_store_commands_total{command=\"insert\",collection=\"orders\"}").await
            >= 1.0
    );
    assert!(
        count("orderflow_store_commands_total{command=\"update\",collection=\"products\"}").await
            >= 1.0
    );
    assert!(count("orderflow_queue_requests_total{action=\"SendMessageBatch\"}").await >= 1.0);
    assert!(count("orderflow_queue_requests_total{action=\"ReceiveMessage\"}").await >= 1.0);
    assert_eq!(
        count("orderflow_mail_sends_total{outcome=\"sent\"}").await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_units_are_never_oversold_on_mongodb() {
    let Some(app) = spawn_stack(|_| {}).await else {
        return;
    };
    app.product("STACK-HOT", 100, 8).await;
    let user = app.customer().await;
    let placements = (0..30).map(|_| {
        app.place(
            &user.access_token,
            json!([{"sku": "STACK-HOT", "quantity": 1}]),
        )
    });
    let replies = futures::future::join_all(placements).await;
    assert!(replies.iter().all(|r| r.status == StatusCode::ACCEPTED));
    let ids: Vec<String> = replies
        .iter()
        .map(|r| r.body["id"].as_str().unwrap().to_owned())
        .collect();
    let (w1, w2) = (app.worker.clone(), app.worker.clone());
    let drain = |w: orderflow::worker::Worker| async move {
        let mut idle = 0;
        while idle < 3 {
            if w.run_once(Duration::from_secs(1)).await.unwrap() == 0 {
                idle += 1;
            }
        }
    };
    tokio::join!(drain(w1), drain(w2));
    let mut completed = 0;
    for id in &ids {
        let o = app
            .get(&format!("/api/orders/{id}"), Some(&user.access_token))
            .await;
        match o.body["status"].as_str() {
            Some("completed") => completed += 1,
            Some("failed") => {}
            other => panic!("order {id} left {other:?}"),
        }
    }
    assert_eq!(completed, 8);
    assert_eq!(app.stock("STACK-HOT").await, 0);
}

#[tokio::test]
async fn a_dead_redis_never_fails_a_read() {
    let Some(app) = spawn_stack(|c| {
        c.redis.url = Secret::new("redis://127.0.0.1:1");
        c.redis.timeout_ms = 200;
    })
    .await
    else {
        return;
    };
    // Logins fail closed without their rate limiter (the README's choice): the test
    // mints its tokens with the app's own issuer instead.
    let refused = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{:?}",
        refused.body
    );
    let token = |id: UserId, role: Role| {
        app.services
            .adapters
            .tokens
            .issue_access(
                id,
                role,
                orderflow_core::domain::SessionFamilyId::new(),
                chrono::Utc::now(),
            )
            .expect("token")
            .token
    };
    let admin = token(UserId::new(), Role::Admin);
    let r = app
        .post(
            "/api/products",
            Some(&admin),
            json!({"sku": "STACK-NR", "name": "No Redis", "price_cents": 100, "stock": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let registered = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": format!("{}@example.com", uuid::Uuid::new_v4().simple()), "password": "a-strong-password"}),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "registrations go on: {:?}",
        registered.body
    );
    let customer = token(
        UserId::parse(registered.body["id"].as_str().unwrap()).unwrap(),
        Role::Customer,
    );
    let r = app
        .place(&customer, json!([{"sku": "STACK-NR", "quantity": 1}]))
        .await;
    let id = r.body["id"].as_str().unwrap();
    app.drain().await;
    for _ in 0..2 {
        let o = app.get(&format!("/api/orders/{id}"), Some(&customer)).await;
        assert_eq!(o.status, StatusCode::OK);
        assert_eq!(o.header("x-cache"), Some("miss"));
        assert_eq!(o.body["status"], "completed");
    }
}

/// Two API processes and their workers on one database and one queue, as in
/// production: an order placed through one is processed by the other's worker and
/// readable through both.
#[tokio::test]
async fn api_and_worker_processes_side_by_side() {
    let Some(a) = spawn_stack(|_| {}).await else {
        return;
    };
    let b = start(a.config.clone(), None).await;
    a.product("STACK-AB", 100, 5).await;
    let user = a.customer().await;
    let r = a
        .place(
            &user.access_token,
            json!([{"sku": "STACK-AB", "quantity": 1}]),
        )
        .await;
    let id = r.body["id"].as_str().unwrap();
    // `place` let a's relay publish the order to the shared queue.
    assert_eq!(b.drain().await, 1, "b's worker takes a's order");
    let via_b = b
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(via_b.body["status"], "completed");
    let via_a = a
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(via_a.body["status"], "completed");
    assert_eq!(a.drain().await, 0, "nothing processed twice");
}

/// Outside the embedded configuration, an endpoint on an address that is not globally
/// reachable (every special-purpose block) is refused unless
/// `webhooks.allow_private_networks` says otherwise (the local profile does).
#[tokio::test]
async fn webhooks_to_private_addresses_are_refused_outside_the_embedded_configuration() {
    let Some(app) = spawn_stack(|c| c.webhooks.allow_private_networks = false).await else {
        return;
    };
    let admin = app.admin_token().await;
    let literals = NOT_GLOBAL.iter().map(|(_, ip)| url_of(ip));
    for url in literals.chain(["http://localhost:9/hook".to_owned()]) {
        let r = app
            .post(
                "/api/admin/webhooks",
                Some(&admin),
                json!({"url": url, "events": ["*"]}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "webhook_url_refused"),
            "{url}: {:?}",
            r.body
        );
    }
}
