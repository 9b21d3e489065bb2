use crate::domain::{
    FulfilmentOutcome, Order, OrderId, Product, ProductCursor, ProductPage, ProductPatch, Sku,
};
use crate::BoxError;
use chrono::{DateTime, Utc};

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

#[derive(Debug, Clone)]
pub struct Fulfilment {
    /// The order as it is after this call.
    pub order: Order,
    pub outcome: FulfilmentOutcome,
}

/// Products and their stock, and the one authoritative stock-taking step.
///
/// MUST:
/// - never let any product's stock go below zero, under any concurrency;
/// - make `fulfil` ONE atomic unit over products and the order: if the order is pending,
///   apply what `Order::settlement` decides from the stock read in that unit (take
///   `Settlement::takes`, record its status change through `Order::apply`, which also
///   makes the outcome email owed from `at`, even if the caller dies at once); if it is
///   not pending, change nothing and report `AlreadyFinal`. A repeated call never takes
///   stock twice;
/// - apply `update`'s `stock_delta` atomically and relative to the current stock,
///   returning `InsufficientStock` (and changing nothing) if it would go below zero and
///   `StockLimit` if it would pass `Product::MAX_STOCK`;
/// - return `DuplicateSku` from `insert` for an existing SKU, also under races;
/// - return `NotFound` for an unknown SKU in `update`, or unknown order in `fulfil`;
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
    async fn fulfil(&self, order: OrderId, at: DateTime<Utc>)
        -> Result<Fulfilment, InventoryError>;
}
