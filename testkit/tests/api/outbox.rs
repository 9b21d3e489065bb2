//! Orders whose message the queue refuses: they never hold up other orders, are
//! retried on their own schedule, and are set aside for an operator after a bound.

use orderflow_core::ports::Outbox;
use orderflow_testkit::spawn_app_with;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_message_the_queue_always_refuses_never_blocks_later_orders() {
    let app = spawn_app_with(|c| {
        c.relay.min_age_ms = 0;
        c.relay.refusal_limit = 3;
        c.relay.refusal_first_wait_ms = 20;
        c.relay.refusal_max_wait_ms = 40;
    })
    .await;
    app.product("OB", 100, 100).await;
    let user = app.customer().await;
    let items = json!([{"sku": "OB", "quantity": 1}]);

    // A queue blip: every placement is left to the scan, the poisoned one oldest.
    app.queue_switch.set_down(true);
    let poisoned = app.place(&user.access_token, items.clone()).await;
    assert_eq!(poisoned.status, StatusCode::ACCEPTED);
    let poisoned_id = poisoned.body["id"].as_str().unwrap().to_owned();
    let mut later = Vec::new();
    for _ in 0..12 {
        let r = app.place(&user.access_token, items.clone()).await;
        later.push(r.body["id"].as_str().unwrap().to_owned());
    }
    app.queue_switch.set_down(false);
    app.queue_switch
        .refuse_containing(Some(poisoned_id.clone()));
    // The scan takes orders strictly older than now (in milliseconds).
    tokio::time::sleep(Duration::from_millis(5)).await;

    assert_eq!(
        app.run_relay().await,
        12,
        "one scan publishes every order but the refused one"
    );
    app.drain().await;
    for id in &later {
        let r = app
            .get(&format!("/api/orders/{id}"), Some(&user.access_token))
            .await;
        assert_eq!(r.body["status"], "completed", "{id}");
    }
    let far = chrono::Utc::now() + chrono::Duration::days(1);
    let refusal = app
        .store
        .unpublished(far, far, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.order.id.to_string() == poisoned_id)
        .and_then(|u| u.refusal)
        .expect("the outbox records the refusal");
    assert_eq!(refusal.count, 1);
    assert!(!refusal.set_aside);
    assert_eq!(
        app.run_relay().await,
        0,
        "not retried before its wait is over"
    );

    // Retried on its own schedule, then set aside at the third refusal.
    let admin = app.admin_token().await;
    let mut scans = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        app.run_relay().await;
        scans += 1;
        let aside = app.get("/api/admin/outbox/set-aside", Some(&admin)).await;
        assert_eq!(aside.status, StatusCode::OK, "{:?}", aside.body);
        if let Some(item) = aside.body["items"].as_array().and_then(|a| a.first()) {
            assert_eq!(item["order"]["id"], poisoned_id.as_str());
            assert_eq!(item["refusals"], 3);
            assert_eq!(item["reason"], "refused by the test");
            break;
        }
        assert!(scans < 20, "set aside after three refusals");
    }
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("orderflow_relay_set_aside 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("orderflow_relay_refused_total 3\n"),
        "{metrics}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.run_relay().await;
    assert_eq!(
        app.store
            .set_aside(10)
            .await
            .unwrap()
            .iter()
            .map(|a| (a.order.id.to_string(), a.refusal.count))
            .collect::<Vec<_>>(),
        vec![(poisoned_id.clone(), 3)],
        "a set-aside order is not retried by the relay"
    );

    // The operator fixes the cause and retries it.
    app.queue_switch.refuse_containing(None);
    let wrong = app
        .post(
            &format!("/api/admin/outbox/set-aside/{}/retry", later[0]),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::CONFLICT, "{:?}", wrong.body);
    assert_eq!(wrong.code(), "invalid_state");
    let retried = app
        .post(
            &format!("/api/admin/outbox/set-aside/{poisoned_id}/retry"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{:?}", retried.body);
    assert_eq!(app.run_relay().await, 1);
    app.drain().await;
    let r = app
        .get(
            &format!("/api/orders/{poisoned_id}"),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(r.body["status"], "completed");
    assert!(app
        .metrics_text()
        .await
        .contains("orderflow_relay_set_aside 0\n"));
    assert_eq!(app.stock("OB").await, 87);
}
