//! The placements' hand-off to the relay: batched publishing, flushing on stop, and the
//! timed scan as the fallback for what the hand-off could not take.

use orderflow::handoff::run_handoff;
use orderflow_core::ports::Outbox;
use orderflow_testkit::spawn_app_with;
use serde_json::{json, Value};

/// A one-line order body. Posted directly: `TestApp::place` would flush the hand-off.
fn order(sku: &str) -> Value {
    json!({"items": [{"sku": sku, "quantity": 1}]})
}

#[tokio::test]
async fn the_handoff_publishes_in_batches_of_ten_and_flushes_on_stop() {
    let app = spawn_app_with(|_| {}).await;
    app.product("H", 100, 100).await;
    let user = app.customer().await;
    // Placed before the task runs, so all 25 wait in the buffer at once.
    for _ in 0..25 {
        let r = app
            .post("/api/orders", Some(&user.access_token), order("H"))
            .await;
        assert_eq!(r.status, reqwest::StatusCode::ACCEPTED);
    }
    assert_eq!(
        app.queue.len(),
        0,
        "nothing is published inside the request"
    );
    let rx = app.services.handoff.lock().unwrap().take().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(run_handoff(
        app.services.relay.clone(),
        app.services.metrics.clone(),
        rx,
        10,
        std::time::Duration::from_millis(200),
        4,
        stop_rx,
    ));
    stop_tx.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), task)
        .await
        .expect("the hand-off stops once its buffer is flushed")
        .unwrap();
    let metrics = &app.services.metrics;
    assert_eq!(metrics.relay_published.get(), 25);
    assert_eq!(metrics.relay_publish_calls.get(), 3, "10 + 10 + 5");
    assert_eq!(app.queue.len(), 25);
    assert_eq!(
        app.store.count_unpublished(100).await.unwrap(),
        0,
        "every order marked published"
    );
    assert_eq!(
        app.run_relay().await,
        0,
        "the scan finds nothing left to send"
    );
    assert_eq!(app.drain().await, 25);
    assert_eq!(app.stock("H").await, 75);
}

#[tokio::test]
async fn orders_the_handoff_cannot_take_are_published_by_the_scan() {
    let app = spawn_app_with(|c| c.relay.handoff_buffer = 2).await;
    app.product("F", 100, 100).await;
    let user = app.customer().await;
    for _ in 0..5 {
        let r = app
            .post("/api/orders", Some(&user.access_token), order("F"))
            .await;
        assert_eq!(
            r.status,
            reqwest::StatusCode::ACCEPTED,
            "a full buffer never fails a placement"
        );
    }
    assert_eq!(app.flush_handoff().await, 2, "the buffer held two");
    // The scan takes orders older than `min_age` (0 here) at millisecond precision.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(app.run_relay().await, 3, "the scan sends the other three");
    assert_eq!(app.drain().await, 5);
    assert_eq!(app.stock("F").await, 95);
}

#[tokio::test]
async fn the_scan_leaves_alone_what_the_handoff_holds_until_its_call_ends() {
    let app = spawn_app_with(|_| {}).await;
    app.product("S", 100, 100).await;
    let user = app.customer().await;
    for _ in 0..3 {
        let r = app
            .post("/api/orders", Some(&user.access_token), order("S"))
            .await;
        assert_eq!(r.status, reqwest::StatusCode::ACCEPTED);
    }
    // Older than `min_age` (0 here), unpublished, but still in the hand-off's buffer.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(app.run_relay().await, 0, "the hand-off holds all three");
    assert_eq!(app.queue.len(), 0, "no second copy on its way");

    // A failed publish call releases its orders to the scan.
    app.queue_switch.set_down(true);
    assert_eq!(app.flush_handoff().await, 0, "the queue is down");
    app.queue_switch.set_down(false);
    assert_eq!(app.run_relay().await, 3, "released to the scan");
    assert_eq!(app.queue.len(), 3, "one message per order");
    assert_eq!(app.drain().await, 3);
    assert_eq!(app.stock("S").await, 97);
}
