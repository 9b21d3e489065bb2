use orderflow_testkit::spawn_app;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let h = app.get("/healthz", None).await;
    assert_eq!(
        (h.status, h.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let r = app.get("/readyz", None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

#[tokio::test]
async fn openapi_documents_every_route_and_docs_are_served() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().unwrap();
    // Routes and the document come from one list (app/src/http/mod.rs `operations`):
    // every documented operation is served, and nothing routes beside that list.
    let answer =
        |r: &orderflow_testkit::Reply| (r.status, r.body["code"].clone(), r.body["detail"].clone());
    let unrouted = answer(&app.get("/api/no-such-route", None).await);
    assert_eq!(unrouted.0, StatusCode::NOT_FOUND);
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &uuid::Uuid::now_v7().to_string())
            .replace("{sku}", "SKU-1")
            .replace("{event_id}", "evt_0_0")
            .replace("{message_id}", "m-1");
        assert!(!concrete.contains('{'), "a parameter to fill in: {path}");
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.call(method.clone(), &concrete, None, None).await;
            assert!(
                r.status != StatusCode::METHOD_NOT_ALLOWED && answer(&r) != unrouted,
                "{method} {path} is documented but not served: {} {}",
                r.status,
                r.body
            );
        }
    }
    assert!(operations >= 21, "{operations} operations documented");
    let http = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src/http");
    for file in std::fs::read_dir(&http).unwrap() {
        let file = file.unwrap().path();
        let source = std::fs::read_to_string(&file).unwrap();
        if file.file_name().is_some_and(|n| n != "routes.rs") {
            assert!(
                !source.contains(".route("),
                "{}: routes are added through routes::api!, which documents them",
                file.display()
            );
        }
    }
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
    // Client generators name a method after each operationId (verb_noun here) and a
    // module after each tag, and refuse a document whose responses lack the required
    // description; Swagger UI groups operations by tag.
    let declared: Vec<&str> = doc.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut ids = std::collections::BTreeMap::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let tags: Vec<&str> = op["tags"]
                .as_array()
                .map(|t| t.iter().filter_map(|t| t.as_str()).collect())
                .unwrap_or_default();
            assert!(
                !tags.is_empty() && tags.iter().all(|t| declared.contains(t)),
                "{method} {path} has tags {:?}; declared: {declared:?}",
                op["tags"]
            );
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            let words: Vec<&str> = id.split('_').collect();
            assert!(
                words.len() >= 2
                    && words
                        .iter()
                        .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
                "{method} {path}: operationId {id:?} is not verb_noun"
            );
            if let Some(other) = ids.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId {id:?} names both {other} and {method} {path}");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty())
                        || response.get("$ref").is_some(),
                    "{method} {path} {status}: a response needs a description"
                );
            }
        }
    }
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn readiness_reports_each_dependency_and_health_stays_green() {
    use orderflow::health::Probe;
    let app = orderflow_testkit::spawn_app_custom(
        |_| {},
        |a| {
            a.probes = vec![
                Probe::new("store", true, || async { Ok(()) }),
                Probe::new("cache", false, || async {
                    Err("connection refused".into())
                }),
            ]
        },
    )
    .await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "degraded");
    assert_eq!(r.body["checks"]["store"]["status"], "up");
    assert!(r.body["checks"]["store"]["latency_ms"].as_f64().is_some());
    assert_eq!(r.body["checks"]["cache"]["status"], "down");
    assert!(
        !r.body.to_string().contains("refused"),
        "the cause is logged, never shown to an unauthenticated caller: {}",
        r.body
    );

    let down = orderflow_testkit::spawn_app_custom(
        |_| {},
        |a| {
            a.probes = vec![Probe::new("store", true, || async {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                Ok(())
            })]
        },
    )
    .await;
    let r = down.get("/readyz", None).await;
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a hung store is down, and the check is bounded"
    );
    assert_eq!(r.body["status"], "unavailable");
    assert_eq!(down.get("/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_orders_queue_and_cache() {
    let app = spawn_app().await;
    app.product("MET", 100, 10).await;
    let user = app.customer().await;
    let a = app
        .place(
            &user.access_token,
            serde_json::json!([{"sku": "MET", "quantity": 1}]),
        )
        .await;
    let b = app
        .place(
            &user.access_token,
            serde_json::json!([{"sku": "MET", "quantity": 1}]),
        )
        .await;
    let b_id = b.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/orders/{b_id}/cancel"),
        Some(&user.access_token),
        serde_json::json!({}),
    )
    .await;
    app.drain().await;
    let a_id = a.body["id"].as_str().unwrap();
    app.get(&format!("/api/orders/{a_id}"), Some(&user.access_token))
        .await;
    app.get(&format!("/api/orders/{a_id}"), Some(&user.access_token))
        .await;
    let res = app
        .client
        .get(app.ops_url("/metrics"))
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    for line in [
        "orderflow_orders_placed_total 2",
        "orderflow_orders_completed_total 1",
        "orderflow_orders_cancelled_total 1",
        "orderflow_orders_failed_total 0",
        "orderflow_queue_received_total 2",
        "orderflow_queue_acked_total 2",
        "orderflow_cache_requests_total{result=\"hit\"} 1",
        "orderflow_cache_requests_total{result=\"miss\"} 1",
        "orderflow_http_requests_total{method=\"POST\",route=\"/api/orders\",status=\"202\"} 2",
        "orderflow_http_requests_total{method=\"GET\",route=\"/api/orders/{id}\",status=\"200\"} 2",
        "orderflow_order_processing_seconds_count 1",
        "# TYPE orderflow_relay_backlog gauge",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

#[tokio::test]
async fn admins_see_and_redrive_dead_letters() {
    let app = spawn_app().await;
    use orderflow_core::ports::Queue;
    assert!(app
        .queue
        .publish(&["garbage".into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    app.drain().await;
    let admin = app.admin_token().await;
    let customer = app.customer().await;
    let r = app
        .get("/api/admin/dead-letters", Some(&customer.access_token))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app.get("/api/admin/dead-letters", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["items"][0]["body"], "garbage");
    assert_eq!(
        r.body["items"][0]["receive_count"],
        app.config.worker.max_receives
    );
    let r = app
        .get("/api/admin/dead-letters?limit=0", Some(&admin))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let r = app
        .post(
            "/api/admin/dead-letters/redrive",
            Some(&admin),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.body["redriven"], 1);
    assert_eq!(app.queue.len(), 1, "back in the work queue");
    assert!(app.queue.dead_letters(10).await.unwrap().is_empty());
}

/// A message no redrive can help is dropped by its id; the dead-letter gauge follows.
#[tokio::test]
async fn admins_drop_a_dead_letter_and_the_gauge_counts_what_is_left() {
    let app = spawn_app().await;
    use orderflow_core::ports::Queue;
    for body in ["garbage-1", "garbage-2"] {
        assert!(app
            .queue
            .publish(&[body.into()])
            .await
            .unwrap()
            .refused
            .is_empty());
    }
    app.drain().await;
    app.read_fleet_gauges().await;
    assert_eq!(app.metric("orderflow_dead_letters").await, Some(2.0));
    let admin = app.admin_token().await;
    let listed = app.get("/api/admin/dead-letters", Some(&admin)).await;
    let doomed = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["body"] == "garbage-1")
        .unwrap()["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/admin/dead-letters/{doomed}");
    let customer = app.customer().await;
    let r = app
        .call(Method::DELETE, &path, Some(&customer.access_token), None)
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    for odd in ["a%20b", "%E2%9C%93", &"x".repeat(200)] {
        let r = app
            .call(
                Method::DELETE,
                &format!("/api/admin/dead-letters/{odd}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{odd}"
        );
    }
    let left = app.queue.dead_letters(10).await.unwrap();
    assert_eq!(
        left.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(),
        ["garbage-2"]
    );
    app.read_fleet_gauges().await;
    assert_eq!(app.metric("orderflow_dead_letters").await, Some(1.0));
}

/// The gauges an alert on unsettled orders reads: how many are pending and how long
/// ago the oldest was placed, back to zero once the worker settles them.
#[tokio::test]
async fn the_pending_order_gauges_count_what_the_worker_has_not_settled() {
    let app = spawn_app().await;
    app.product("GAUGED", 100, 10).await;
    let user = app.customer().await;
    for _ in 0..2 {
        let r = app
            .place(
                &user.access_token,
                serde_json::json!([{"sku": "GAUGED", "quantity": 1}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.read_fleet_gauges().await;
    assert_eq!(app.metric("orderflow_orders_pending").await, Some(2.0));
    let age = app
        .metric("orderflow_orders_pending_oldest_age_seconds")
        .await
        .unwrap();
    assert!((1.0..60.0).contains(&age), "{age}");
    app.drain().await;
    app.read_fleet_gauges().await;
    assert_eq!(app.metric("orderflow_orders_pending").await, Some(0.0));
    assert_eq!(
        app.metric("orderflow_orders_pending_oldest_age_seconds")
            .await,
        Some(0.0)
    );
}

/// A scrape says whether the instance takes traffic, and which dependency answers: a
/// critical one down makes it unready, a non-critical one only shows.
#[tokio::test]
async fn a_scrape_reports_readiness_and_each_dependency() {
    use orderflow::health::Probe;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let store_up = Arc::new(AtomicBool::new(true));
    let up = store_up.clone();
    let app = orderflow_testkit::spawn_app_custom(
        |_| {},
        move |a| {
            a.probes = vec![
                Probe::new("store", true, move || {
                    let up = up.load(Ordering::SeqCst);
                    async move {
                        if up {
                            Ok(())
                        } else {
                            Err("no answer".into())
                        }
                    }
                }),
                Probe::new("cache", false, || async {
                    Err("connection refused".into())
                }),
            ]
        },
    )
    .await;
    let series = |dep: &str| format!("orderflow_dependency_up{{dependency=\"{dep}\"}}");
    assert_eq!(
        app.metric("orderflow_ready").await,
        Some(1.0),
        "degraded is ready"
    );
    assert_eq!(app.metric(&series("store")).await, Some(1.0));
    assert_eq!(app.metric(&series("cache")).await, Some(0.0));
    store_up.store(false, Ordering::SeqCst);
    // Past the readiness report's one-second reuse.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.metric(&series("store")).await, Some(0.0));
    assert_eq!(app.metric("orderflow_ready").await, Some(0.0));
    store_up.store(true, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.metric("orderflow_ready").await, Some(1.0));
}

/// The fleet gauges are read by one worker at a time, the holder of their lease: two
/// workers on one store, and only one of them reports the pending orders (the other
/// reports zero, which the alerts' `max` ignores); when the holder stops, the other
/// takes over.
#[tokio::test]
async fn one_worker_of_the_fleet_reads_the_fleet_gauges() {
    use orderflow::fleet_lease::FleetLease;
    use orderflow::gauges::{FleetGauges, GAUGES_LEASE};
    use orderflow::metrics::Metrics;
    use std::sync::Arc;
    use std::time::Duration;

    let app = spawn_app().await;
    app.product("FLEET", 100, 10).await;
    let user = app.customer().await;
    let r = app
        .place(
            &user.access_token,
            serde_json::json!([{"sku": "FLEET", "quantity": 1}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let s = &app.services;
    let worker = |name: &str| {
        let metrics = Arc::new(Metrics::new());
        let gauges = FleetGauges {
            relay: s.relay.clone(),
            processor: s.processor.clone(),
            dead_letters: s.dead_letters.clone(),
            clock: s.adapters.clock.clone(),
            metrics: metrics.clone(),
        };
        let lease = FleetLease {
            leases: s.adapters.store.leases.clone(),
            clock: s.adapters.clock.clone(),
            name: GAUGES_LEASE,
            holder: name.to_owned(),
            term: Duration::from_millis(150),
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(gauges.run(lease, Duration::from_millis(50), stopped));
        (metrics, stop, task)
    };
    let (first, stop_first, first_task) = worker("first");
    tokio::time::sleep(Duration::from_millis(120)).await;
    let (second, stop_second, second_task) = worker("second");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        (first.orders_pending.get(), second.orders_pending.get()),
        (1, 0),
        "the lease holder reads, the other does not"
    );
    stop_first.send(true).unwrap();
    first_task.await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        second.orders_pending.get(),
        1,
        "the other took over once it was released"
    );
    stop_second.send(true).unwrap();
    second_task.await.unwrap();
}
