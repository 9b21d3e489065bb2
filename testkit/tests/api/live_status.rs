//! Live order status: `GET /api/orders/{id}/events`.

use futures::stream::BoxStream;
use orderflow_core::domain::OrderId;
use orderflow_core::ports::{FeedEvent, OrderFeed};
use orderflow_testkit::sse::Said;
use orderflow_testkit::{spawn_app, spawn_app_custom, spawn_app_with, TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn pending_order(app: &TestApp, sku: &str) -> (TestUser, String) {
    app.product(sku, 100, 10).await;
    let user = app.customer().await;
    let r = app
        .place(&user.access_token, json!([{"sku": sku, "quantity": 1}]))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    (user, id)
}

fn order(data: &str) -> Value {
    serde_json::from_str(data).expect("the event's data is the order as JSON")
}

#[tokio::test]
async fn a_stream_shows_the_order_now_then_its_change_and_ends() {
    let app = spawn_app().await;
    let (user, id) = pending_order(&app, "LIVE-1").await;
    let mut events = app
        .events(&id, &user.access_token, None)
        .await
        .unwrap_or_else(|r| panic!("{:?}", r.body));
    let (eid, kind, data) = events.next_event(WAIT).await.expect("the first event");
    assert_eq!(
        (eid.as_deref(), kind.as_deref()),
        (Some("1"), Some("order"))
    );
    let now = order(&data);
    assert_eq!(now["status"], "pending");
    assert_eq!(
        now,
        app.get(&format!("/api/orders/{id}"), Some(&user.access_token))
            .await
            .body,
        "the order as GET /api/orders/{{id}} shows it"
    );

    assert_eq!(app.drain().await, 1);
    let (eid, _, data) = events.next_event(WAIT).await.expect("the change");
    assert_eq!(eid.as_deref(), Some("2"));
    assert_eq!(order(&data)["status"], "completed");
    assert_eq!(
        events.next(WAIT).await,
        Said::End,
        "the stream ends after a terminal status"
    );
}

#[tokio::test]
async fn last_event_id_resumes_without_repeating() {
    let app = spawn_app().await;
    let (user, id) = pending_order(&app, "LIVE-2").await;
    app.drain().await;
    let mut events = app
        .events(&id, &user.access_token, Some("1"))
        .await
        .unwrap_or_else(|r| panic!("{:?}", r.body));
    let (eid, _, data) = events.next_event(WAIT).await.expect("the state after 1");
    assert_eq!(eid.as_deref(), Some("2"));
    assert_eq!(order(&data)["status"], "completed");
    assert_eq!(events.next(WAIT).await, Said::End);

    let mut seen_all = app
        .events(&id, &user.access_token, Some("2"))
        .await
        .unwrap_or_else(|r| panic!("{:?}", r.body));
    assert_eq!(
        seen_all.next_event(WAIT).await,
        None,
        "nothing new: the stream ends at once"
    );
}

#[tokio::test]
async fn the_same_404_rules_as_reading_the_order_and_clear_errors() {
    let app = spawn_app().await;
    let (_, id) = pending_order(&app, "LIVE-3").await;
    let stranger = app.customer().await;
    let r = app
        .events(&id, &stranger.access_token, None)
        .await
        .err()
        .expect("not a stream");
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let admin = app.admin_token().await;
    assert!(
        app.events(&id, &admin, None).await.is_ok(),
        "an admin may follow any order"
    );
    let r = app
        .events(&OrderId::new().to_string(), &admin, None)
        .await
        .err()
        .expect("not a stream");
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .events(&id, &admin, Some("not-a-number"))
        .await
        .err()
        .expect("not a stream");
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let r = app.get(&format!("/api/orders/{id}/events"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_heartbeat_comment_keeps_an_idle_stream_open() {
    let app = spawn_app_with(|c| c.http.stream_heartbeat_ms = 50).await;
    let (user, id) = pending_order(&app, "LIVE-4").await;
    let mut events = app
        .events(&id, &user.access_token, None)
        .await
        .unwrap_or_else(|r| panic!("{:?}", r.body));
    events.next_event(WAIT).await.expect("the order now");
    assert_eq!(events.next(WAIT).await, Said::Comment("heartbeat".into()));
}

#[tokio::test]
async fn open_streams_are_bounded_per_process() {
    let app = spawn_app_with(|c| {
        c.http.max_streams = 1;
        // A closed stream is noticed at its next write.
        c.http.stream_heartbeat_ms = 50;
    })
    .await;
    let (user, id) = pending_order(&app, "LIVE-5").await;
    let first = app
        .events(&id, &user.access_token, None)
        .await
        .unwrap_or_else(|r| panic!("{:?}", r.body));
    let r = app
        .events(&id, &user.access_token, None)
        .await
        .err()
        .expect("refused");
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_streams")
    );
    assert!(r.header("retry-after").is_some());
    drop(first);
    for _ in 0..100 {
        if app.events(&id, &user.access_token, None).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("a closed stream never gave its slot back");
}

/// A feed that never delivers: the stream must still see the change, from the store.
struct DeafFeed;

#[async_trait::async_trait]
impl orderflow_core::ports::Health for DeafFeed {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl OrderFeed for DeafFeed {
    async fn publish(&self, _: OrderId) {}
    fn subscribe(&self) -> BoxStream<'static, FeedEvent> {
        Box::pin(futures::stream::pending())
    }
}

#[tokio::test]
async fn a_change_the_feed_lost_shows_at_the_recheck() {
    let app = spawn_app_custom(
        |c| c.http.stream_recheck_ms = 100,
        |a| a.feed = std::sync::Arc::new(DeafFeed),
    )
    .await;
    let (user, id) = pending_order(&app, "LIVE-6").await;
    let mut events = app
        .events(&id, &user.access_token, None)
        .await
        .unwrap_or_else(|r| panic!("{:?}", r.body));
    events.next_event(WAIT).await.expect("the order now");
    app.drain().await;
    let (eid, _, data) = events.next_event(WAIT).await.expect("the change");
    assert_eq!(eid.as_deref(), Some("2"));
    assert_eq!(order(&data)["status"], "completed");
}

#[tokio::test]
async fn a_cancel_shows_on_the_stream() {
    let app = spawn_app().await;
    let (user, id) = pending_order(&app, "LIVE-7").await;
    let mut events = app
        .events(&id, &user.access_token, None)
        .await
        .unwrap_or_else(|r| panic!("{:?}", r.body));
    events.next_event(WAIT).await.expect("the order now");
    let r = app
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&user.access_token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let (_, _, data) = events.next_event(WAIT).await.expect("the cancel");
    assert_eq!(order(&data)["status"], "cancelled");
    assert_eq!(events.next(WAIT).await, Said::End);
}
