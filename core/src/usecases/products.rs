use crate::domain::{Product, Sku};
use crate::ports::{Cache, InventoryError, InventoryRepo};
use std::sync::Arc;
use std::time::Duration;

pub fn product_cache_key(sku: &Sku) -> String {
    format!("product:{}", sku.as_str())
}

/// Products as placements read them: from the cache when a copy younger than `ttl` is
/// there, from the store otherwise. A placement needs a product for its price and name
/// and for the courtesy stock check; reading it from the store made every placement
/// cost a database read besides its insert.
///
/// How stale a copy can be, and why that is safe:
/// - a catalog update (price, name, restock) drops the copy, in every process that
///   shares the cache, and so does the worker settling an order for the product (its
///   stock changed); only a placement that read the store just before such a change and
///   stored its copy just after can bring back the old values, for at most `ttl`;
/// - stock in a copy can only overstate (stock falls only by fulfilment), and the
///   courtesy check was already racing concurrent fulfilments: the worker's `fulfil`
///   is the authority on stock, and an order it cannot cover fails with an email.
///
/// So the cache saves the read while a product's stock is not moving — browsing bursts,
/// placements outpacing the worker — and costs one extra read per settlement otherwise.
///
/// A zero `ttl` turns the cache off.
pub struct ProductSnapshots {
    pub inventory: Arc<dyn InventoryRepo>,
    pub cache: Arc<dyn Cache>,
    pub ttl: Duration,
}

impl ProductSnapshots {
    /// The products with these SKUs that exist, in no particular order.
    pub async fn get_many(&self, skus: &[Sku]) -> Result<Vec<Product>, InventoryError> {
        if self.ttl.is_zero() {
            return self.inventory.get_many(skus).await;
        }
        let mut found = Vec::with_capacity(skus.len());
        let mut missing = Vec::new();
        for sku in skus {
            match self.cache.get(&product_cache_key(sku)).await {
                Ok(Some(bytes)) => match serde_json::from_slice::<Product>(&bytes) {
                    Ok(p) if &p.sku == sku => found.push(p),
                    _ => missing.push(sku.clone()),
                },
                // Errors are misses: the cache never decides whether a placement works.
                _ => missing.push(sku.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let loaded = self.inventory.get_many(&missing).await?;
        for p in &loaded {
            if let Ok(bytes) = serde_json::to_vec(p) {
                if let Err(e) = self
                    .cache
                    .set(&product_cache_key(&p.sku), &bytes, self.ttl)
                    .await
                {
                    tracing::debug!(error = %e, "could not cache a product");
                }
            }
        }
        found.extend(loaded);
        Ok(found)
    }

    /// Drops the cached copies of these products, so the next placement reads them from
    /// the store.
    pub async fn forget(&self, skus: &[Sku]) {
        if self.ttl.is_zero() {
            return;
        }
        for sku in skus {
            if let Err(e) = self.cache.delete(&product_cache_key(sku)).await {
                tracing::debug!(error = %e, %sku, "could not drop a cached product");
            }
        }
    }
}
