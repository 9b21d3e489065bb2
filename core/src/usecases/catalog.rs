use super::products::ProductSnapshots;
use crate::domain::Price;
use crate::domain::{
    Currency, ParseError, Product, ProductCursor, ProductName, ProductPage, ProductPatch, Sku,
};
use crate::ports::{InventoryError, InventoryRepo};
use crate::BoxError;
use std::sync::Arc;
use tracing::instrument;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("no such product")]
    NotFound,
    #[error("a product with this sku already exists")]
    SkuTaken,
    #[error("stock would go below zero")]
    InsufficientStock,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

impl From<InventoryError> for CatalogError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::DuplicateSku => CatalogError::SkuTaken,
            InventoryError::NotFound => CatalogError::NotFound,
            InventoryError::InsufficientStock => CatalogError::InsufficientStock,
            InventoryError::StockLimit => CatalogError::Invalid(ParseError::new(
                "stock_delta",
                format!("stock may not exceed {}", Product::MAX_STOCK),
            )),
            e @ InventoryError::Unavailable(_) => CatalogError::Unavailable(Box::new(e)),
        }
    }
}

/// A product as an admin submits it, still raw.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub currency: Option<String>,
    pub stock: i64,
}

/// Browsing and managing the catalog.
pub struct CatalogService {
    pub inventory: Arc<dyn InventoryRepo>,
    /// Placements' copies of products: an update drops the product's copy.
    pub products: Arc<ProductSnapshots>,
}

impl CatalogService {
    pub const MAX_PAGE: usize = 100;

    #[instrument(skip_all)]
    pub async fn list(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ProductPage, CatalogError> {
        let after = cursor
            .map(|c| {
                Sku::parse(c)
                    .map(ProductCursor)
                    .map_err(|_| ParseError::new("cursor", "is not a cursor this API returned"))
            })
            .transpose()?;
        Ok(self
            .inventory
            .list(limit.clamp(1, Self::MAX_PAGE), after.as_ref())
            .await?)
    }

    #[instrument(skip_all, fields(sku = raw_sku))]
    pub async fn get(&self, raw_sku: &str) -> Result<Product, CatalogError> {
        // A string that cannot be a SKU names no product.
        let sku = Sku::parse(raw_sku).map_err(|_| CatalogError::NotFound)?;
        self.inventory
            .get(&sku)
            .await?
            .ok_or(CatalogError::NotFound)
    }

    #[instrument(skip_all, fields(sku = %new.sku))]
    pub async fn create(&self, new: NewProduct) -> Result<Product, CatalogError> {
        let product = Product {
            sku: Sku::parse(&new.sku)?,
            name: ProductName::parse(&new.name)?,
            price_cents: Price::parse(new.price_cents)?,
            currency: match new.currency {
                Some(c) => Currency::parse(&c)?,
                None => Currency::USD,
            },
            stock: Product::validate_stock(new.stock)?,
        };
        self.inventory.insert(&product).await?;
        Ok(product)
    }

    #[instrument(skip_all, fields(sku = raw_sku))]
    pub async fn update(
        &self,
        raw_sku: &str,
        name: Option<String>,
        price_cents: Option<i64>,
        stock_delta: Option<i64>,
    ) -> Result<Product, CatalogError> {
        let sku = Sku::parse(raw_sku).map_err(|_| CatalogError::NotFound)?;
        let patch = ProductPatch {
            name: name.as_deref().map(ProductName::parse).transpose()?,
            price_cents: price_cents.map(Price::parse).transpose()?,
            stock_delta: stock_delta
                .map(|d| {
                    if d.unsigned_abs() > u64::from(Product::MAX_STOCK) {
                        Err(ParseError::new(
                            "stock_delta",
                            format!("must be within ±{}", Product::MAX_STOCK),
                        ))
                    } else {
                        Ok(d)
                    }
                })
                .transpose()?,
        };
        let updated = self.inventory.update(&sku, &patch).await;
        // Dropped whatever the outcome: a failed update may still have been applied.
        self.products.forget(std::slice::from_ref(&sku)).await;
        Ok(updated?)
    }
}
