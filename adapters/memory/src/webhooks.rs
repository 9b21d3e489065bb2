use crate::MemoryStore;
use chrono::{DateTime, Utc};
use orderflow_core::domain::{
    AttemptId, DeliveryAttempt, OrderId, Webhook, WebhookEventId, WebhookId,
};
use orderflow_core::ports::{
    HandedOut, Lane, OwedEvents, WebhookDeliveries, WebhookEndpoints, WebhookRepoError,
};
use std::collections::{BTreeMap, VecDeque};

/// The newest tries kept per endpoint: the log is for looking into recent trouble, and
/// an embedded process must not grow without bound.
const KEPT_ATTEMPTS: usize = 1000;

/// Endpoints, their lanes and the delivery log.
#[derive(Default)]
pub(crate) struct Tables {
    hooks: BTreeMap<WebhookId, Webhook>,
    lanes: BTreeMap<(WebhookId, OrderId), LaneState>,
    /// Per endpoint, by attempt id (time order).
    attempts: BTreeMap<WebhookId, BTreeMap<AttemptId, DeliveryAttempt>>,
}

struct Queued {
    event: WebhookEventId,
    since: DateTime<Utc>,
    failures: u32,
}

struct LaneState {
    queue: VecDeque<Queued>,
    due_at: DateTime<Utc>,
    claimed_until: Option<DateTime<Utc>>,
}

impl Tables {
    fn enqueue(&mut self, hook: WebhookId, event: WebhookEventId, now: DateTime<Utc>, again: bool) {
        if !self.hooks.contains_key(&hook) {
            return;
        }
        let lane = self
            .lanes
            .entry((hook, event.order))
            .or_insert_with(|| LaneState {
                queue: VecDeque::new(),
                due_at: now,
                claimed_until: None,
            });
        if !again && lane.queue.iter().any(|q| q.event == event) {
            return;
        }
        if lane.queue.is_empty() {
            lane.due_at = now;
        }
        lane.queue.push_back(Queued {
            event,
            since: now,
            failures: 0,
        });
    }

    /// The lane if `claim` still holds it.
    fn held(&mut self, claim: &Lane) -> Option<&mut LaneState> {
        self.lanes
            .get_mut(&(claim.webhook, claim.order))
            .filter(|l| {
                l.claimed_until == Some(claim.claimed_until)
                    && l.queue.front().is_some_and(|q| q.event == claim.event)
            })
    }
}

#[async_trait::async_trait]
impl WebhookEndpoints for MemoryStore {
    async fn add_webhook(&self, hook: &Webhook) -> Result<(), WebhookRepoError> {
        self.inner
            .webhooks
            .lock()
            .hooks
            .insert(hook.id, hook.clone());
        Ok(())
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>, WebhookRepoError> {
        let mut all: Vec<Webhook> = self.inner.webhooks.lock().hooks.values().cloned().collect();
        all.sort_by_key(|h| (h.created_at, h.id));
        Ok(all)
    }

    async fn webhook(&self, id: WebhookId) -> Result<Option<Webhook>, WebhookRepoError> {
        Ok(self.inner.webhooks.lock().hooks.get(&id).cloned())
    }

    async fn remove_webhook(&self, id: WebhookId) -> Result<bool, WebhookRepoError> {
        let mut t = self.inner.webhooks.lock();
        t.lanes.retain(|(hook, _), _| *hook != id);
        t.attempts.remove(&id);
        Ok(t.hooks.remove(&id).is_some())
    }

    async fn replace_secrets(&self, hook: &Webhook) -> Result<bool, WebhookRepoError> {
        let mut t = self.inner.webhooks.lock();
        Ok(match t.hooks.get_mut(&hook.id) {
            Some(h) => {
                h.secrets = hook.secrets.clone();
                true
            }
            None => false,
        })
    }
}

#[async_trait::async_trait]
impl WebhookDeliveries for MemoryStore {
    async fn owed_events(&self, limit: usize) -> Result<Vec<OwedEvents>, WebhookRepoError> {
        let o = self.inner.orders.read();
        Ok(o.hooks_owed
            .iter()
            .filter_map(|(_, id)| o.by_id.get(id))
            .take(limit)
            .map(|order| OwedEvents {
                order: order.clone(),
                fanned: o.hooks_fanned.get(&order.id).copied().unwrap_or(0),
            })
            .collect())
    }

