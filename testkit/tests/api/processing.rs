use orderflow_core::ports::{NotificationLedger, OrderSettlement, Outbox, Queue};
use orderflow_testkit::{spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_worker_completes_orders_takes_stock_and_mails_once() {
    let app = spawn_app().await;
    app.product("W", 1250, 5).await;
    let user = app.customer().await;
    let r = app
        .place(&user.access_token, json!([{"sku": "W", "quantity": 2}]))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.drain().await, 1);
    let o = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(o.body["status"], "completed");
    let statuses: Vec<_> = o.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending", "completed"]);
    assert_eq!(app.stock("W").await, 3);
    let mails = app.mailer.sent();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), user.email);
    assert!(mails[0].subject.contains("confirmed") && mails[0].subject.contains(&id));
    assert!(
        mails[0].text.contains("Total: 25.00 USD"),
        "{}",
        mails[0].text
    );
    assert!(mails[0].html.contains("25.00 USD"));
    assert!(app.queue.is_empty(), "acked");
}

#[tokio::test]
async fn short_stock_at_processing_fails_the_order_with_a_reason_and_an_email() {
    let app = spawn_app().await;
    app.product("GONE", 100, 3).await;
    app.product("PLENTY", 100, 3).await;
    let user = app.customer().await;
    let r = app
        .place(
            &user.access_token,
            json!([{"sku": "PLENTY", "quantity": 1}, {"sku": "GONE", "quantity": 2}]),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let admin = app.admin_token().await;
    app.patch(
        "/api/products/GONE",
        Some(&admin),
        json!({"stock_delta": -2}),
    )
    .await;
    app.drain().await;
    let o = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(o.body["status"], "failed");
    assert!(o.body["history"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("GONE"));
    assert_eq!(app.stock("PLENTY").await, 3, "all or nothing");
    assert_eq!(app.stock("GONE").await, 1);
    let mails = app.mailer.sent();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("could not complete"));
    assert!(mails[0].text.contains("GONE"));
}

#[tokio::test]
async fn prices_are_those_at_placement() {
    let app = spawn_app().await;
    app.product("PX", 100, 5).await;
    let user = app.customer().await;
    let r = app
        .place(&user.access_token, json!([{"sku": "PX", "quantity": 1}]))
        .await;
    let admin = app.admin_token().await;
    app.patch(
        "/api/products/PX",
        Some(&admin),
        json!({"price_cents": 999, "name": "Renamed"}),
    )
    .await;
    app.drain().await;
    let o = app
        .get(
            &format!("/api/orders/{}", r.body["id"].as_str().unwrap()),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(o.body["status"], "completed");
    assert_eq!(o.body["items"][0]["unit_price_cents"], 100);
    assert_eq!(o.body["items"][0]["name"], "Product PX");
    assert_eq!(o.body["total_cents"], 100);
}

#[tokio::test]
async fn a_duplicated_message_changes_nothing_twice() {
    let app = spawn_app().await;
    app.product("DUP", 100, 10).await;
    let user = app.customer().await;
    let r = app
        .place(&user.access_token, json!([{"sku": "DUP", "quantity": 4}]))
        .await;
    let id = r.body["id"].as_str().unwrap();
    let message = json!({"order_id": id}).to_string();
    use orderflow_core::ports::Queue;
    assert!(app
        .queue
        .publish(&[message.as_str().into(), message.into()])
        .await
        .unwrap()
        .refused
        .is_empty());
    assert_eq!(app.drain().await, 3);
    assert_eq!(app.stock("DUP").await, 6, "stock taken once");
    assert_eq!(app.mailer.sent().len(), 1, "one email");
}

/// The heart of the product: far more orders than stock, placed concurrently and
/// processed by two workers at once. Stock ends at exactly zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_orders_for_the_last_units_never_oversell() {
    let app = spawn_app().await;
    let units = 60;
    app.product("HOT", 100, units).await;
    let mut users = Vec::new();
    for _ in 0..10 {
        users.push(app.customer().await);
    }
    let placements = (0..200).map(|i| {
        app.place(
            &users[i % users.len()].access_token,
            json!([{"sku": "HOT", "quantity": 1}]),
        )
    });
    let replies = futures::future::join_all(placements).await;
    let accepted = replies
        .iter()
        .filter(|r| r.status == StatusCode::ACCEPTED)
        .count();
    assert!(replies
        .iter()
        .all(|r| r.status == StatusCode::ACCEPTED || r.code() == "insufficient_stock"));
    let (w1, w2) = (app.worker.clone(), app.worker.clone());
    let drain = |w: orderflow::worker::Worker| async move {
        while w.run_once(std::time::Duration::ZERO).await.unwrap() > 0 {}
    };
    tokio::join!(drain(w1), drain(w2));
    app.drain().await;
    let orders = app.store.all_orders();
    assert_eq!(orders.len(), accepted);
    let completed = orders
        .iter()
        .filter(|o| o.status.as_str() == "completed")
        .count();
    let failed = orders
        .iter()
        .filter(|o| o.status.as_str() == "failed")
        .count();
    assert_eq!(completed, units as usize);
    assert_eq!(failed, accepted - units as usize);
    assert_eq!(app.stock("HOT").await, 0);
    assert_eq!(app.mailer.sent().len(), accepted, "one email per order");
}

#[tokio::test]
async fn orders_placed_while_the_queue_is_down_are_relayed_later() {
    let app = spawn_app().await;
    app.product("Q", 100, 10).await;
    let user = app.customer().await;
    app.queue_switch.set_down(true);
    let r = app
        .place(&user.access_token, json!([{"sku": "Q", "quantity": 1}]))
        .await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "the order is recorded even without the queue"
    );
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The relay takes orders older than `min_age` (0 here) at millisecond precision.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert!(
        app.services.relay.publish_due().await.is_err(),
        "relay cannot publish yet"
    );
    assert_eq!(
        app.store.count_unpublished(10).await.unwrap(),
        1,
        "still unpublished"
    );
    app.queue_switch.set_down(false);
    assert_eq!(app.run_relay().await, 1);
    assert_eq!(app.run_relay().await, 0, "published once");
    app.drain().await;
    let o = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(o.body["status"], "completed");
    assert_eq!(app.mailer.sent().len(), 1);
}

