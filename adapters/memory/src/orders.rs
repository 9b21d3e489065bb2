use crate::MemoryStore;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{
    IdempotencyKey, Order, OrderCursor, OrderId, OrderPage, OrderStatus, PublishRefusal, UserId,
};
use orderflow_core::ports::{NotificationLedger, OrderRepoError, Orders, Outbox};
use std::ops::Bound;

#[async_trait::async_trait]
impl Orders for MemoryStore {
    async fn insert(&self, order: &Order) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        if let Some(key) = &order.idempotency_key {
            let k = (order.user_id, key.clone());
            if o.by_key.contains_key(&k) {
                return Err(OrderRepoError::DuplicateIdempotencyKey);
            }
            o.by_key.insert(k, order.id);
        }
        let list_key = (order.created_at, order.id);
        o.by_user.entry(order.user_id).or_default().insert(list_key);
        if !order.published {
            o.unpublished.insert(list_key);
        }
        if let Some(due) = order.notify_due_at {
            o.owed.insert((due, order.id));
        }
        o.by_id.insert(order.id, order.clone());
        Ok(())
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, OrderRepoError> {
        Ok(self.inner.orders.read().by_id.get(&id).cloned())
    }

    async fn by_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<Order>, OrderRepoError> {
        let o = self.inner.orders.read();
        Ok(o.by_key
            .get(&(user, key.clone()))
            .and_then(|id| o.by_id.get(id))
            .cloned())
    }

    async fn list_for_user(
        &self,
        user: UserId,
        limit: usize,
        cursor: Option<OrderCursor>,
    ) -> Result<OrderPage, OrderRepoError> {
        let o = self.inner.orders.read();
        let Some(keys) = o.by_user.get(&user) else {
            return Ok(OrderPage {
                items: Vec::new(),
                next: None,
            });
        };
        let upper = match cursor {
            Some(c) => Bound::Excluded((c.created_at, c.id)),
            None => Bound::Unbounded,
        };
        // One extra tells whether another page exists without a second query.
        let items: Vec<Order> = keys
            .range((Bound::Unbounded, upper))
            .rev()
            .take(limit + 1)
            .filter_map(|(_, id)| o.by_id.get(id).cloned())
            .collect();
        Ok(OrderPage::from_overfetch(items, limit))
    }

    async fn cancel(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<Order, OrderRepoError> {
        let mut o = self.inner.orders.write();
        let order = o.by_id.get_mut(&id).ok_or(OrderRepoError::NotFound)?;
        order
            .transition(OrderStatus::Cancelled, at, reason)
            .map_err(OrderRepoError::InvalidState)?;
        Ok(order.clone())
    }
}

#[async_trait::async_trait]
impl Outbox for MemoryStore {
    async fn unpublished(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError> {
        let o = self.inner.orders.read();
        Ok(o.unpublished
            .iter()
            .take_while(|(at, _)| *at < created_before)
            .filter_map(|(_, id)| o.by_id.get(id))
            .filter(|x| {
                x.publish_refusal
                    .as_ref()
                    .is_none_or(|r| !r.set_aside && r.retry_at <= now)
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn refuse_publication(
        &self,
        id: OrderId,
        refusal: &PublishRefusal,
    ) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        if let Some(order) = o.by_id.get_mut(&id).filter(|x| !x.published) {
            order.publish_refusal = Some(refusal.clone());
        }
        Ok(())
    }

    async fn set_aside(&self, limit: usize) -> Result<Vec<Order>, OrderRepoError> {
        let o = self.inner.orders.read();
        Ok(o.unpublished
            .iter()
            .filter_map(|(_, id)| o.by_id.get(id))
            .filter(|x| x.publish_refusal.as_ref().is_some_and(|r| r.set_aside))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn count_set_aside(&self, cap: usize) -> Result<usize, OrderRepoError> {
        Ok(self.set_aside(cap).await?.len())
    }

    async fn retry_set_aside(&self, id: OrderId) -> Result<bool, OrderRepoError> {
        let mut o = self.inner.orders.write();
        let order = o.by_id.get_mut(&id).ok_or(OrderRepoError::NotFound)?;
        if order.published || !order.publish_refusal.as_ref().is_some_and(|r| r.set_aside) {
            return Ok(false);
        }
        order.publish_refusal = None;
        Ok(true)
    }

    async fn mark_published(&self, ids: &[OrderId]) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        for id in ids {
            let Some(order) = o.by_id.get_mut(id) else {
                continue;
            };
            order.published = true;
            order.publish_refusal = None;
            let key = (order.created_at, order.id);
            o.unpublished.remove(&key);
        }
        Ok(())
    }

    async fn count_unpublished(&self, cap: usize) -> Result<usize, OrderRepoError> {
        Ok(self.inner.orders.read().unpublished.len().min(cap))
    }

    async fn stale_pending(
        &self,
        older_than: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError> {
        let o = self.inner.orders.read();
        let mut stale: Vec<Order> = o
            .by_id
            .values()
            .filter(|x| {
                x.status == OrderStatus::Pending && x.published && x.created_at < older_than
            })
            .filter(|x| x.swept_at.is_none_or(|s| s < older_than))
            .cloned()
            .collect();
        stale.sort_by_key(|x| (x.created_at, x.id));
        stale.truncate(limit);
        Ok(stale)
    }

    async fn mark_swept(&self, ids: &[OrderId], at: DateTime<Utc>) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        for id in ids {
            if let Some(order) = o.by_id.get_mut(id) {
                order.swept_at = Some(at);
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl NotificationLedger for MemoryStore {
    async fn claim_notification(
        &self,
        id: OrderId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, OrderRepoError> {
        let mut o = self.inner.orders.write();
        let order = o.by_id.get(&id).ok_or(OrderRepoError::NotFound)?;
        if order.notified || o.claims.get(&id).is_some_and(|t| *t > now) {
            return Ok(false);
        }
        o.claims.insert(id, until);
        Ok(true)
    }

    async fn finish_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        let order = o.by_id.get_mut(&id).ok_or(OrderRepoError::NotFound)?;
        order.notified = true;
        o.claims.remove(&id);
        o.set_due(id, None);
        Ok(())
    }

    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, OrderRepoError> {
        let o = self.inner.orders.read();
        Ok(o.owed
            .iter()
            .take_while(|(at, _)| *at <= now)
            .filter(|(_, id)| o.claims.get(id).is_none_or(|t| *t <= now))
            .filter_map(|(_, id)| o.by_id.get(id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn defer_notification(
        &self,
        id: OrderId,
        due_at: DateTime<Utc>,
        failures: u32,
    ) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        o.claims.remove(&id);
        let order = o.by_id.get_mut(&id).ok_or(OrderRepoError::NotFound)?;
        if !order.notified {
            order.notify_failures = failures;
            o.set_due(id, Some(due_at));
        }
        Ok(())
    }

    async fn abandon_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        if !o.by_id.contains_key(&id) {
            return Err(OrderRepoError::NotFound);
        }
        o.claims.remove(&id);
        o.set_due(id, None);
        Ok(())
    }

    async fn count_owed_notifications(&self, cap: usize) -> Result<usize, OrderRepoError> {
        Ok(self.inner.orders.read().owed.len().min(cap))
    }

    async fn release_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        o.claims.remove(&id);
        Ok(())
    }
}
