use crate::MemoryStore;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{
    OrderId, OrderStatus, Product, ProductCursor, ProductPage, ProductPatch, Sku,
};
use orderflow_core::ports::{Fulfilment, FulfilmentOutcome, InventoryError, InventoryRepo};
use std::ops::Bound;

#[async_trait::async_trait]
impl InventoryRepo for MemoryStore {
    async fn insert(&self, product: &Product) -> Result<(), InventoryError> {
        let mut p = self.inner.products.write();
        if p.contains_key(&product.sku) {
            return Err(InventoryError::DuplicateSku);
        }
        p.insert(product.sku.clone(), product.clone());
        Ok(())
    }

    async fn get(&self, sku: &Sku) -> Result<Option<Product>, InventoryError> {
        Ok(self.inner.products.read().get(sku).cloned())
    }

    async fn get_many(&self, skus: &[Sku]) -> Result<Vec<Product>, InventoryError> {
        let p = self.inner.products.read();
        Ok(skus.iter().filter_map(|s| p.get(s).cloned()).collect())
    }

    async fn list(
        &self,
        limit: usize,
        after: Option<&ProductCursor>,
    ) -> Result<ProductPage, InventoryError> {
        let p = self.inner.products.read();
        let lower = match after {
            Some(c) => Bound::Excluded(&c.0),
            None => Bound::Unbounded,
        };
        let items: Vec<Product> = p
            .range::<Sku, _>((lower, Bound::Unbounded))
            .take(limit + 1)
            .map(|(_, v)| v.clone())
            .collect();
        Ok(ProductPage::from_overfetch(items, limit))
    }

    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> Result<Product, InventoryError> {
        let mut p = self.inner.products.write();
        let product = p.get_mut(sku).ok_or(InventoryError::NotFound)?;
        let stock = match patch.stock_delta {
            Some(d) => {
                let n = i64::from(product.stock) + d;
                if n < 0 {
                    return Err(InventoryError::InsufficientStock);
                }
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n <= Product::MAX_STOCK)
                    .ok_or(InventoryError::StockLimit)?
            }
            None => product.stock,
        };
        product.stock = stock;
        if let Some(name) = &patch.name {
            product.name = name.clone();
        }
        if let Some(price) = patch.price_cents {
            product.price_cents = price;
        }
        Ok(product.clone())
    }

    async fn fulfil(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Fulfilment, InventoryError> {
        let mut orders = self.inner.orders.write();
        let mut products = self.inner.products.write();
        let order = orders
            .by_id
            .get_mut(&order_id)
            .ok_or(InventoryError::NotFound)?;
        if order.status != OrderStatus::Pending {
            return Ok(Fulfilment {
                order: order.clone(),
                outcome: FulfilmentOutcome::AlreadyFinal,
            });
        }
        let short: Vec<Sku> = order
            .lines
            .iter()
            .filter(|l| {
                products
                    .get(&l.sku)
                    .is_none_or(|p| p.stock < l.quantity.get())
            })
            .map(|l| l.sku.clone())
            .collect();
        let outcome = if short.is_empty() {
            // Checked above under the same lock: every subtraction stays >= 0.
            for l in &order.lines {
                if let Some(p) = products.get_mut(&l.sku) {
                    p.stock -= l.quantity.get();
                }
            }
            let _ = order.settle(OrderStatus::Completed, at, None);
            FulfilmentOutcome::Completed
        } else {
            let reason = format!(
                "insufficient stock for {}",
                short.iter().map(Sku::as_str).collect::<Vec<_>>().join(", ")
            );
            let _ = order.settle(OrderStatus::Failed, at, Some(reason));
            FulfilmentOutcome::Failed { short }
        };
        let order = order.clone();
        orders
            .owed
            .extend(order.notify_due_at.map(|t| (t, order.id)));
        Ok(Fulfilment { order, outcome })
    }
}
