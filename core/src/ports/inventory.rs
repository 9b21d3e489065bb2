use crate::domain::{Product, ProductCursor, ProductPage, ProductPatch, Sku};
use crate::BoxError;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("a product with this sku already exists")]
    DuplicateSku,
    #[error("no such product or order")]
    NotFound,
    #[error("stock would go below zero")]
    InsufficientStock,
    #[error("stock would exceed the maximum")]
    StockLimit,
    #[error("inventory store unavailable")]
    Unavailable(#[source] BoxError),
}

/// Products and their stock. Stock is taken by `OrderSettlement::fulfil`, which
/// adapters implement over the same products.
///
/// MUST:
/// - never let any product's stock go below zero, under any concurrency;
/// - apply `update`'s `stock_delta` atomically and relative to the current stock,
///   returning `InsufficientStock` (and changing nothing) if it would go below zero and
///   `StockLimit` if it would pass `Product::MAX_STOCK`;
/// - return `DuplicateSku` from `insert` for an existing SKU, also under races;
/// - return `NotFound` for an unknown SKU in `update`;
/// - list products in SKU order, strictly after the cursor;
/// - return `Unavailable` when the store cannot answer.
#[async_trait::async_trait]
pub trait InventoryRepo: super::Health {
    async fn insert(&self, product: &Product) -> Result<(), InventoryError>;
    async fn get(&self, sku: &Sku) -> Result<Option<Product>, InventoryError>;
    /// The products that exist among `skus`, in any order.
    async fn get_many(&self, skus: &[Sku]) -> Result<Vec<Product>, InventoryError>;
    async fn list(
        &self,
        limit: usize,
        after: Option<&ProductCursor>,
    ) -> Result<ProductPage, InventoryError>;
    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> Result<Product, InventoryError>;
}
