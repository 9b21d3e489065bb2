use crate::docs::ProductDoc;
use crate::errors::is_duplicate;
use crate::MongoStore;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;
use orderflow_core::domain::{OrderId, Product, ProductCursor, ProductPage, ProductPatch, Sku};
use orderflow_core::ports::{Fulfilment, InventoryError, InventoryRepo, OrderSettlement};

pub(crate) fn unavailable(e: impl Into<orderflow_core::BoxError>) -> InventoryError {
    InventoryError::Unavailable(e.into())
}

#[async_trait::async_trait]
impl InventoryRepo for MongoStore {
    async fn insert(&self, product: &Product) -> Result<(), InventoryError> {
        match tokio::time::timeout(
            self.op_timeout,
            self.products.insert_one(ProductDoc::from(product)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if is_duplicate(&e) => Err(InventoryError::DuplicateSku),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(unavailable("mongodb insert timed out")),
        }
    }

    async fn get(&self, sku: &Sku) -> Result<Option<Product>, InventoryError> {
        let d = self
            .bounded(self.products.find_one(doc! {"_id": sku.as_str()}))
            .await
            .map_err(unavailable)?;
        d.map(Product::try_from).transpose().map_err(unavailable)
    }

    async fn get_many(&self, skus: &[Sku]) -> Result<Vec<Product>, InventoryError> {
        let ids: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        let docs: Vec<ProductDoc> = self
            .bounded(async {
                self.products
                    .find(doc! {"_id": {"$in": ids}})
                    .await?
                    .try_collect()
                    .await
            })
            .await
            .map_err(unavailable)?;
        docs.into_iter()
            .map(|d| Product::try_from(d).map_err(unavailable))
            .collect()
    }

    async fn list(
        &self,
        limit: usize,
        after: Option<&ProductCursor>,
    ) -> Result<ProductPage, InventoryError> {
        let filter = match after {
            Some(c) => doc! {"_id": {"$gt": c.0.as_str()}},
            None => doc! {},
        };
        let limit = limit.min(1000);
        let docs: Vec<ProductDoc> = self
            .bounded(async {
                self.products
                    .find(filter)
                    .sort(doc! {"_id": 1})
                    .limit(limit as i64 + 1)
                    .await?
                    .try_collect()
                    .await
            })
            .await
            .map_err(unavailable)?;
        let items = docs
            .into_iter()
            .map(|d| Product::try_from(d).map_err(unavailable))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProductPage::from_overfetch(items, limit))
    }

    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> Result<Product, InventoryError> {
        let mut filter = doc! {"_id": sku.as_str()};
        let mut set = Document::new();
        if let Some(n) = &patch.name {
            set.insert("name", n.as_str());
        }
        if let Some(p) = patch.price_cents {
            set.insert("price_cents", p.cents());
        }
        let mut update = Document::new();
        if let Some(d) = patch.stock_delta.filter(|d| *d != 0) {
            // The guard makes the relative change atomic and bounded: no read-modify-write.
            if d < 0 {
                filter.insert("stock", doc! {"$gte": -d});
            } else {
                filter.insert("stock", doc! {"$lte": i64::from(Product::MAX_STOCK) - d});
            }
            update.insert("$inc", doc! {"stock": d});
        }
        if !set.is_empty() {
            update.insert("$set", set);
        }
        if update.is_empty() {
            return self.get(sku).await?.ok_or(InventoryError::NotFound);
        }
        let updated = self
            .bounded(
                self.products
                    .find_one_and_update(filter, update)
                    .return_document(ReturnDocument::After),
            )
            .await
            .map_err(unavailable)?;
        match updated {
            Some(d) => Product::try_from(d).map_err(unavailable),
            None => match self.get(sku).await? {
                None => Err(InventoryError::NotFound),
                Some(_) if patch.stock_delta.unwrap_or(0) < 0 => {
                    Err(InventoryError::InsufficientStock)
                }
                Some(_) => Err(InventoryError::StockLimit),
            },
        }
    }
}

#[async_trait::async_trait]
impl OrderSettlement for MongoStore {
    async fn fulfil(
        &self,
        order: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Fulfilment, InventoryError> {
        self.fulfil_many(&[order], at, None)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(InventoryError::Unavailable("not settled".into())))
    }

    async fn fulfil_many(
        &self,
        orders: &[OrderId],
        at: DateTime<Utc>,
        email_claim: Option<DateTime<Utc>>,
    ) -> Vec<Result<Fulfilment, InventoryError>> {
        let all = tokio::time::timeout(
            self.txn_timeout,
            self.fulfil_many_held(orders, at, email_claim),
        );
        let failed = |why: String| {
            orders
                .iter()
                .map(|_| Err(InventoryError::Unavailable(why.clone().into())))
                .collect()
        };
        match all.await {
            Ok(Ok(outcomes)) => outcomes,
            Ok(Err(e)) => failed(e.to_string()),
            Err(_) => failed(format!("settlement exceeded {:?}", self.txn_timeout)),
        }
    }
}
