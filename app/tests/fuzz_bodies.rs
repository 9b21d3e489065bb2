//! Property test over request-body parsing through the real router: whatever bytes
//! arrive, the answer is a 2xx or a 4xx problem with a code, never a 5xx or a hang.

use orderflow_testkit::spawn_app;
use proptest::prelude::*;
use serde_json::{json, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        Just(json!("SKU-FUZZ")),
        Just(json!(1)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("items".to_owned()),
                    Just("sku".to_owned()),
                    Just("quantity".to_owned()),
                    Just("email".to_owned()),
                    Just("password".to_owned()),
                    Just("name".to_owned()),
                    Just("price_cents".to_owned()),
                    Just("stock".to_owned()),
                    Just("stock_delta".to_owned()),
                    Just("refresh_token".to_owned()),
                    "\\PC{0,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| json!({"items": [{"sku": "SKU-FUZZ", "quantity": v}]})
            .to_string()
            .into_bytes()),
    ]
}

#[test]
fn no_body_gets_a_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, customer, admin) = rt.block_on(async {
        let app = spawn_app().await;
        app.product("SKU-FUZZ", 100, 1_000_000).await;
        let customer = app.customer().await.access_token;
        let admin = app.admin_token().await;
        (app, customer, admin)
    });
    let routes: Vec<(&str, &str, Option<String>)> = vec![
        ("POST", "/api/orders", Some(customer.clone())),
        ("POST", "/api/auth/register", None),
        ("POST", "/api/auth/login", None),
        ("POST", "/api/auth/refresh", None),
        ("POST", "/api/auth/logout", None),
        ("POST", "/api/products", Some(admin.clone())),
        ("PATCH", "/api/products/SKU-FUZZ", Some(admin.clone())),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(300));
    runner
        .run(&(0..routes.len(), body()), |(i, bytes)| {
            let (method, path, token) = &routes[i];
            let (status, content_type, code) = rt.block_on(async {
                let mut req = app
                    .client
                    .request(method.parse().unwrap(), app.url(path))
                    .header("content-type", "application/json")
                    .body(bytes.clone());
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let res = req.send().await.expect("answered");
                let status = res.status();
                let ct = res
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                (status, ct, body["code"].as_str().unwrap_or("").to_owned())
            });
            prop_assert!(
                status.as_u16() < 500,
                "{method} {path} {:?} -> {status}",
                String::from_utf8_lossy(&bytes)
            );
            if status.is_client_error() {
                prop_assert_eq!(content_type, "application/problem+json");
                prop_assert!(!code.is_empty());
            }
            Ok(())
        })
        .unwrap();
}
