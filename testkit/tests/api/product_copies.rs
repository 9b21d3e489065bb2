//! Placements read products from a short-lived cached copy (`ProductSnapshots`): what
//! changes a product's price or stock drops the copy, so placements never price from a
//! copy a catalog update or a settlement has made stale.

use orderflow_core::domain::{ProductPatch, Sku};
use orderflow_core::ports::InventoryRepo;
use orderflow_testkit::spawn_app_with;
use reqwest::StatusCode;
use serde_json::json;

fn unit_price(r: &orderflow_testkit::Reply) -> i64 {
    r.body["items"][0]["unit_price_cents"].as_i64().unwrap()
}

#[tokio::test]
async fn placements_use_the_copy_until_a_catalog_update_drops_it() {
    let app = spawn_app_with(|c| c.cache.product_ttl_ms = 1000).await;
    app.product("PC", 100, 10).await;
    let user = app.customer().await;
    let line = json!([{"sku": "PC", "quantity": 1}]);
    let first = app.place(&user.access_token, line.clone()).await;
    assert_eq!(unit_price(&first), 100);

    // Changed in the store behind the catalog's back: the copy is what placements read.
    let sku = Sku::parse("PC").unwrap();
    let patch = ProductPatch {
        price_cents: Some(orderflow_core::domain::Price::parse(250).unwrap()),
        ..Default::default()
    };
    InventoryRepo::update(&app.store, &sku, &patch)
        .await
        .unwrap();
    let cached = app.place(&user.access_token, line.clone()).await;
    assert_eq!(unit_price(&cached), 100, "priced from the cached copy");

    // Through the catalog, the copy is dropped at once.
    let admin = app.admin_token().await;
    app.patch(
        "/api/products/PC",
        Some(&admin),
        json!({"price_cents": 300}),
    )
    .await;
    let fresh = app.place(&user.access_token, line).await;
    assert_eq!(unit_price(&fresh), 300);
}

#[tokio::test]
async fn settling_an_order_drops_the_copy_so_a_sold_out_product_gets_its_409_at_once() {
    let app = spawn_app_with(|c| c.cache.product_ttl_ms = 1000).await;
    app.product("ONE", 100, 1).await;
    let user = app.customer().await;
    let line = json!([{"sku": "ONE", "quantity": 1}]);
    let first = app.place(&user.access_token, line.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(app.drain().await, 1);
    assert_eq!(app.stock("ONE").await, 0);
    let next = app.place(&user.access_token, line).await;
    assert_eq!(
        (next.status, next.code()),
        (StatusCode::CONFLICT, "insufficient_stock"),
        "not accepted from a copy that still shows one in stock"
    );
}