#[tokio::test]
async fn unprocessable_messages_are_dead_lettered_without_blocking_others() {
    let app = spawn_app().await;
    app.product("OK", 100, 10).await;
    let user = app.customer().await;
    use orderflow_core::ports::Queue;
    assert!(app
        .queue
        .publish(&[
            "not json".into(),
            json!({"order_id": uuid::Uuid::new_v4()}).to_string().into(),
        ])
        .await
        .unwrap()
        .refused
        .is_empty());
    let r = app
        .place(&user.access_token, json!([{"sku": "OK", "quantity": 1}]))
        .await;
    app.drain().await;
    let o = app
        .get(
            &format!("/api/orders/{}", r.body["id"].as_str().unwrap()),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(o.body["status"], "completed");
    let dead = app.queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(dead
        .iter()
        .all(|d| d.receive_count == app.config.worker.max_receives));
    assert!(app.queue.is_empty());
}

/// Retries of everything within a millisecond, so a test can outlast a message's
/// whole receive budget at once.
fn hurried(c: &mut orderflow::config::Config) {
    c.worker.retry_base_ms = 1;
    c.worker.retry_max_ms = 1;
    c.notify.retry_first_ms = 1;
    c.notify.retry_max_ms = 1;
}

/// Runs the worker until no message is left to receive, however many receives that
/// takes (retries are due within a millisecond).
async fn drain_all(app: &orderflow_testkit::TestApp) {
    for _ in 0..(app.config.worker.max_receives * 3) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        app.drain().await;
    }
}

#[tokio::test]
async fn a_mail_outage_longer_than_the_message_retries_loses_no_email() {
    let app = spawn_app_with(hurried).await;
    app.product("M", 100, 10).await;
    let user = app.customer().await;
    app.mailer.set_failing(true);
    for _ in 0..3 {
        app.place(&user.access_token, json!([{"sku": "M", "quantity": 1}]))
            .await;
    }
    drain_all(&app).await;
    assert_eq!(app.stock("M").await, 7, "every order completed, once");
    assert!(app.queue.is_empty(), "every message acked");
    assert!(
        app.queue.dead_letters(10).await.unwrap().is_empty(),
        "nothing dead-lettered for the email's sake"
    );
    assert!(app.mailer.sent().is_empty());
    assert_eq!(app.send_due_emails().await, 0, "still down: stays due");
    app.read_fleet_gauges().await;
    assert!(app
        .metrics_text()
        .await
        .contains("orderflow_notifications_due 3\n"));
    assert_eq!(
        app.metric("orderflow_notifications_failing").await,
        Some(3.0),
        "every owed email has failed to send: what the mail-provider alert reads"
    );

    app.mailer.set_failing(false);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        app.send_due_emails().await,
        3,
        "sent by the scan, no manual step"
    );
    assert_eq!(app.send_due_emails().await, 0, "and only once");
    let mut references: Vec<String> = app.mailer.sent().into_iter().map(|e| e.reference).collect();
    references.sort();
    references.dedup();
    assert_eq!(references.len(), 3, "one email per order");
    assert_eq!(
        app.store.count_owed_notifications(10).await.unwrap(),
        0,
        "nothing owed any more"
    );
    app.read_fleet_gauges().await;
    assert!(app
        .metrics_text()
        .await
        .contains("orderflow_notifications_due 0\n"));
    assert_eq!(
        app.metric("orderflow_notifications_failing").await,
        Some(0.0)
    );
}

