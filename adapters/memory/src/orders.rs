use crate::MemoryStore;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{
    IdempotencyKey, Order, OrderCursor, OrderId, OrderPage, OrderSearch, OrderStatus,
    PublishRefusal, UserId,
};
use orderflow_core::ports::{
    NotificationLedger, OrderRepoError, Orders, Outbox, OwedEmail, PendingOrders, SetAside,
    Unpublished,
};
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
        o.by_time.insert(list_key);
        o.unpublished.insert(list_key);
        o.by_id.insert(order.id, order.clone());
        o.owe_hooks(order, order.updated_at);
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

    async fn search(
        &self,
        filter: &OrderSearch,
        limit: usize,
        cursor: Option<OrderCursor>,
    ) -> Result<OrderPage, OrderRepoError> {
        let o = self.inner.orders.read();
        // A user filter walks that user's list; anything else walks every order.
        let keys = match filter.user_id {
            Some(user) => match o.by_user.get(&user) {
                Some(keys) => keys,
                None => return Ok(OrderPage::from_overfetch(Vec::new(), limit)),
            },
            None => &o.by_time,
        };
        // The time filters and the cursor bound the walk; `matches` checks the rest.
        let first_at = |t| (t, OrderId(uuid::Uuid::nil()));
        let upper = match (
            filter.created_to.map(first_at),
            cursor.map(|c| (c.created_at, c.id)),
        ) {
            (Some(a), Some(b)) => Bound::Excluded(a.min(b)),
            (Some(a), None) | (None, Some(a)) => Bound::Excluded(a),
            (None, None) => Bound::Unbounded,
        };
        let lower = match filter.created_from {
            Some(t) => Bound::Included(first_at(t)),
            None => Bound::Unbounded,
        };
        if matches!((&lower, &upper), (Bound::Included(l), Bound::Excluded(u)) if l >= u) {
            return Ok(OrderPage::from_overfetch(Vec::new(), limit));
        }
        let items: Vec<Order> = keys
            .range((lower, upper))
            .rev()
            .filter_map(|(_, id)| o.by_id.get(id))
            .filter(|x| filter.matches(x))
            .take(limit + 1)
            .cloned()
            .collect();
        Ok(OrderPage::from_overfetch(items, limit))
    }

    async fn cancel(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        reason: Option<String>,
        email_owed: bool,
    ) -> Result<Order, OrderRepoError> {
        let mut o = self.inner.orders.write();
        let order = o.by_id.get_mut(&id).ok_or(OrderRepoError::NotFound)?;
        let was = order.updated_at;
        order
            .transition(OrderStatus::Cancelled, at, reason)
            .map_err(OrderRepoError::InvalidState)?;
        let order = order.clone();
        o.owe_hooks(&order, was);
        if email_owed {
            o.set_due(id, Some(at));
        }
        Ok(order)
    }
}

#[async_trait::async_trait]
impl Outbox for MemoryStore {
    async fn unpublished(
        &self,
        created_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Unpublished>, OrderRepoError> {
        let o = self.inner.orders.read();
        Ok(o.unpublished
            .iter()
            .take_while(|(at, _)| *at < created_before)
            .filter_map(|(_, id)| {
                let refusal = o.refusals.get(id);
                refusal
                    .is_none_or(|r| !r.set_aside && r.retry_at <= now)
                    .then(|| o.by_id.get(id))
                    .flatten()
                    .map(|order| Unpublished {
                        order: order.clone(),
                        refusal: refusal.cloned(),
                    })
            })
            .take(limit)
            .collect())
    }

    async fn refuse_publication(
        &self,
        id: OrderId,
        refusal: &PublishRefusal,
    ) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        if o.by_id.get(&id).is_some_and(|x| !o.is_published(x)) {
            o.refusals.insert(id, refusal.clone());
        }
        Ok(())
    }

    async fn set_aside(&self, limit: usize) -> Result<Vec<SetAside>, OrderRepoError> {
        let o = self.inner.orders.read();
        Ok(o.unpublished
            .iter()
            .filter_map(|(_, id)| {
                let refusal = o.refusals.get(id).filter(|r| r.set_aside)?;
                Some(SetAside {
                    order: o.by_id.get(id)?.clone(),
                    refusal: refusal.clone(),
                })
            })
            .take(limit)
            .collect())
    }

    async fn count_set_aside(&self, cap: usize) -> Result<usize, OrderRepoError> {
        Ok(self.set_aside(cap).await?.len())
    }

