use orderflow_testkit::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn anyone_can_browse_the_catalog_in_pages() {
    let app = spawn_app().await;
    for (i, sku) in ["P-C", "P-A", "P-E", "P-B", "P-D"].iter().enumerate() {
        app.product(sku, 100 * (i as i64 + 1), 3).await;
    }
    let p1 = app.get("/api/products?limit=2", None).await;
    assert_eq!(p1.status, StatusCode::OK);
    let skus = |r: &serde_json::Value| {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["sku"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(skus(&p1.body), ["P-A", "P-B"]);
    let c = p1.body["next_cursor"].as_str().unwrap();
    let p2 = app
        .get(&format!("/api/products?limit=2&cursor={c}"), None)
        .await;
    assert_eq!(skus(&p2.body), ["P-C", "P-D"]);
    let p3 = app
        .get(
            &format!(
                "/api/products?limit=2&cursor={}",
                p2.body["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(skus(&p3.body), ["P-E"]);
    assert!(p3.body["next_cursor"].is_null());
    let one = app.get("/api/products/P-B", None).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(
        one.body,
        json!({"sku": "P-B", "name": "Product P-B", "price_cents": 400, "currency": "USD", "stock": 3})
    );
}

#[tokio::test]
async fn unknown_product_is_404() {
    let app = spawn_app().await;
    for path in ["/api/products/NOPE", "/api/products/has%20space"] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.code(), "not_found");
    }
}

#[tokio::test]
async fn only_admins_create_products() {
    let app = spawn_app().await;
    let customer = app.customer().await;
    let body = json!({"sku": "NEW-1", "name": "New", "price_cents": 100, "stock": 1});
    let r = app.post("/api/products", None, body.clone()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let r = app
        .post("/api/products", Some(&customer.access_token), body.clone())
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let admin = app.admin_token().await;
    let r = app.post("/api/products", Some(&admin), json!({"sku": "NEW-1", "name": "New", "price_cents": 100, "currency": "EUR", "stock": 1})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.body,
        json!({"sku": "NEW-1", "name": "New", "price_cents": 100, "currency": "EUR", "stock": 1})
    );
    let r = app.post("/api/products", Some(&admin), body).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "sku_taken"));
}

#[tokio::test]
async fn product_input_is_validated() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for body in [
        json!({"sku": "", "name": "x", "price_cents": 1, "stock": 1}),
        json!({"sku": "bad sku", "name": "x", "price_cents": 1, "stock": 1}),
        json!({"sku": "OK", "name": " ", "price_cents": 1, "stock": 1}),
        json!({"sku": "OK", "name": "x", "price_cents": -1, "stock": 1}),
        json!({"sku": "OK", "name": "x", "price_cents": 1.5, "stock": 1}),
        json!({"sku": "OK", "name": "x", "price_cents": 1, "stock": -1}),
        json!({"sku": "OK", "name": "x", "price_cents": 1, "stock": 1, "currency": "usd"}),
        json!({"sku": "OK", "name": "x", "price_cents": 1, "stock": 1, "extra": true}),
    ] {
        let r = app.post("/api/products", Some(&admin), body.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}"
        );
    }
    assert_eq!(
        app.get("/api/products", None).await.body["items"],
        json!([]),
        "nothing was created"
    );
}

#[tokio::test]
async fn patch_renames_reprices_and_restocks_but_never_below_zero() {
    let app = spawn_app().await;
    app.product("PATCH-1", 500, 5).await;
    let admin = app.admin_token().await;
    let customer = app.customer().await;
    let r = app
        .patch(
            "/api/products/PATCH-1",
            Some(&customer.access_token),
            json!({"stock_delta": 1}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app
        .patch(
            "/api/products/PATCH-1",
            Some(&admin),
            json!({"name": "Renamed", "price_cents": 600, "stock_delta": 10}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"sku": "PATCH-1", "name": "Renamed", "price_cents": 600, "currency": "USD", "stock": 15})
    );
    let r = app
        .patch(
            "/api/products/PATCH-1",
            Some(&admin),
            json!({"stock_delta": -16}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "insufficient_stock")
    );
    assert_eq!(app.stock("PATCH-1").await, 15);
    let r = app
        .patch(
            "/api/products/PATCH-1",
            Some(&admin),
            json!({"stock_delta": -15}),
        )
        .await;
    assert_eq!(r.body["stock"], 0);
    let r = app
        .patch(
            "/api/products/NOPE",
            Some(&admin),
            json!({"stock_delta": 1}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .patch("/api/products/PATCH-1", Some(&admin), json!({"stock": 99}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let r = app
        .patch(
            "/api/products/PATCH-1",
            Some(&admin),
            json!({"stock_delta": 2_000_000_000}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
}
