//! `/api/products*`

use super::error::{ApiError, Problem};
use super::extract::{Admin, JsonBody, PathParam, QueryParams};
use super::views::{
    page_limit, CreateProductRequest, PageQuery, PatchProductRequest, ProductPageView, ProductView,
};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use orderflow_core::usecases::NewProduct;

/// The catalog, in SKU order.
#[utoipa::path(get, operation_id = "list_products", path = "/api/products", tag = "products", params(PageQuery),
    responses((status = 200, description = "a page of products", body = ProductPageView),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(s): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ProductPageView>, ApiError> {
    let page = s
        .services
        .catalog
        .list(page_limit(q.limit)?, q.cursor.as_deref())
        .await?;
    Ok(Json(ProductPageView::from(&page)))
}

/// One product.
#[utoipa::path(get, operation_id = "get_product", path = "/api/products/{sku}", tag = "products", params(("sku" = String, Path)),
    responses((status = 200, description = "the product", body = ProductView),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(s): State<AppState>,
    PathParam(sku): PathParam<String>,
) -> Result<Json<ProductView>, ApiError> {
    Ok(Json(ProductView::from(
        &s.services.catalog.get(&sku).await?,
    )))
}

/// Add a product (admin).
#[utoipa::path(post, operation_id = "create_product", path = "/api/products", tag = "products", security(("bearer" = [])), request_body = CreateProductRequest,
    responses((status = 201, description = "created", body = ProductView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "sku_taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    JsonBody(b): JsonBody<CreateProductRequest>,
) -> Result<(StatusCode, Json<ProductView>), ApiError> {
    let p = s
        .services
        .catalog
        .create(NewProduct {
            sku: b.sku,
            name: b.name,
            price_cents: b.price_cents,
            currency: b.currency,
            stock: b.stock,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(ProductView::from(&p))))
}

/// Rename, reprice or restock a product (admin). `stock_delta` is relative.
#[utoipa::path(patch, operation_id = "update_product", path = "/api/products/{sku}", tag = "products", security(("bearer" = [])),
    params(("sku" = String, Path)), request_body = PatchProductRequest,
    responses((status = 200, description = "the product", body = ProductView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "insufficient_stock", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam(sku): PathParam<String>,
    JsonBody(b): JsonBody<PatchProductRequest>,
) -> Result<Json<ProductView>, ApiError> {
    let p = s
        .services
        .catalog
        .update(&sku, b.name, b.price_cents, b.stock_delta)
        .await?;
    Ok(Json(ProductView::from(&p)))
}