/// After an outage the back-off can hold an owed email for up to `notify.retry_max_ms`;
/// an admin makes them all due at once, and each is still sent once.
#[tokio::test]
async fn an_admin_makes_owed_emails_due_at_once_after_an_outage() {
    let app = spawn_app_with(|c| {
        c.notify.retry_first_ms = 3_600_000;
        c.notify.retry_max_ms = 3_600_000;
    })
    .await;
    app.product("MR", 100, 10).await;
    let user = app.customer().await;
    app.mailer.set_failing(true);
    for _ in 0..2 {
        app.place(&user.access_token, json!([{"sku": "MR", "quantity": 1}]))
            .await;
    }
    app.drain().await;
    app.mailer.set_failing(false);
    assert_eq!(
        app.send_due_emails().await,
        0,
        "the provider is back, but the emails wait an hour"
    );
    let r = app
        .post(
            "/api/admin/emails/retry",
            Some(&user.access_token),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let admin = app.admin_token().await;
    let r = app
        .post("/api/admin/emails/retry", Some(&admin), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["due_now"], 2);
    assert_eq!(app.send_due_emails().await, 2, "sent at once");
    assert_eq!(app.mailer.sent().len(), 2);
    let r = app
        .post("/api/admin/emails/retry", Some(&admin), json!({}))
        .await;
    assert_eq!(r.body["due_now"], 0, "nothing is owed any more");
    assert_eq!(app.send_due_emails().await, 0);
    assert_eq!(app.mailer.sent().len(), 2, "each sent once");
}

#[tokio::test]
async fn a_claim_left_by_a_dead_worker_never_loses_the_email() {
    let app = spawn_app_with(hurried).await;
    app.product("K", 100, 10).await;
    let user = app.customer().await;
    let placed = app
        .place(&user.access_token, json!([{"sku": "K", "quantity": 1}]))
        .await;
    let id = orderflow_core::domain::OrderId::parse(placed.body["id"].as_str().unwrap()).unwrap();
    // A worker settles the order, claims its email and is killed before sending, its
    // claim outliving every redelivery of the message.
    let now = chrono::Utc::now();
    app.store.fulfil(id, now).await.unwrap();
    assert!(app
        .store
        .claim_notification(id, now, now + chrono::Duration::milliseconds(300))
        .await
        .unwrap());
    drain_all(&app).await;
    assert!(app.queue.is_empty());
    assert!(
        app.queue.dead_letters(10).await.unwrap().is_empty(),
        "the redelivery is acked: the email is owed in the store, not in the message"
    );
    assert!(
        app.mailer.sent().is_empty(),
        "the claim is respected while it lasts"
    );
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert_eq!(
        app.send_due_emails().await,
        1,
        "sent once the dead worker's claim lapsed"
    );
    assert_eq!(app.mailer.sent().len(), 1);
}

#[tokio::test]
async fn the_request_id_travels_with_the_order() {
    let app = spawn_app().await;
    app.product("RID", 100, 10).await;
    let user = app.customer().await;
    let res = app
        .client
        .post(app.url("/api/orders"))
        .bearer_auth(&user.access_token)
        .header("x-request-id", "trace-me-123")
        .json(&json!({"items": [{"sku": "RID", "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-123");
    assert_eq!(
        app.store.all_orders()[0].request_id.as_deref(),
        Some("trace-me-123")
    );
}

/// Sends at once, except to one address, whose emails take 2.5 s.
#[derive(Clone, Default)]
struct SlowInbox {
    slow: std::sync::Arc<std::sync::Mutex<String>>,
    sent: orderflow_adapter_memory::RecordingMailer,
}

#[async_trait::async_trait]
impl orderflow_core::ports::Health for SlowInbox {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl orderflow_core::ports::Mailer for SlowInbox {
    async fn send(
        &self,
        email: &orderflow_core::ports::OutgoingEmail,
    ) -> Result<(), orderflow_core::ports::MailError> {
        let slow = *self.slow.lock().expect("lock") == email.to.as_str();
        if slow {
            tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        }
        self.sent.send(email).await
    }
}

impl SlowInbox {
    fn slow_for(&self, email: &str) {
        *self.slow.lock().unwrap() = email.to_owned();
    }
}

/// An app whose mailer is a `SlowInbox`, and the inbox.
async fn app_with_slow_inbox(
    tweak: impl FnOnce(&mut orderflow::config::Config),
) -> (orderflow_testkit::TestApp, SlowInbox) {
    let inbox = SlowInbox::default();
    let mailer = inbox.clone();
    let app =
        orderflow_testkit::spawn_app_custom(tweak, move |a| a.mailer = std::sync::Arc::new(mailer))
            .await;
    (app, inbox)
}

/// Work slower than the visibility timeout keeps its delivery invisible: no second
/// worker gets it meanwhile.
#[tokio::test]
async fn slow_work_extends_its_visibility() {
    let (app, inbox) = app_with_slow_inbox(|c| c.worker.visibility_timeout_ms = 1000).await;
    app.product("SLOW", 100, 5).await;
    let user = app.customer().await;
    inbox.slow_for(&user.email);
    app.place(&user.access_token, json!([{"sku": "SLOW", "quantity": 1}]))
        .await;
    let worker = app.worker.clone();
    let busy =
        tokio::spawn(async move { worker.run_once(std::time::Duration::ZERO).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    use orderflow_core::ports::Queue;
    let stolen = app
        .queue
        .receive(10, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(
        stolen.is_empty(),
        "the delivery reappeared while still being processed"
    );
    assert_eq!(busy.await.unwrap(), 1);
    assert!(app.queue.is_empty(), "acked once done");
    assert_eq!(inbox.sent.sent().len(), 1);
}

/// The running worker takes the next message while an earlier one is still being
/// worked on, and acks everything it settled before it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_delivery_does_not_hold_up_the_next() {
    let (app, inbox) = app_with_slow_inbox(|c| c.worker.wait_time_ms = 1000).await;
    let sent = &inbox.sent;
    let sloth = app.customer().await;
    let quick = app.customer().await;
    inbox.slow_for(&sloth.email);
    app.product("PIPE", 100, 5).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(app.worker.clone().run(stop_rx));
    app.place(&sloth.access_token, json!([{"sku": "PIPE", "quantity": 1}]))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.place(&quick.access_token, json!([{"sku": "PIPE", "quantity": 1}]))
        .await;
    let mut first = None;
    for _ in 0..40 {
        if let Some(e) = sent.sent().first() {
            first = Some(e.to.as_str().to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        first.as_deref(),
        Some(quick.email.as_str()),
        "the second order waited for the first one's slow email"
    );
    stop_tx.send(true).unwrap();
    running.await.unwrap();
    assert_eq!(
        sent.sent().len(),
        2,
        "the slow one was finished before stopping"
    );
    assert!(app.queue.is_empty(), "everything settled was acked");
}

/// A message lost on the way (a purged queue, an operator's mistake) does not leave
/// its order pending forever: the sweep publishes it again.
#[tokio::test]
async fn the_sweep_rescues_an_order_whose_message_was_lost() {
    let app = spawn_app().await;
    app.product("LOST", 100, 5).await;
    let user = app.customer().await;
    let r = app
        .place(&user.access_token, json!([{"sku": "LOST", "quantity": 1}]))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    use orderflow_core::ports::Queue;
    for d in app
        .queue
        .receive(10, std::time::Duration::ZERO)
        .await
        .unwrap()
    {
        app.queue.ack(&d.receipt).await.unwrap(); // lost: acked without processing
    }
    assert_eq!(app.drain().await, 0);
    let age = std::time::Duration::from_secs(600);
    assert_eq!(
        app.services.relay.sweep(age).await.unwrap(),
        0,
        "not yet stale"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        app.services
            .relay
            .sweep(std::time::Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.drain().await, 1);
    let o = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(o.body["status"], "completed");
    assert_eq!(
        app.services
            .relay
            .sweep(std::time::Duration::ZERO)
            .await
            .unwrap(),
        0,
        "finished orders are left alone"
    );
}

/// While the store is down the worker stops taking messages instead of burning their
/// receives: nothing is dead-lettered because of the outage, and it recovers alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_pauses_the_worker_without_dead_lettering() {
    let (app, store) = app_with_switchable_store(|c| {
        c.worker.max_receives = 2;
        c.worker.wait_time_ms = 1000;
    })
    .await;
    app.product("OUT", 100, 5).await;
    let user = app.customer().await;
    let r = app
        .place(&user.access_token, json!([{"sku": "OUT", "quantity": 1}]))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    store.set_down(true);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(app.worker.clone().run(stop_rx));
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    use orderflow_core::ports::Queue;
    assert!(
        app.queue.dead_letters(10).await.unwrap().is_empty(),
        "the outage dead-lettered the order"
    );
    assert_eq!(app.queue.len(), 1, "the message waits in the queue");
    store.set_down(false);
    let mut status = String::new();
    for _ in 0..100 {
        let o = app
            .get(&format!("/api/orders/{id}"), Some(&user.access_token))
            .await;
        status = o.body["status"].as_str().unwrap_or_default().to_owned();
        if status == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "completed", "recovered on its own");
    stop_tx.send(true).unwrap();
    worker.await.unwrap();
    assert!(app.queue.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(app.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_store_outage_answers_503_fast() {
    let (app, store) = app_with_switchable_store(|_| {}).await;
    let user = app.customer().await;
    store.set_down(true);
    for r in [
        app.get("/api/products", None).await,
        app.get("/api/orders", Some(&user.access_token)).await,
        app.place(&user.access_token, json!([{"sku": "X", "quantity": 1}]))
            .await,
    ] {
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        );
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    store.set_down(false);
    assert_eq!(
        app.get("/api/products", None).await.status,
        StatusCode::OK,
        "recovers on its own"
    );
}

/// An app whose order and inventory ports can be switched off, and the switch.
async fn app_with_switchable_store(
    tweak: impl FnOnce(&mut orderflow::config::Config),
) -> (
    orderflow_testkit::TestApp,
    orderflow_testkit::faults::SwitchableStore,
) {
    let switch = std::sync::Arc::new(std::sync::Mutex::new(None));
    let s2 = switch.clone();
    let app = orderflow_testkit::spawn_app_custom(tweak, move |a| {
        let s = orderflow_testkit::faults::SwitchableStore::wrap(a);
        *s2.lock().unwrap() = Some(s);
    })
    .await;
    let store = switch.lock().unwrap().clone().expect("the swap ran");
    (app, store)
}

#[tokio::test]
async fn a_hung_mail_server_cannot_hold_a_worker_slot() {
    let app = orderflow_testkit::spawn_app_custom(
        |c| {
            c.mail.send_timeout_ms = 100;
            c.worker.notify_lease_ms = 3000;
        },
        |a| a.mailer = std::sync::Arc::new(orderflow_testkit::faults::HungMailer),
    )
    .await;
    app.product("H", 100, 10).await;
    let user = app.customer().await;
    app.place(&user.access_token, json!([{"sku": "H", "quantity": 1}]))
        .await;
    let handled = tokio::time::timeout(std::time::Duration::from_secs(10), app.drain())
        .await
        .expect("the send gave up at mail.send_timeout_ms");
    assert_eq!(handled, 1);
    assert!(app.queue.is_empty(), "acked: the email stays owed instead");
    let order = app.store.all_orders().pop().unwrap();
    assert_eq!(order.status, orderflow_core::domain::OrderStatus::Completed);
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    let owed = app.store.due_notifications(later, 10).await.unwrap();
    assert_eq!(
        owed.iter()
            .map(|e| (e.order.id, e.failures))
            .collect::<Vec<_>>(),
        vec![(order.id, 1)],
        "owed, due again later, after one failure"
    );
    assert!(
        owed[0].due_at > order.updated_at,
        "deferred past the settlement"
    );
    let now = chrono::Utc::now();
    assert!(
        app.store
            .claim_notification(order.id, now, now + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        "the claim is released"
    );
}

#[tokio::test]
async fn one_delivery_is_worked_on_for_at_most_the_deadline() {
    let app = orderflow_testkit::spawn_app_custom(
        |c| {
            c.mail.send_timeout_ms = 10_000;
            c.worker.notify_lease_ms = 12000;
        },
        |a| a.mailer = std::sync::Arc::new(orderflow_testkit::faults::HungMailer),
    )
    .await;
    app.product("D", 100, 10).await;
    let user = app.customer().await;
    app.place(&user.access_token, json!([{"sku": "D", "quantity": 1}]))
        .await;
    let mut settings = app.config.worker_settings();
    settings.delivery_deadline_ms = 200;
    let worker = orderflow::worker::Worker::new(
        app.services.adapters.queue.clone(),
        app.services.processor.clone(),
        app.services.metrics.clone(),
        &settings,
    );
    let handled = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        worker.run_once(std::time::Duration::ZERO),
    )
    .await
    .expect("the delivery was given up at its deadline")
    .unwrap();
    assert_eq!(handled, 1);
    assert_eq!(
        app.queue.len(),
        1,
        "not acked: retried later like any failure"
    );
    assert!(app
        .metrics_text()
        .await
        .contains("orderflow_queue_retried_total 1\n"));
}
