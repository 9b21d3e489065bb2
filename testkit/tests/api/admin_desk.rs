//! The admin order desk: looking a user up, cancelling a customer's order.

use orderflow_testkit::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_admin_looks_a_user_up_by_id() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.customer().await;
    let r = app
        .get(&format!("/api/admin/users/{}", user.id), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["id"], user.id.as_str());
    assert_eq!(r.body["email"], user.email.as_str());
    assert_eq!(r.body["role"], "customer");
    assert!(
        chrono::DateTime::parse_from_rfc3339(r.body["created_at"].as_str().unwrap_or("")).is_ok(),
        "{:?}",
        r.body
    );
    assert!(r.body.get("password_hash").is_none(), "{:?}", r.body);

    for missing in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let r = app
            .get(&format!("/api/admin/users/{missing}"), Some(&admin))
            .await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    }
    let r = app
        .get(
            &format!("/api/admin/users/{}", user.id),
            Some(&user.access_token),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app
        .get(&format!("/api/admin/users/{}", user.id), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_admin_cancels_a_pending_order_and_the_customer_is_told_once() {
    let app = spawn_app().await;
    app.product("DESK-1", 500, 3).await;
    let admin = app.admin_token().await;
    let user = app.customer().await;
    let placed = app
        .place(
            &user.access_token,
            json!([{"sku": "DESK-1", "quantity": 2}]),
        )
        .await;
    let id = placed.body["id"].as_str().expect("id").to_owned();

    let r = app
        .post(
            &format!("/api/admin/orders/{id}/cancel"),
            Some(&user.access_token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "forbidden"),
        "customers use their own cancel"
    );
    let r = app
        .post(
            &format!("/api/admin/orders/{id}/cancel"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(
        r.body["history"][1]["reason"], "cancelled by an administrator",
        "{:?}",
        r.body
    );
    let seen = app
        .get(&format!("/api/orders/{id}"), Some(&user.access_token))
        .await;
    assert_eq!(seen.body["status"], "cancelled", "the customer sees it");

    assert_eq!(
        app.send_due_emails().await,
        1,
        "the customer is owed one email"
    );
    assert_eq!(app.send_due_emails().await, 0, "and only one");
    let sent = app.mailer.sent();
    let mail = sent
        .iter()
        .find(|m| m.reference == format!("order-{id}-cancelled"))
        .unwrap_or_else(|| panic!("{sent:?}"));
    assert_eq!(mail.to.to_string(), user.email);
    assert!(mail.text.contains("cancelled"), "{}", mail.text);

    app.drain().await;
    assert_eq!(
        app.stock("DESK-1").await,
        3,
        "a cancelled order takes no stock"
    );
    let again = app
        .post(
            &format!("/api/admin/orders/{id}/cancel"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    let unknown = app
        .post(
            &format!("/api/admin/orders/{}/cancel", uuid::Uuid::new_v4()),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn a_customers_own_cancel_is_not_mailed() {
    let app = spawn_app().await;
    app.product("DESK-2", 500, 3).await;
    let user = app.customer().await;
    let placed = app
        .place(
            &user.access_token,
            json!([{"sku": "DESK-2", "quantity": 1}]),
        )
        .await;
    let id = placed.body["id"].as_str().expect("id").to_owned();
    let r = app
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&user.access_token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(app.send_due_emails().await, 0);
    assert!(app.mailer.sent().is_empty(), "{:?}", app.mailer.sent());
}
