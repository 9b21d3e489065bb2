use orderflow_testkit::spawn_app;
use reqwest::StatusCode;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let h = app.get("/healthz", None).await;
    assert_eq!(
        (h.status, h.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let r = app.get("/readyz", None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

#[tokio::test]
async fn openapi_documents_every_route_and_docs_are_served() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/refresh", "post"),
        ("/api/auth/logout", "post"),
        ("/api/auth/me", "get"),
        ("/api/products", "get"),
        ("/api/products", "post"),
        ("/api/products/{sku}", "get"),
        ("/api/products/{sku}", "patch"),
        ("/api/orders", "post"),
        ("/api/orders", "get"),
        ("/api/orders/{id}", "get"),
        ("/api/orders/{id}/cancel", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
}
