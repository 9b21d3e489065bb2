use orderflow_testkit::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn placing_an_order_answers_202_with_prices_snapshotted() {
    let app = spawn_app().await;
    app.product("KB", 8900, 10).await;
    app.product("MS", 2900, 10).await;
    let user = app.customer().await;
    let r = app
        .place(
            &user.access_token,
            json!([{"sku": "KB", "quantity": 1}, {"sku": "MS", "quantity": 2}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let o = &r.body;
    assert_eq!(o["status"], "pending");
    assert_eq!(o["user_id"], user.id.as_str());
    assert_eq!(o["total_cents"], 8900 + 2 * 2900);
    assert_eq!(o["currency"], "USD");
    assert_eq!(
        o["items"][1],
        json!({"sku": "MS", "name": "Product MS", "quantity": 2, "unit_price_cents": 2900, "line_total_cents": 5800})
    );
    assert_eq!(o["history"].as_array().unwrap().len(), 1);
    assert_eq!(o["history"][0]["status"], "pending");
    assert!(
        o.get("published").is_none() && o.get("idempotency_key").is_none(),
        "bookkeeping stays private"
    );
    // Nothing is taken until the worker runs.
    assert_eq!(app.stock("KB").await, 10);
}

#[tokio::test]
async fn placement_checks_skus_and_stock_up_front() {
    let app = spawn_app().await;
    app.product("FEW", 100, 2).await;
    let user = app.customer().await;
    let r = app
        .place(
            &user.access_token,
            json!([{"sku": "FEW", "quantity": 1}, {"sku": "GHOST", "quantity": 1}]),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_sku")
    );
    assert!(r.body["detail"].as_str().unwrap().contains("GHOST"));
    let r = app
        .place(&user.access_token, json!([{"sku": "FEW", "quantity": 3}]))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "insufficient_stock")
    );
    assert!(app.store.all_orders().is_empty(), "no partial state");
}

#[tokio::test]
async fn order_bodies_are_validated_without_partial_state() {
    let app = spawn_app().await;
    app.product("V", 100, 10_000).await;
    let user = app.customer().await;
    let too_many: Vec<_> = (0..51)
        .map(|i| json!({"sku": format!("S{i}"), "quantity": 1}))
        .collect();
    for items in [
        json!([]),
        json!([{"sku": "V", "quantity": 0}]),
        json!([{"sku": "V", "quantity": -1}]),
        json!([{"sku": "V", "quantity": 1.5}]),
        json!([{"sku": "V", "quantity": 1001}]),
        json!([{"sku": "V", "quantity": "1"}]),
        json!([{"sku": "V", "quantity": 1e30}]),
        json!([{"sku": "V"}]),
        json!([{"sku": "", "quantity": 1}]),
        json!([{"sku": "V", "quantity": 1}, {"sku": "V", "quantity": 2}]),
        json!([{"sku": "V", "quantity": 1, "unit_price_cents": 1}]),
        json!(too_many),
        json!("V"),
    ] {
        let r = app.place(&user.access_token, items.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{items}"
        );
    }
    for body in [
        json!({"items": [{"sku": "V", "quantity": 1}], "user_id": uuid::Uuid::new_v4()}),
        json!({"items": [{"sku": "V", "quantity": 1}], "status": "completed"}),
        json!({"items": [{"sku": "V", "quantity": 1}], "total_cents": 0}),
        json!({}),
    ] {
        let r = app
            .post("/api/orders", Some(&user.access_token), body.clone())
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}"
        );
    }
    assert!(
        app.store.all_orders().is_empty(),
        "no order was created by any of them"
    );
    let r = app
        .place(&user.access_token, json!([{"sku": "V", "quantity": 1000}]))
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "the boundary itself is fine"
    );
}

