use orderflow_testkit::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn register_returns_the_account_and_normalises_email() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "  Ada@Example.COM ", "password": "a-strong-password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["email"], "ada@example.com");
    assert_eq!(r.body["role"], "customer");
    assert!(r.body["id"]
        .as_str()
        .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()));
    assert!(r.body["created_at"].as_str().is_some());
    assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none());
}

#[tokio::test]
async fn duplicate_email_is_409_email_taken_whatever_the_case() {
    let app = spawn_app().await;
    let body = json!({"email": "bob@example.com", "password": "a-strong-password"});
    assert_eq!(
        app.post("/api/auth/register", None, body).await.status,
        StatusCode::CREATED
    );
    let r = app
        .post(
            "/api/auth/register",
            None,
            json!({"email": "BOB@example.com", "password": "another-password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "email_taken");
}

#[tokio::test]
async fn register_validates_email_and_password() {
    let app = spawn_app().await;
    for body in [
        json!({"email": "not-an-email", "password": "a-strong-password"}),
        json!({"email": "a@b.co", "password": "short"}),
        json!({"email": "a@b.co", "password": "x".repeat(129)}),
        json!({"email": "a@b.co"}),
        json!({"email": "a@b.co", "password": "a-strong-password", "role": "admin"}),
        json!({"email": 5, "password": "a-strong-password"}),
    ] {
        let r = app.post("/api/auth/register", None, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(r.code(), "validation_failed", "{body}");
    }
    assert!(app.store.all_orders().is_empty());
}

#[tokio::test]
async fn login_answers_the_same_for_unknown_email_and_wrong_password() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let wrong = app.login(&user.email, "the-wrong-password").await;
    let unknown = app.login("nobody@example.com", "the-wrong-password").await;
    let malformed = app.login("nobody", "x").await;
    for r in [&wrong, &unknown, &malformed] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.code(), "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    let ok = app.login(&user.email.to_uppercase(), &user.password).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 900);
    assert!(ok.body["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(ok.body["refresh_token"].as_str().unwrap().len() >= 43);
}

#[tokio::test]
async fn me_needs_a_valid_access_token() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let r = app.get("/api/auth/me", Some(&user.access_token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"id": user.id, "email": user.email, "role": "customer"})
    );
    for token in [None, Some("garbage"), Some(user.refresh_token.as_str())] {
        let r = app.get("/api/auth/me", token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(r.code(), "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let basic = app
        .client
        .get(app.url("/api/auth/me"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stops_working() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let r = app.refresh(user.refresh_token.as_str()).await;
    assert_eq!(r.status, StatusCode::OK);
    let new_refresh = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, user.refresh_token);
    let me = app
        .get("/api/auth/me", r.body["access_token"].as_str())
        .await;
    assert_eq!(me.status, StatusCode::OK);
    // The next rotation with the new token works...
    let r2 = app.refresh(new_refresh.as_str()).await;
    assert_eq!(r2.status, StatusCode::OK);
    let newest = r2.body["refresh_token"].as_str().unwrap().to_owned();
    // ...presenting the first (rotated) one again is reuse: 401 and the family dies.
    let reuse = app.refresh(user.refresh_token.as_str()).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    let after = app.refresh(newest.as_str()).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "reuse revoked the whole login"
    );
    // Another login of the same user is unaffected.
    let other = app.login(&user.email, &user.password).await;
    let still = app.refresh(other.body["refresh_token"].clone()).await;
    assert_eq!(still.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_with_one_token_all_get_the_one_successor() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let calls = (0..6).map(|_| app.refresh(user.refresh_token.as_str()));
    let replies = futures::future::join_all(calls).await;
    assert!(
        replies.iter().all(|r| r.status == StatusCode::OK),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let successors: std::collections::HashSet<_> = replies
        .iter()
        .map(|r| r.body["refresh_token"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        successors.len(),
        1,
        "one rotation, one successor for every caller"
    );
    let successor = successors.into_iter().next().unwrap();
    assert_eq!(app.refresh(successor.as_str()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_revokes_the_login() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let r = app
        .post(
            "/api/auth/logout",
            None,
            json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.refresh(user.refresh_token.as_str()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "unauthorized");
    let me = app.get("/api/auth/me", Some(&user.access_token)).await;
    assert_eq!(
        (me.status, me.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized"),
        "the login's access token ends with it, at once on the process that ended it"
    );
    // Logging out with an unknown token is not an error: the token does not work either way.
    assert_eq!(
        app.post("/api/auth/logout", None, json!({"refresh_token": "nope"}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = app.refresh("").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn access_tokens_expire_by_the_injected_clock() {
    let clock = orderflow_adapter_memory::ManualClock::new(chrono::Utc::now());
    let c2 = clock.clone();
    let app =
        orderflow_testkit::spawn_app_custom(|_| {}, move |a| a.clock = std::sync::Arc::new(c2))
            .await;
    let user = app.customer().await;
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access_token))
            .await
            .status,
        StatusCode::OK
    );
    clock.advance(chrono::Duration::seconds(899));
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access_token))
            .await
            .status,
        StatusCode::OK
    );
    clock.advance(chrono::Duration::seconds(1));
    let r = app.get("/api/auth/me", Some(&user.access_token)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized"),
        "15 minutes and out"
    );
    // The refresh token still renews the login.
    let r = app.refresh(user.refresh_token.as_str()).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_email_with_retry_after() {
    let app = orderflow_testkit::spawn_app_with(|c| c.auth.login_per_email = 3).await;
    let user = app.customer().await; // a successful login, not counted
    for _ in 0..3 {
        assert_eq!(
            app.login(&user.email, "the-wrong-password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = app.login(&user.email, &user.password).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "after three failures from this client, even the right password waits"
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let r = app.login(&user.email.to_uppercase(), &user.password).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the limit is per normalised email"
    );
    let other = app.customer().await;
    assert_eq!(
        app.login(&other.email, &other.password).await.status,
        StatusCode::OK,
        "other emails unaffected"
    );
}

#[tokio::test]
async fn logins_and_refreshes_are_throttled_per_client() {
    let app = orderflow_testkit::spawn_app_with(|c| {
        c.auth.login_per_client = 4;
        c.auth.refresh_per_client = 2;
    })
    .await;
    let user = app.customer().await; // 1 login from this client
    for i in 0..3 {
        assert_eq!(
            app.login(&format!("nobody{i}@example.com"), "whatever-password")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = app.login(&user.email, &user.password).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let r1 = app.refresh(user.refresh_token.as_str()).await;
    assert_eq!(r1.status, StatusCode::OK);
    let r2 = app.refresh("junk").await;
    assert_eq!(r2.status, StatusCode::UNAUTHORIZED);
    let r3 = app.refresh(r1.body["refresh_token"].clone()).await;
    assert_eq!(
        (r3.status, r3.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(r3.header("retry-after").is_some());
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let app = orderflow_testkit::spawn_app_with(|c| {
        c.auth.login_per_client = 1;
        // The test's own connections come from loopback: it plays the load balancer.
        c.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let login = |ip: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            // The left entry is what a client may forge; the proxy appended the right.
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .json(&json!({"email": "nobody@example.com", "password": "whatever-password"}))
            .send()
    };
    assert_eq!(
        login("198.51.100.1").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login("198.51.100.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login("198.51.100.2").await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "another client"
    );
    let untrusted = orderflow_testkit::spawn_app_with(|c| c.auth.login_per_client = 1).await;
    let forged = |ip: &'static str| {
        untrusted
            .client
            .post(untrusted.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": "nobody@example.com", "password": "whatever-password"}))
            .send()
    };
    assert_eq!(
        forged("198.51.100.1").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        forged("198.51.100.2").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS,
        "without trusted proxies a forged header does not make a new client"
    );
}

#[tokio::test]
async fn an_access_token_is_never_a_refresh_token() {
    let app = spawn_app().await;
    let user = app.customer().await;
    let r = app.refresh(user.access_token.as_str()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let r = app.refresh(user.refresh_token.as_str()).await;
    assert_eq!(r.status, StatusCode::OK, "the login itself is unharmed");
}

#[tokio::test]
async fn look_alike_addresses_cannot_be_registered_as_new_accounts() {
    let app = spawn_app().await;
    let register = |email: &str| {
        app.post(
            "/api/auth/register",
            None,
            json!({"email": email, "password": "a-strong-password"}),
        )
    };
    let first = register("jos\u{e9}@b\u{fc}cher.de").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["email"], "jos\u{e9}@xn--bcher-kva.de");
    for twin in [
        "jose\u{301}@bu\u{308}cher.de",
        "jos\u{e9}@xn--bcher-kva.de",
        "jos\u{e9}@ｂüｃｈｅｒ.de",
    ] {
        let r = register(twin).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{twin:?}: {:?}", r.body);
        assert_eq!(r.code(), "email_taken");
    }
    let hidden = register("jos\u{e9}\u{200B}@b\u{fc}cher.de").await;
    assert_eq!(hidden.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(hidden.code(), "validation_failed");
    let login = app
        .login("jose\u{301}@BU\u{308}CHER.de", "a-strong-password")
        .await;
    assert_eq!(login.status, StatusCode::OK, "any spelling logs in");
}

#[tokio::test]
async fn attempts_refused_for_their_client_do_not_use_up_the_emails_limit() {
    let app = orderflow_testkit::spawn_app_with(|c| {
        c.auth.login_per_client = 2;
        c.auth.login_per_email = 3;
        c.auth.login_failures_per_email = 3;
        c.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let login = |ip: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": "target@example.com", "password": "whatever-password"}))
            .send()
    };
    let mut from_a = Vec::new();
    for _ in 0..6 {
        from_a.push(login("198.51.100.1").await.unwrap().status().as_u16());
    }
    assert_eq!(
        from_a,
        [401, 401, 429, 429, 429, 429],
        "the client's own limit"
    );
    assert_eq!(
        login("198.51.100.2").await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the email has seen two attempts, not six"
    );
    assert_eq!(
        login("198.51.100.3").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS,
        "and its own limit still holds"
    );
}

#[tokio::test]
async fn a_rate_limiter_that_does_not_answer_refuses_logins_but_not_refreshes() {
    // A Redis that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            open.push(c);
        }
    });
    let switch = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let limiter = Outageable {
        healthy: orderflow_adapter_memory::MemoryLimiter::default(),
        hung: orderflow_adapter_redis::RedisLimiter::new(
            orderflow_adapter_redis::RedisConn::new(orderflow_adapter_redis::RedisSettings {
                url,
                key_prefix: "t:".into(),
                timeout: std::time::Duration::from_millis(200),
            })
            .unwrap(),
        ),
        down: switch.clone(),
    };
    let app =
        orderflow_testkit::spawn_app_custom(|_| {}, |a| a.limiter = std::sync::Arc::new(limiter))
            .await;
    let user = app.customer().await;
    switch.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    let r = app.login(&user.email, &user.password).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{:?}",
        r.body
    );
    assert_eq!(r.header("retry-after"), Some("5"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered within the limiter's timeout"
    );
    let refreshed = app.refresh(user.refresh_token.as_str()).await;
    assert_eq!(
        refreshed.status,
        StatusCode::OK,
        "refreshes go on: {:?}",
        refreshed.body
    );
    held.abort();
}

/// The memory limiter, or while `down` a Redis limiter whose server never answers.
struct Outageable {
    healthy: orderflow_adapter_memory::MemoryLimiter,
    hung: orderflow_adapter_redis::RedisLimiter,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl orderflow_core::ports::Health for Outageable {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            self.hung.health().await
        } else {
            self.healthy.health().await
        }
    }
}

#[async_trait::async_trait]
impl orderflow_core::ports::RateLimiter for Outageable {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<orderflow_core::ports::Allowance, orderflow_core::ports::LimiterError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            self.hung.hit(key, limit, window).await
        } else {
            self.healthy.hit(key, limit, window).await
        }
    }
    async fn peek(
        &self,
        key: &str,
        limit: u32,
    ) -> Result<orderflow_core::ports::Allowance, orderflow_core::ports::LimiterError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            self.hung.peek(key, limit).await
        } else {
            self.healthy.peek(key, limit).await
        }
    }
}

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_can_be_retried_and_two_tabs_both_stay_logged_in() {
    let app = orderflow_testkit::spawn_app_with(|c| c.auth.refresh_reuse_grace_ms = 1000).await;
    let user = app.customer().await;

    // Two tabs refresh with the same token at once: both get the same new token.
    let (a, b) = tokio::join!(
        app.refresh(user.refresh_token.as_str()),
        app.refresh(user.refresh_token.as_str())
    );
    assert_eq!(
        (a.status, b.status),
        (StatusCode::OK, StatusCode::OK),
        "{:?} {:?}",
        a.body,
        b.body
    );
    assert_eq!(a.body["refresh_token"], b.body["refresh_token"]);
    let successor = a.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(successor, user.refresh_token);

    // The answer was lost: the retry gets the same successor, and it works.
    let retry = app.refresh(user.refresh_token.as_str()).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.body["refresh_token"], successor.as_str());
    let me = app
        .get("/api/auth/me", retry.body["access_token"].as_str())
        .await;
    assert_eq!(me.status, StatusCode::OK);
    let next = app.refresh(successor.as_str()).await;
    assert_eq!(next.status, StatusCode::OK, "the login goes on");
    let latest = next.body["refresh_token"].as_str().unwrap().to_owned();

    // After the grace, presenting a replaced token is reuse: the whole login ends.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let stolen = app.refresh(successor.as_str()).await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED);
    let after = app.refresh(latest.as_str()).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the family is revoked"
    );
}

#[tokio::test]
async fn strangers_failing_on_an_email_do_not_lock_its_owner_out() {
    let app = orderflow_testkit::spawn_app_with(|c| {
        c.auth.login_per_email = 2;
        c.auth.login_failures_per_email = 10;
        c.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let user = app.customer().await;
    let login = |ip: String, password: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": user.email.clone(), "password": password}))
            .send()
    };
    for stranger in 1..=3 {
        let ip = format!("198.51.100.{stranger}");
        let mut tries = Vec::new();
        for _ in 0..3 {
            tries.push(
                login(ip.clone(), "a-wrong-password")
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(tries, [401, 401, 429], "each stranger gets two tries");
    }
    for _ in 0..5 {
        assert_eq!(
            login("203.0.113.7".into(), "a-strong-password")
                .await
                .unwrap()
                .status(),
            StatusCode::OK,
            "the owner's right password works, again and again (successes are not counted)"
        );
    }
    for stranger in 4..=5 {
        for _ in 0..2 {
            login(format!("198.51.100.{stranger}"), "a-wrong-password")
                .await
                .unwrap();
        }
    }
    assert_eq!(
        login("203.0.113.7".into(), "a-strong-password")
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "ten failures from all over reach the fleet-wide cap"
    );
}

#[tokio::test]
async fn registrations_are_throttled_per_client_address() {
    let app = orderflow_testkit::spawn_app_with(|c| {
        c.auth.register_per_client = 2;
        c.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let register = |ip: &'static str| {
        app.client
            .post(app.url("/api/auth/register"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": format!("{}@example.com", uuid::Uuid::new_v4().simple()), "password": "a-strong-password"}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(
            register("198.51.100.1").await.unwrap().status(),
            StatusCode::CREATED
        );
    }
    let refused = TestApp::read(register("198.51.100.1").await.unwrap()).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(refused.header("retry-after").is_some());
    assert_eq!(
        register("198.51.100.2").await.unwrap().status(),
        StatusCode::CREATED,
        "another client"
    );
}

/// Two devices logged in; one changes the password. The other device's login ends,
/// the old password stops working, and the caller's login goes on.
#[tokio::test]
async fn a_password_change_ends_every_other_login_and_keeps_the_callers() {
    let app = spawn_app().await;
    let phone = app.customer().await;
    let laptop = app.login(&phone.email, &phone.password).await;
    assert_eq!(laptop.status, StatusCode::OK);
    let laptop_access = laptop.body["access_token"].as_str().unwrap().to_owned();
    let laptop_refresh = laptop.body["refresh_token"].as_str().unwrap().to_owned();
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let wrong = app
        .post(
            "/api/auth/password",
            Some(&phone.access_token),
            change("not-the-password", "a-new-strong-password"),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::FORBIDDEN, "wrong_password")
    );
    let short = app
        .post(
            "/api/auth/password",
            Some(&phone.access_token),
            change(&phone.password, "short"),
        )
        .await;
    assert_eq!(
        (short.status, short.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let anonymous = app
        .post(
            "/api/auth/password",
            None,
            change(&phone.password, "a-new-strong-password"),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/auth/me", Some(&laptop_access)).await.status,
        StatusCode::OK,
        "refused attempts end nothing"
    );

    let changed = app
        .post(
            "/api/auth/password",
            Some(&phone.access_token),
            change(&phone.password, "a-new-strong-password"),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{:?}", changed.body);
    assert_eq!(changed.body, serde_json::Value::Null, "no body");
    assert_eq!(
        app.get("/api/auth/me", Some(&laptop_access)).await.status,
        StatusCode::UNAUTHORIZED,
        "the laptop's access token"
    );
    assert_eq!(
        app.refresh(laptop_refresh.as_str()).await.status,
        StatusCode::UNAUTHORIZED,
        "the laptop's refresh token"
    );
    let me = app.get("/api/auth/me", Some(&phone.access_token)).await;
    assert_eq!(
        (me.status, me.body["email"].as_str()),
        (StatusCode::OK, Some(phone.email.as_str())),
        "the caller's access token still works"
    );
    let renewed = app.refresh(phone.refresh_token.as_str()).await;
    assert_eq!(renewed.status, StatusCode::OK, "the caller's login renews");
    assert_eq!(
        app.login(&phone.email, &phone.password).await.status,
        StatusCode::UNAUTHORIZED,
        "the old password"
    );
    assert_eq!(
        app.login(&phone.email, "a-new-strong-password")
            .await
            .status,
        StatusCode::OK
    );
}

/// An admin promotes a customer: the customer's logins end, so no token keeps the old
/// role, and the next login carries the new one.
#[tokio::test]
async fn a_role_change_ends_the_users_logins_and_the_next_login_has_the_new_role() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.customer().await;
    let path = format!("/api/admin/users/{}", user.id);
    let product = json!({"sku": "ROLE-1", "name": "Promoted", "price_cents": 100, "stock": 1});
    assert_eq!(
        app.post("/api/products", Some(&user.access_token), product.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let by_customer = app
        .patch(&path, Some(&user.access_token), json!({"role": "admin"}))
        .await;
    assert_eq!(by_customer.status, StatusCode::FORBIDDEN);
    let not_a_role = app
        .patch(&path, Some(&admin), json!({"role": "root"}))
        .await;
    assert_eq!(
        (not_a_role.status, not_a_role.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let nobody = app
        .patch(
            &format!("/api/admin/users/{}", uuid::Uuid::new_v4()),
            Some(&admin),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(
        (nobody.status, nobody.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let me = app.get("/api/auth/me", Some(&admin)).await;
    let own = app
        .patch(
            &format!("/api/admin/users/{}", me.body["id"].as_str().unwrap()),
            Some(&admin),
            json!({"role": "customer"}),
        )
        .await;
    assert_eq!(
        (own.status, own.code()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access_token))
            .await
            .status,
        StatusCode::OK,
        "refused changes end nothing"
    );

    let promoted = app
        .patch(&path, Some(&admin), json!({"role": "admin"}))
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{:?}", promoted.body);
    assert_eq!(promoted.body["role"], "admin");
    assert_eq!(
        app.get("/api/auth/me", Some(&user.access_token))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the token that says customer"
    );
    assert_eq!(
        app.refresh(user.refresh_token.as_str()).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = app.login(&user.email, &user.password).await;
    let token = again.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.post("/api/products", Some(token), product).await.status,
        StatusCode::CREATED,
        "the new login is an admin's"
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&admin)).await.status,
        StatusCode::OK,
        "the acting admin's login is untouched"
    );
}
