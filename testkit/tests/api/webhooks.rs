//! Signed webhooks: registration, delivery at least once and in order, the log,
//! redelivery, secret rotation.

use orderflow_adapter_http::{HttpSender, HttpSenderSettings};
use orderflow_core::domain::WebhookUrl;
use orderflow_core::ports::{SendOutcome, WebhookSender};
use orderflow_core::usecases::Sent;
use orderflow_testkit::addresses::{url_of, NameTable, GLOBAL, NOT_GLOBAL};
use orderflow_testkit::receiver::Receiver;
use orderflow_testkit::{spawn_app, spawn_app_custom, spawn_app_with, RunningApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

async fn add_hook(app: &RunningApp, admin: &str, url: &str, events: Value) -> Value {
    let r = app
        .post(
            "/api/admin/webhooks",
            Some(admin),
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

/// Places one order of `sku` and returns its id.
async fn order(app: &RunningApp, token: &str, sku: &str) -> String {
    let r = app.place(token, json!([{"sku": sku, "quantity": 1}])).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_endpoint_failing_three_times_gets_each_event_delivered_once_in_order_and_signed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::failing_first(3).await;
    let hook = add_hook(&app, &admin, &receiver.url(), json!(["*"])).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{hook:?}");
    assert_eq!(hook["events"], json!(["*"]));

    app.product("HOOK-1", 700, 5).await;
    let user = app.customer().await;
    let id = order(&app, &user.access_token, "HOOK-1").await;
    app.drain().await;
    let sent = app.deliver_webhooks().await;
    assert_eq!(
        sent,
        [
            Sent::Failed,
            Sent::Failed,
            Sent::Failed,
            Sent::Delivered,
            Sent::Delivered
        ]
    );

    let seen = receiver.seen();
    let answered: Vec<(String, u16)> = seen.iter().map(|r| (r.event_type(), r.answered)).collect();
    assert_eq!(
        answered,
        [
            ("order.placed".to_owned(), 500),
            ("order.placed".to_owned(), 500),
            ("order.placed".to_owned(), 500),
            ("order.placed".to_owned(), 204),
            ("order.completed".to_owned(), 204),
        ]
    );
    // One id per event, the same on every try of it.
    assert!(seen[..4].iter().all(|r| r.id == seen[0].id));
    assert_ne!(seen[0].id, seen[4].id);
    for r in &seen {
        assert!(r.signed_by(&secret), "{r:?}");
        assert!(!r.signed_by("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"));
    }
    let placed = seen[3].json();
    assert_eq!(placed["data"]["order"]["id"], id.as_str());
    assert_eq!(placed["data"]["order"]["status"], "pending");
    let completed = seen[4].json();
    assert_eq!(completed["data"]["order"]["status"], "completed");
    // The order exactly as GET /api/orders/{id} shows it.
    let now = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(completed["data"]["order"], now.body);
    assert!(chrono::DateTime::parse_from_rfc3339(completed["timestamp"].as_str().unwrap()).is_ok());

    // Nothing more is owed.
    assert!(app.deliver_webhooks().await.is_empty());
}

#[tokio::test]
async fn the_delivery_log_pages_newest_first_and_redelivery_sends_the_same_event_again() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::failing_first(2).await;
    let hook = add_hook(&app, &admin, &receiver.url(), json!(["order.placed"])).await;
    let hook_id = hook["id"].as_str().unwrap();
    app.product("HOOK-2", 700, 5).await;
    let user = app.customer().await;
    order(&app, &user.access_token, "HOOK-2").await;
    app.drain().await;
    // Only order.placed is wanted: the completion is not sent.
    assert_eq!(app.deliver_webhooks().await.len(), 3);

    let path = format!("/api/admin/webhooks/{hook_id}/deliveries");
    let r = app.get(&format!("{path}?limit=2"), Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let items = r.body["items"].as_array().unwrap();
    let attempts: Vec<(i64, Value)> = items
        .iter()
        .map(|a| (a["attempt"].as_i64().unwrap(), a["status_code"].clone()))
        .collect();
    assert_eq!(attempts, [(3, json!(204)), (2, json!(500))]);
    assert_eq!(items[0]["error"], Value::Null);
    assert!(items[1]["error"].as_str().unwrap().contains("500"));
    assert_eq!(items[0]["event_type"], "order.placed");
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .get(&format!("{path}?limit=2&cursor={cursor}"), Some(&admin))
        .await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["attempt"], 1);
    assert_eq!(r.body["next_cursor"], Value::Null);

    let event_id = receiver.seen()[0].id.clone();
    let r = app
        .call(
            Method::POST,
            &format!("/api/admin/webhooks/{hook_id}/events/{event_id}/redeliver"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(app.deliver_webhooks().await, [Sent::Delivered]);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[3].id, event_id);

    // Unknown webhooks and events, and an event this endpoint does not receive.
    let completed_event = event_id.replace("_0", "_1");
    for (hook, event) in [
        (uuid::Uuid::new_v4().to_string(), event_id.clone()),
        (hook_id.to_owned(), "evt_nope".to_owned()),
        (hook_id.to_owned(), completed_event),
        (
            hook_id.to_owned(),
            format!("evt_{}_0", uuid::Uuid::new_v4().simple()),
        ),
    ] {
        let r = app
            .call(
                Method::POST,
                &format!("/api/admin/webhooks/{hook}/events/{event}/redeliver"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{hook} {event}"
        );
    }
    let r = app.get(&format!("{path}?cursor=nope"), Some(&admin)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
}

#[tokio::test]
async fn during_a_rotation_deliveries_carry_both_signatures_then_only_the_new_one() {
    let app = spawn_app_with(|c| c.webhooks.rotation_overlap_ms = 1500).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::failing_first(0).await;
    let hook = add_hook(&app, &admin, &receiver.url(), json!(["order.placed"])).await;
    let (hook_id, old) = (
        hook["id"].as_str().unwrap(),
        hook["secret"].as_str().unwrap(),
    );
    let r = app
        .call(
            Method::POST,
            &format!("/api/admin/webhooks/{hook_id}/rotate-secret"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let new = r.body["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);

    app.product("HOOK-3", 700, 5).await;
    let user = app.customer().await;
    order(&app, &user.access_token, "HOOK-3").await;
    app.deliver_webhooks().await;
    let during = &receiver.seen()[0];
    assert_eq!(during.signature.split(' ').count(), 2, "{during:?}");
    assert!(during.signed_by(old) && during.signed_by(&new));

    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    order(&app, &user.access_token, "HOOK-3").await;
    app.deliver_webhooks().await;
    let after = &receiver.seen()[1];
    assert_eq!(after.signature.split(' ').count(), 1, "{after:?}");
    assert!(after.signed_by(&new) && !after.signed_by(old));
}

#[tokio::test]
async fn a_later_event_of_an_order_waits_behind_a_failing_one_and_other_orders_do_not() {
    let app = spawn_app_with(|c| {
        c.webhooks.retry_first_ms = 60_000;
        c.webhooks.retry_max_ms = 60_000;
    })
    .await;
    let admin = app.admin_token().await;
    let receiver = Receiver::failing_first(1).await;
    add_hook(&app, &admin, &receiver.url(), json!(["*"])).await;
    app.product("HOOK-4", 700, 5).await;
    let user = app.customer().await;
    order(&app, &user.access_token, "HOOK-4").await;
    app.drain().await;
    // The placement failed and waits a minute; the completion waits behind it.
    assert_eq!(app.deliver_webhooks().await, [Sent::Failed]);
    assert_eq!(receiver.seen().len(), 1);

    // Another order's events do not wait for this one.
    order(&app, &user.access_token, "HOOK-4").await;
    assert_eq!(app.deliver_webhooks().await, [Sent::Delivered]);
    assert_eq!(receiver.seen().len(), 2);
}

#[tokio::test]
async fn an_event_is_given_up_after_the_give_up_time_and_the_next_one_follows() {
    let app = spawn_app_with(|c| c.webhooks.give_up_after_ms = 0).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::failing_first(1).await;
    let hook = add_hook(&app, &admin, &receiver.url(), json!(["*"])).await;
    let endpoint = hook["id"].as_str().unwrap();
    app.product("HOOK-5", 700, 5).await;
    let user = app.customer().await;
    order(&app, &user.access_token, "HOOK-5").await;
    app.drain().await;
    assert_eq!(
        app.deliver_webhooks().await,
        [Sent::GaveUp, Sent::Delivered]
    );
    let kinds: Vec<String> = receiver.seen().iter().map(|r| r.event_type()).collect();
    assert_eq!(kinds, ["order.placed", "order.completed"]);
    let text = app.metrics_text().await;
    for outcome in ["given_up", "delivered"] {
        let series = format!(
            "orderflow_webhook_deliveries_total{{outcome=\"{outcome}\",endpoint=\"{endpoint}\"}} 1"
        );
        assert!(text.lines().any(|l| l == series), "{series} in {text}");
    }
}

#[tokio::test]
async fn admin_and_customer_cancels_are_events_and_removed_endpoints_get_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::failing_first(0).await;
    let hook = add_hook(&app, &admin, &receiver.url(), json!(["order.cancelled"])).await;
    app.product("HOOK-6", 700, 5).await;
    let user = app.customer().await;
    let id = order(&app, &user.access_token, "HOOK-6").await;
    let r = app
        .call(
            Method::POST,
            &format!("/api/admin/orders/{id}/cancel"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(app.deliver_webhooks().await, [Sent::Delivered]);
    let got = receiver.seen()[0].json();
    assert_eq!(got["type"], "order.cancelled");
    assert_eq!(got["data"]["order"]["status"], "cancelled");

    let hook_id = hook["id"].as_str().unwrap();
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/admin/webhooks/{hook_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get("/api/admin/webhooks", Some(&admin)).await;
    assert_eq!(r.body["items"], json!([]));
    let id = order(&app, &user.access_token, "HOOK-6").await;
    app.call(
        Method::POST,
        &format!("/api/orders/{id}/cancel"),
        Some(&user.access_token),
        None,
    )
    .await;
    assert!(app.deliver_webhooks().await.is_empty());
    assert_eq!(receiver.seen().len(), 1);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/admin/webhooks/{hook_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn registration_refuses_bad_urls_and_event_types_and_needs_an_admin() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.customer().await;
    for (body, code) in [
        (
            json!({"url": "ftp://example.com", "events": ["*"]}),
            "validation_failed",
        ),
        (
            json!({"url": "https://u:p@example.com/", "events": ["*"]}),
            "validation_failed",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "validation_failed",
        ),
        (
            json!({"url": "https://example.com/", "events": ["order.shipped"]}),
            "validation_failed",
        ),
        (
            json!({"url": "https://example.com/", "events": ["*", "order.shipped"]}),
            "validation_failed",
        ),
        (
            json!({"url": "http://no-such-host.invalid/", "events": ["*"]}),
            "webhook_url_refused",
        ),
    ] {
        let r = app
            .post("/api/admin/webhooks", Some(&admin), body.clone())
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{body} {:?}",
            r.body
        );
    }
    let r = app
        .post(
            "/api/admin/webhooks",
            Some(&user.access_token),
            json!({"url": "http://127.0.0.1:9/", "events": ["*"]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app
        .get("/api/admin/webhooks", Some(&user.access_token))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The list shows no secret.
    add_hook(
        &app,
        &admin,
        "http://127.0.0.1:9/x",
        json!(["order.failed", "order.placed"]),
    )
    .await;
    let r = app.get("/api/admin/webhooks", Some(&admin)).await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["events"], json!(["order.placed", "order.failed"]));
    assert!(items[0].get("secret").is_none(), "{:?}", items[0]);
}

#[tokio::test]
async fn a_hanging_endpoint_holds_only_its_share_of_the_senders() {
    let app = spawn_app_with(|c| {
        c.webhooks.timeout_ms = 30_000;
        c.webhooks.per_endpoint = 1;
        c.webhooks.concurrency = 4;
        c.webhooks.scan_interval_ms = 20;
    })
    .await;
    let admin = app.admin_token().await;
    let stuck = Receiver::hanging().await;
    let fine = Receiver::failing_first(0).await;
    add_hook(&app, &admin, &stuck.url(), json!(["order.placed"])).await;
    add_hook(&app, &admin, &fine.url(), json!(["order.placed"])).await;
    app.product("HOOK-7", 700, 50).await;
    let user = app.customer().await;
    for _ in 0..5 {
        order(&app, &user.access_token, "HOOK-7").await;
    }
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let pace = orderflow::webhook_deliveries::Pace {
        every: std::time::Duration::from_millis(20),
        idle_max: std::time::Duration::from_millis(20),
        batch: 100,
        concurrency: 4,
        per_endpoint: 1,
    };
    let s = &app.services;
    let fan = tokio::spawn(orderflow::webhook_deliveries::run_fan_out(
        s.webhooks.clone(),
        s.metrics.clone(),
        pace,
        stop.clone(),
    ));
    let send = tokio::spawn(orderflow::webhook_deliveries::run_sender(
        s.webhooks.clone(),
        s.metrics.clone(),
        pace,
        stop,
    ));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while fine.seen().len() < 5 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(fine.seen().len(), 5, "the healthy endpoint got every order");
    assert_eq!(
        stuck.seen().len(),
        1,
        "one send at a time to the hanging endpoint"
    );
    let _ = stop_tx.send(true);
    fan.await.unwrap();
    send.abort();
}

#[tokio::test]
async fn an_endpoint_gets_only_what_happens_after_it_was_added() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.product("HOOK-8", 700, 5).await;
    let user = app.customer().await;
    order(&app, &user.access_token, "HOOK-8").await;
    // Nobody listens yet: the fan-out finds no endpoint.
    assert!(app.deliver_webhooks().await.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let receiver = Receiver::failing_first(0).await;
    add_hook(&app, &admin, &receiver.url(), json!(["*"])).await;
    app.drain().await;
    assert_eq!(app.deliver_webhooks().await, [Sent::Delivered]);
    let kinds: Vec<String> = receiver.seen().iter().map(|r| r.event_type()).collect();
    assert_eq!(kinds, ["order.completed"]);
}

/// A deployment that keeps webhooks off private networks refuses every address that
/// is not globally reachable — at registration, whether the URL names it or a name
/// resolves to it, and at every send, so a name that changes its answer after
/// registration is refused too.
#[tokio::test]
async fn special_purpose_addresses_are_refused_by_literal_by_name_and_at_send_time() {
    let names = NameTable::default();
    let sender = Arc::new(
        HttpSender::with_lookup(
            &HttpSenderSettings {
                timeout: Duration::from_millis(500),
                allow_private_networks: false,
            },
            Arc::new(names.clone()),
        )
        .expect("sender"),
    );
    let swapped = sender.clone();
    // A refused delivery is tried again only after a minute: the test sees one try.
    let slow_retries = |c: &mut orderflow::config::Config| {
        c.webhooks.retry_first_ms = 60_000;
        c.webhooks.retry_max_ms = 60_000;
    };
    let app = spawn_app_custom(slow_retries, |a| a.webhook_sender = swapped).await;
    let admin = app.admin_token().await;
    // The endpoints accepted here want only cancellations, which this test makes none
    // of: nothing is sent to the public addresses.
    let register = |url: String| {
        let (app, admin) = (&app, &admin);
        async move {
            let r = app
                .post(
                    "/api/admin/webhooks",
                    Some(admin),
                    json!({"url": url, "events": ["order.cancelled"]}),
                )
                .await;
            (r.status, r.code().to_owned(), r.body)
        }
    };
    let refused = (
        StatusCode::UNPROCESSABLE_ENTITY,
        "webhook_url_refused".to_owned(),
    );
    for (i, (block, ip)) in NOT_GLOBAL.iter().enumerate() {
        let (status, code, body) = register(url_of(ip)).await;
        assert_eq!((status, code), refused, "{block}: {ip} {body:?}");
        let name = format!("special-{i}.example");
        names.set(&name, ip);
        let (status, code, body) = register(format!("http://{name}/hook")).await;
        assert_eq!((status, code), refused, "{block}: {name} → {ip} {body:?}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or("")
                .contains("not globally reachable"),
            "{block}: {body:?}"
        );
        let url = WebhookUrl::parse(&format!("http://{name}/hook")).expect("url");
        match sender.post(&url, &[], b"{}".to_vec()).await {
            SendOutcome::NoAnswer(why) => {
                assert!(why.contains("not globally reachable"), "{block}: {why}")
            }
            other => panic!("{block}: sent to {ip}: {other:?}"),
        }
    }
    for (i, ip) in GLOBAL.iter().enumerate() {
        let (status, _, body) = register(url_of(ip)).await;
        assert_eq!(status, StatusCode::CREATED, "{ip} {body:?}");
        let name = format!("global-{i}.example");
        names.set(&name, ip);
        let (status, _, body) = register(format!("http://{name}/hook")).await;
        assert_eq!(status, StatusCode::CREATED, "{name} → {ip} {body:?}");
    }
    // Registered while it answered with a public address, then pointed at the metadata
    // service over NAT64: the delivery is refused before any connection.
    names.set("rebind.example", "93.184.216.34");
    let hook = add_hook(
        &app,
        &admin,
        "http://rebind.example/hook",
        json!(["order.placed"]),
    )
    .await;
    names.set("rebind.example", "64:ff9b::a9fe:a9fe");
    app.product("HOOK-SP", 700, 5).await;
    let user = app.customer().await;
    order(&app, &user.access_token, "HOOK-SP").await;
    assert_eq!(app.deliver_webhooks().await, [Sent::Failed]);
    let log = app
        .get(
            &format!(
                "/api/admin/webhooks/{}/deliveries",
                hook["id"].as_str().expect("id")
            ),
            Some(&admin),
        )
        .await;
    let error = log.body["items"][0]["error"].as_str().unwrap_or("");
    assert!(error.contains("not globally reachable"), "{:?}", log.body);
}