#[tokio::test]
async fn orders_need_a_bearer_token() {
    let app = spawn_app().await;
    for r in [
        app.place("not-a-token", json!([{"sku": "X", "quantity": 1}]))
            .await,
        app.get("/api/orders", None).await,
        app.get(&format!("/api/orders/{}", uuid::Uuid::new_v4()), None)
            .await,
        app.post(
            &format!("/api/orders/{}/cancel", uuid::Uuid::new_v4()),
            None,
            json!({}),
        )
        .await,
    ] {
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
    }
}

#[tokio::test]
async fn idempotency_key_replays_the_same_order_and_refuses_a_different_body() {
    let app = spawn_app().await;
    app.product("IDEM", 100, 10).await;
    let user = app.customer().await;
    let send = |key: &'static str, qty: i64| {
        app.client
            .post(app.url("/api/orders"))
            .bearer_auth(&user.access_token)
            .header("idempotency-key", key)
            .json(&json!({"items": [{"sku": "IDEM", "quantity": qty}]}))
            .send()
    };
    let first = orderflow_testkit::TestApp::read(send("k-1", 2).await.unwrap()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let again = orderflow_testkit::TestApp::read(send("k-1", 2).await.unwrap()).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body["id"], first.body["id"]);
    let conflict = orderflow_testkit::TestApp::read(send("k-1", 3).await.unwrap()).await;
    assert_eq!(
        (conflict.status, conflict.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict")
    );
    assert_eq!(app.store.all_orders().len(), 1);
    // Keys are per user: another user's same key is a new order.
    let other = app.customer().await;
    let theirs = app
        .client
        .post(app.url("/api/orders"))
        .bearer_auth(&other.access_token)
        .header("idempotency-key", "k-1")
        .json(&json!({"items": [{"sku": "IDEM", "quantity": 3}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::ACCEPTED);
    let long_key = "k".repeat(256);
    let too_long = app
        .client
        .post(app.url("/api/orders"))
        .bearer_auth(&user.access_token)
        .header("idempotency-key", long_key)
        .json(&json!({"items": [{"sku": "IDEM", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.all_orders().len(), 2);
    // The replayed order is processed once.
    app.drain().await;
    assert_eq!(app.stock("IDEM").await, 10 - 2 - 3);
}

/// The key is checked by the store on insert, so a retry must still find its order
/// when the stock check would now say no.
#[tokio::test]
async fn a_retry_gets_its_order_back_after_the_stock_is_gone() {
    let app = spawn_app().await;
    app.product("LAST", 100, 1).await;
    let user = app.customer().await;
    let send = |key: &'static str, sku: &'static str| {
        app.client
            .post(app.url("/api/orders"))
            .bearer_auth(&user.access_token)
            .header("idempotency-key", key)
            .json(&json!({"items": [{"sku": sku, "quantity": 1}]}))
            .send()
    };
    let first = orderflow_testkit::TestApp::read(send("last-1", "LAST").await.unwrap()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    app.drain().await;
    assert_eq!(app.stock("LAST").await, 0);
    let retry = orderflow_testkit::TestApp::read(send("last-1", "LAST").await.unwrap()).await;
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{:?}", retry.body);
    assert_eq!(retry.body["id"], first.body["id"]);
    assert_eq!(retry.body["status"], "completed");
    let fresh = orderflow_testkit::TestApp::read(send("last-2", "LAST").await.unwrap()).await;
    assert_eq!(
        (fresh.status, fresh.code()),
        (StatusCode::CONFLICT, "insufficient_stock")
    );
    let other_body =
        orderflow_testkit::TestApp::read(send("last-1", "NO-SUCH").await.unwrap()).await;
    assert_eq!(
        (other_body.status, other_body.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict")
    );
    assert_eq!(app.store.all_orders().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_idempotency_key_make_one_order() {
    let app = spawn_app().await;
    app.product("IDEM2", 100, 100).await;
    let user = app.customer().await;
    let calls = (0..8).map(|_| {
        app.client
            .post(app.url("/api/orders"))
            .bearer_auth(&user.access_token)
            .header("idempotency-key", "same")
            .json(&json!({"items": [{"sku": "IDEM2", "quantity": 1}]}))
            .send()
    });
    let replies = futures::future::join_all(calls).await;
    let mut ids = std::collections::HashSet::new();
    for r in replies {
        let r = orderflow_testkit::TestApp::read(r.unwrap()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        ids.insert(r.body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(app.store.all_orders().len(), 1);
}

#[tokio::test]
async fn reading_an_order_reports_cache_misses_and_hits() {
    let app = spawn_app_completed().await;
    let (app, user, id) = (app.0, app.1, app.2);
    let first = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("x-cache"), Some("miss"));
    assert_eq!(first.body["status"], "completed");
    let second = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(second.header("x-cache"), Some("hit"));
    assert_eq!(second.header("content-type"), Some("application/json"));
    assert_eq!(second.body, first.body);
}

/// An entry too short to be one (cut off) is read past: the order comes from the
/// store and the entry is replaced.
#[tokio::test]
async fn an_unreadable_cache_entry_is_read_past() {
    let (app, user, id) = spawn_app_completed().await;
    let key = orderflow::http::order_cache::order_cache_key(orderflow_core::domain::OrderId(
        id.parse().unwrap(),
    ));
    app.services
        .adapters
        .cache
        .set(&key, b"{}", std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let r = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(
        (r.status, r.header("x-cache")),
        (StatusCode::OK, Some("miss"))
    );
    assert_eq!(r.body["status"], "completed");
    let again = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(
        again.header("x-cache"),
        Some("hit"),
        "the entry was replaced"
    );
}

async fn spawn_app_completed() -> (
    orderflow_testkit::TestApp,
    orderflow_testkit::TestUser,
    String,
) {
    let app = spawn_app().await;
    app.product("C", 100, 10).await;
    let user = app.customer().await;
    let r = app
        .place(&user.access_token, json!([{"sku": "C", "quantity": 1}]))
        .await;
    app.drain().await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    (app, user, id)
}

#[tokio::test]
async fn other_users_orders_are_404_but_admins_can_read_them() {
    let (app, owner, id) = spawn_app_completed().await;
    let stranger = app.customer().await;
    // Warm the cache first: a cache hit must not skip the ownership check.
    assert_eq!(
        app.get(&format!("/api/orders/{id}"), Some(&owner.access_token))
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .get(&format!("/api/orders/{id}"), Some(&stranger.access_token))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&stranger.access_token),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let listed = app.get("/api/orders", Some(&stranger.access_token)).await;
    assert_eq!(listed.body["items"], json!([]));
    let admin = app.admin_token().await;
    let r = app.get(&format!("/api/orders/{id}"), Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["user_id"], owner.id.as_str());
    for path in [
        "/api/orders/not-a-uuid",
        &format!("/api/orders/{}", uuid::Uuid::new_v4()),
    ] {
        let r = app.get(path, Some(&owner.access_token)).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn listing_is_own_orders_newest_first_with_cursors() {
    let app = spawn_app().await;
    app.product("L", 100, 100).await;
    let user = app.customer().await;
    let other = app.customer().await;
    app.place(&other.access_token, json!([{"sku": "L", "quantity": 1}]))
        .await;
    let mut placed = Vec::new();
    for q in 1..=5 {
        let r = app
            .place(&user.access_token, json!([{"sku": "L", "quantity": q}]))
            .await;
        placed.push(r.body["id"].as_str().unwrap().to_owned());
    }
    placed.reverse();
    let ids = |b: &serde_json::Value| {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let all = app.get("/api/orders", Some(&user.access_token)).await;
    assert_eq!(
        ids(&all.body),
        placed,
        "default limit covers all five, newest first"
    );
    let p1 = app
        .get("/api/orders?limit=2", Some(&user.access_token))
        .await;
    assert_eq!(ids(&p1.body), placed[..2]);
    let c1 = p1.body["next_cursor"].as_str().unwrap();
    let p2 = app
        .get(
            &format!("/api/orders?limit=2&cursor={c1}"),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(ids(&p2.body), placed[2..4]);
    let p3 = app
        .get(
            &format!(
                "/api/orders?limit=2&cursor={}",
                p2.body["next_cursor"].as_str().unwrap()
            ),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(ids(&p3.body), placed[4..]);
    assert!(p3.body["next_cursor"].is_null());
    for q in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "cursor=garbage",
        "cursor=",
        "unknown=1",
    ] {
        let r = app
            .get(&format!("/api/orders?{q}"), Some(&user.access_token))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{q}"
        );
    }
    assert_eq!(
        app.get("/api/orders?limit=100", Some(&user.access_token))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn cancel_works_only_while_pending() {
    let app = spawn_app().await;
    app.product("CAN", 100, 10).await;
    let user = app.customer().await;
    let r = app
        .place(&user.access_token, json!([{"sku": "CAN", "quantity": 2}]))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    // Reading it first caches the pending order; the cancel must not be hidden by that.
    app.get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    let c = app
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&user.access_token),
            json!({}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(c.body["status"], "cancelled");
    assert_eq!(c.body["history"][1]["status"], "cancelled");
    assert_eq!(c.body["history"][1]["reason"], "cancelled by the customer");
    let read = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(read.body["status"], "cancelled");
    let again = app
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&user.access_token),
            json!({}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    // The worker then finds nothing to do: no stock taken, no email.
    app.drain().await;
    assert_eq!(app.stock("CAN").await, 10);
    assert!(app.mailer.sent().is_empty());

    let r = app
        .place(&user.access_token, json!([{"sku": "CAN", "quantity": 1}]))
        .await;
    let done = r.body["id"].as_str().unwrap().to_owned();
    app.drain().await;
    let late = app
        .post(
            &format!("/api/orders/{done}/cancel"),
            Some(&user.access_token),
            json!({}),
        )
        .await;
    assert_eq!(
        (late.status, late.code()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    assert!(late.body["detail"].as_str().unwrap().contains("completed"));
}

/// A pending order is cached too (briefly in production; here for a minute, so only
/// the drop can explain a fresh answer): settling it and cancelling it drop the copy
/// through `OrderChanges`, so the next read shows the new status.
#[tokio::test]
async fn a_cached_pending_order_is_dropped_when_it_settles_or_is_cancelled() {
    let app = orderflow_testkit::spawn_app_with(|c| c.cache.pending_order_ttl_ms = 60_000).await;
    app.product("P", 100, 10).await;
    let user = app.customer().await;
    let settles = app
        .place(&user.access_token, json!([{"sku": "P", "quantity": 1}]))
        .await;
    let cancels = app
        .place(&user.access_token, json!([{"sku": "P", "quantity": 1}]))
        .await;
    let read = |id: &str| {
        let path = format!("/api/orders/{id}");
        let token = user.access_token.clone();
        let app = &app;
        async move { app.get(&path, Some(&token)).await }
    };
    let a: String = settles.body["id"].as_str().unwrap().to_owned();
    let b: String = cancels.body["id"].as_str().unwrap().to_owned();
    for id in [&a, &b] {
        read(id).await;
        let cached = read(id).await;
        assert_eq!(
            (cached.header("x-cache"), cached.body["status"].as_str()),
            (Some("hit"), Some("pending"))
        );
    }
    let cancelled = app
        .post(
            &format!("/api/orders/{}/cancel", b.as_str()),
            Some(&user.access_token),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    app.drain().await;
    for (id, status) in [(&a, "completed"), (&b, "cancelled")] {
        let fresh = read(id).await;
        assert_eq!(
            (fresh.header("x-cache"), fresh.body["status"].as_str()),
            (Some("miss"), Some(status))
        );
    }
}
