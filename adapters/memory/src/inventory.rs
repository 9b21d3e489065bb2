use crate::MemoryStore;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{OrderId, Product, ProductCursor, ProductPage, ProductPatch, Sku};
use orderflow_core::ports::{
    Fulfilment, FulfilmentOutcome, InventoryError, InventoryRepo, OrderSettlement,
};
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
}

#[async_trait::async_trait]
impl OrderSettlement for MemoryStore {
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
        let settlement = match order.settlement(|sku| products.get(sku).map(|p| p.stock), at) {
            Ok(s) => s,
            Err(_) => {
                return Ok(Fulfilment {
                    order: order.clone(),
                    outcome: FulfilmentOutcome::AlreadyFinal,
                    email_claimed_until: None,
                })
            }
        };
        let was = order.updated_at;
        // Both locks are held from the read of the stock to here, so the order is still
        // pending and every product still covers what the settlement takes.
        if let Err(now) = order.apply(&settlement) {
            return Err(InventoryError::Unavailable(
                format!(
                    "a pending order refused its settlement from {}",
                    now.as_str()
                )
                .into(),
            ));
        }
        for (sku, n) in settlement.takes(order) {
            if let Some(p) = products.get_mut(sku) {
                p.stock = p.stock.saturating_sub(n);
            }
        }
        let order = order.clone();
        orders.set_due(order.id, Some(settlement.email_due_at()));
        orders.owe_hooks(&order, was);
        Ok(Fulfilment {
            order,
            outcome: settlement.into_outcome(),
            email_claimed_until: None,
        })
    }
}