    async fn fan_out(
        &self,
        queue: &[(WebhookId, WebhookEventId)],
        handed: &[HandedOut],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError> {
        {
            let mut t = self.inner.webhooks.lock();
            for (hook, event) in queue {
                t.enqueue(*hook, *event, now, false);
            }
        }
        let mut guard = self.inner.orders.write();
        let o = &mut *guard;
        for h in handed {
            let Some(current) = o.by_id.get(&h.order) else {
                continue;
            };
            let still = o.hooks_fanned.get(&h.order).copied().unwrap_or(0) == h.fanned
                && current.history.len() == h.upto;
            let terminal = current.status.is_terminal();
            if !still || !o.hooks_owed.remove(&(current.updated_at, h.order)) {
                continue;
            }
            // A final order changes no more: nothing of it needs keeping.
            if terminal {
                o.hooks_fanned.remove(&h.order);
            } else {
                o.hooks_fanned.insert(h.order, h.upto);
            }
        }
        Ok(())
    }

    async fn forget_owed(&self, before: DateTime<Utc>) -> Result<usize, WebhookRepoError> {
        let mut guard = self.inner.orders.write();
        let o = &mut *guard;
        let after = before + chrono::Duration::milliseconds(1);
        let kept = o.hooks_owed.split_off(&(after, OrderId(uuid::Uuid::nil())));
        let old = std::mem::replace(&mut o.hooks_owed, kept);
        let mut forgotten = 0;
        for key in old {
            if o.by_id.get(&key.1).is_some_and(|x| !x.status.is_terminal()) {
                o.hooks_owed.insert(key);
            } else {
                o.hooks_fanned.remove(&key.1);
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }

    async fn claim_lane(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        skip: &[WebhookId],
    ) -> Result<Option<Lane>, WebhookRepoError> {
        let mut t = self.inner.webhooks.lock();
        let pick = t
            .lanes
            .iter()
            .filter(|((hook, _), l)| {
                !skip.contains(hook)
                    && l.due_at <= now
                    && l.claimed_until.is_none_or(|c| c <= now)
                    && !l.queue.is_empty()
            })
            .min_by_key(|(key, l)| (l.due_at, **key))
            .map(|(key, _)| *key);
        let Some(key) = pick else {
            return Ok(None);
        };
        let Some(lane) = t.lanes.get_mut(&key) else {
            return Ok(None);
        };
        lane.claimed_until = Some(until);
        Ok(lane.queue.front().map(|q| Lane {
            webhook: key.0,
            order: key.1,
            event: q.event,
            since: q.since,
            failures: q.failures,
            claimed_until: until,
        }))
    }

    async fn finish_head(&self, lane: &Lane, now: DateTime<Utc>) -> Result<(), WebhookRepoError> {
        let mut t = self.inner.webhooks.lock();
        let Some(l) = t.held(lane) else {
            return Ok(());
        };
        l.queue.pop_front();
        l.claimed_until = None;
        l.due_at = now;
        if l.queue.is_empty() {
            t.lanes.remove(&(lane.webhook, lane.order));
        }
        Ok(())
    }

    async fn retry_head(
        &self,
        lane: &Lane,
        failures: u32,
        due_at: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError> {
        let mut t = self.inner.webhooks.lock();
        if let Some(l) = t.held(lane) {
            if let Some(head) = l.queue.front_mut() {
                head.failures = failures;
            }
            l.claimed_until = None;
            l.due_at = due_at;
        }
        Ok(())
    }

    async fn enqueue(
        &self,
        webhook: WebhookId,
        event: WebhookEventId,
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRepoError> {
        self.inner
            .webhooks
            .lock()
            .enqueue(webhook, event, now, true);
        Ok(())
    }

    async fn record_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), WebhookRepoError> {
        let mut t = self.inner.webhooks.lock();
        if t.hooks.contains_key(&attempt.webhook) {
            t.attempts
                .entry(attempt.webhook)
                .or_default()
                .insert(attempt.id, attempt.clone());
            if let Some(log) = t.attempts.get_mut(&attempt.webhook) {
                while log.len() > KEPT_ATTEMPTS {
                    log.pop_first();
                }
            }
        }
        Ok(())
    }

    async fn attempts(
        &self,
        webhook: WebhookId,
        before: Option<AttemptId>,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, WebhookRepoError> {
        let t = self.inner.webhooks.lock();
        let Some(log) = t.attempts.get(&webhook) else {
            return Ok(Vec::new());
        };
        let range = match before {
            Some(b) => log.range(..b),
            None => log.range(..),
        };
        Ok(range.rev().take(limit).map(|(_, a)| a.clone()).collect())
    }
}