    async fn retry_set_aside(&self, id: OrderId) -> Result<bool, OrderRepoError> {
        let mut o = self.inner.orders.write();
        let order = o.by_id.get(&id).ok_or(OrderRepoError::NotFound)?;
        if o.is_published(order) || !o.refusals.get(&id).is_some_and(|r| r.set_aside) {
            return Ok(false);
        }
        o.refusals.remove(&id);
        Ok(true)
    }

    async fn mark_published(&self, ids: &[OrderId]) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        for id in ids {
            let Some(order) = o.by_id.get(id) else {
                continue;
            };
            let key = (order.created_at, order.id);
            o.unpublished.remove(&key);
            o.refusals.remove(id);
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
                x.status == OrderStatus::Pending && x.created_at < older_than && o.is_published(x)
            })
            .filter(|x| o.swept.get(&x.id).is_none_or(|s| *s < older_than))
            .cloned()
            .collect();
        stale.sort_by_key(|x| (x.created_at, x.id));
        stale.truncate(limit);
        Ok(stale)
    }

    /// A pass over every order under the read lock: the workers look once every
    /// `ops.gauge_interval_ms`, and an index kept in step with every placement and
    /// settlement would cost each of those instead.
    async fn pending_orders(&self, cap: usize) -> Result<PendingOrders, OrderRepoError> {
        let o = self.inner.orders.read();
        let mut found = PendingOrders {
            count: 0,
            oldest: None,
        };
        for x in o
            .by_id
            .values()
            .filter(|x| x.status == OrderStatus::Pending)
        {
            found.count = (found.count + 1).min(cap);
            found.oldest = Some(found.oldest.map_or(x.created_at, |t| t.min(x.created_at)));
        }
        Ok(found)
    }

    async fn mark_swept(&self, ids: &[OrderId], at: DateTime<Utc>) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        for id in ids {
            if o.by_id.contains_key(id) {
                o.swept.insert(*id, at);
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
        if !o.by_id.contains_key(&id) {
            return Err(OrderRepoError::NotFound);
        }
        if o.notified.contains(&id) || o.claims.get(&id).is_some_and(|t| *t > now) {
            return Ok(false);
        }
        o.claims.insert(id, until);
        Ok(true)
    }

    async fn finish_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        if !o.by_id.contains_key(&id) {
            return Err(OrderRepoError::NotFound);
        }
        o.notified.insert(id);
        o.claims.remove(&id);
        o.set_due(id, None);
        Ok(())
    }

    async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OwedEmail>, OrderRepoError> {
        let o = self.inner.orders.read();
        Ok(o.owed
            .iter()
            .take_while(|(at, _)| *at <= now)
            .filter(|(_, id)| o.claims.get(id).is_none_or(|t| *t <= now))
            .filter_map(|(due_at, id)| {
                Some(OwedEmail {
                    order: o.by_id.get(id)?.clone(),
                    due_at: *due_at,
                    failures: o.emails.get(id).map_or(0, |e| e.failures),
                })
            })
            .take(limit)
            .collect())
    }

    async fn defer_notification(
        &self,
        id: OrderId,
        due_at: DateTime<Utc>,
        failures: u32,
    ) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        if !o.by_id.contains_key(&id) {
            return Err(OrderRepoError::NotFound);
        }
        o.claims.remove(&id);
        // A send that succeeded meanwhile, or a give-up, wins: nothing is owed any more.
        if o.emails.contains_key(&id) {
            o.set_due(id, Some(due_at));
            if let Some(e) = o.emails.get_mut(&id) {
                e.failures = failures;
            }
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

    async fn count_failing_notifications(&self, cap: usize) -> Result<usize, OrderRepoError> {
        let o = self.inner.orders.read();
        Ok(o.emails
            .values()
            .filter(|e| e.failures > 0)
            .take(cap)
            .count())
    }

    async fn release_notification(&self, id: OrderId) -> Result<(), OrderRepoError> {
        let mut o = self.inner.orders.write();
        o.claims.remove(&id);
        Ok(())
    }

    async fn make_due(&self, now: DateTime<Utc>) -> Result<usize, OrderRepoError> {
        let mut o = self.inner.orders.write();
        let later: Vec<OrderId> = o
            .owed
            .iter()
            .skip_while(|(at, _)| *at <= now)
            .map(|(_, id)| *id)
            .collect();
        for id in &later {
            o.set_due(*id, Some(now));
        }
        Ok(later.len())
    }
}
