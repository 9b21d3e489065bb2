//! Passwords a customer can recover: the reset link by email, once, within its time.

use orderflow_testkit::{spawn_app, spawn_app_custom, spawn_app_with, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// The tokens of the reset links mailed to `to` so far, oldest first. The email is sent
/// in the background: this waits (a bounded while) until `want` have arrived.
async fn reset_tokens(app: &TestApp, to: &str, want: usize) -> Vec<String> {
    for _ in 0..100 {
        let tokens: Vec<String> = app
            .mailer
            .sent()
            .iter()
            .filter(|m| m.reference.starts_with("password-reset-") && m.to.as_str() == to)
            .map(|m| {
                let (_, after) = m.text.split_once("?token=").expect("a link with a token");
                after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect()
            })
            .collect();
        if tokens.len() >= want {
            return tokens;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{want} reset emails to {to} never came: {:?}",
        app.mailer.sent()
    );
}

async fn ask(app: &TestApp, email: &str) -> orderflow_testkit::Reply {
    app.post("/api/auth/password-reset", None, json!({ "email": email }))
        .await
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> orderflow_testkit::Reply {
    app.post(
        "/api/auth/password-reset/confirm",
        None,
        json!({ "token": token, "password": password }),
    )
    .await
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_ends_every_login() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let r = ask(&app, &user.email).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let token = reset_tokens(&app, &user.email, 1).await.remove(0);
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let mail = app.mailer.sent().pop().expect("the email");
    assert!(
        mail.text.contains(&format!(
            "http://localhost:8080/reset-password?token={token}"
        )),
        "the link is auth.reset_url with the token: {}",
        mail.text
    );

    let weak = confirm(&app, &token, "short").await;
    assert_eq!(
        (weak.status, weak.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "the usual password rules"
    );
    let r = confirm(&app, &token, "a-brand-new-password").await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "a refused password left the token good: {:?}",
        r.body
    );

    let again = confirm(&app, &token, "yet-another-password").await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::BAD_REQUEST, "invalid_reset_token"),
        "once only"
    );
    assert_eq!(
        app.refresh(user.refresh_token.as_str()).await.status,
        StatusCode::UNAUTHORIZED,
        "every refresh token of the account is revoked"
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access_token))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "and its access tokens with the logins"
    );
    assert_eq!(
        app.login(&user.email, &user.password).await.status,
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    assert_eq!(
        app.login(&user.email, "a-brand-new-password").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_email() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let known = ask(&app, &user.email).await;
    let unknown = ask(&app, "nobody-here@example.com").await;
    assert_eq!(
        (unknown.status, &unknown.body),
        (known.status, &known.body),
        "the same answer"
    );
    reset_tokens(&app, &user.email, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resets: Vec<_> = app
        .mailer
        .sent()
        .into_iter()
        .filter(|m| m.reference.starts_with("password-reset-"))
        .collect();
    assert_eq!(
        resets.len(),
        1,
        "only the known address got one: {resets:?}"
    );

    let bad = ask(&app, "not an address").await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let made_up = confirm(&app, &"A".repeat(43), "a-brand-new-password").await;
    assert_eq!(
        (made_up.status, made_up.code()),
        (StatusCode::BAD_REQUEST, "invalid_reset_token")
    );
    let huge = confirm(&app, &"A".repeat(5000), "a-brand-new-password").await;
    assert_eq!(huge.code(), "invalid_reset_token");
}

#[tokio::test]
async fn a_link_expires_after_auth_reset_ttl_and_a_newer_one_ends_the_older() {
    let clock = orderflow_adapter_memory::ManualClock::new(chrono::Utc::now());
    let c2 = clock.clone();
    let app = spawn_app_custom(|_| {}, move |a| a.clock = std::sync::Arc::new(c2)).await;
    let user = app.customer().await;
    ask(&app, &user.email).await;
    let first = reset_tokens(&app, &user.email, 1).await.remove(0);
    clock.advance(chrono::Duration::seconds(1800));
    let r = confirm(&app, &first, "a-brand-new-password").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_reset_token"),
        "30 minutes and out"
    );

    ask(&app, &user.email).await;
    ask(&app, &user.email).await;
    let tokens = reset_tokens(&app, &user.email, 3).await;
    let (older, newer) = (&tokens[1], &tokens[2]);
    assert_eq!(
        confirm(&app, newer, "a-brand-new-password").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        confirm(&app, older, "another-new-password").await.code(),
        "invalid_reset_token",
        "a password set through one link makes the others useless"
    );
}

#[tokio::test]
async fn requests_are_throttled_per_address_and_per_client() {
    let app = spawn_app_with(|c| {
        c.auth.reset_per_email = 2;
        c.auth.reset_per_client = 4;
    })
    .await;
    let user = app.customer().await;
    for _ in 0..3 {
        assert_eq!(ask(&app, &user.email).await.status, StatusCode::ACCEPTED);
    }
    reset_tokens(&app, &user.email, 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        reset_tokens(&app, &user.email, 2).await.len(),
        2,
        "the third request is answered as usual, with no email"
    );
    assert_eq!(
        ask(&app, "someone@example.com").await.status,
        StatusCode::ACCEPTED
    );
    let r = ask(&app, "someone-else@example.com").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "the client's fifth request"
    );
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn a_hung_mail_server_does_not_hold_the_request() {
    // A send waits for the hung server up to mail.send_timeout_ms (15 s), longer than
    // a request may take (http.request_timeout_ms, 10 s).
    let app = spawn_app_custom(
        |_| {},
        |a| a.mailer = std::sync::Arc::new(orderflow_testkit::faults::HungMailer),
    )
    .await;
    let user = app.customer().await;
    let r = tokio::time::timeout(Duration::from_secs(5), ask(&app, &user.email))
        .await
        .expect("answered without waiting for the mail server");
    assert_eq!(r.status, StatusCode::ACCEPTED);
}
