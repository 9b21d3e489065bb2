//! The worker's webhook tasks: one hands new status changes to the endpoints that want
//! them; the other sends what is due, up to `webhooks.concurrency` at once and
//! `webhooks.per_endpoint` to one endpoint, so a slow endpoint holds only its share.
//! Lanes are claimed in the store, so every worker process of the fleet can run these.

use crate::idle_pace::IdlePace;
use crate::metrics::Metrics;
use orderflow_core::domain::WebhookId;
use orderflow_core::usecases::WebhookDispatch;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub every: Duration,
    /// The longest pause between looks that find nothing.
    pub idle_max: Duration,
    pub batch: usize,
    pub concurrency: usize,
    pub per_endpoint: usize,
}

/// Hands status changes out: at once again after a full batch, every `every` while
/// there were some, less often (up to `idle_max`) while there are none.
pub async fn run_fan_out(
    dispatch: Arc<WebhookDispatch>,
    metrics: Arc<Metrics>,
    pace: Pace,
    mut stop: watch::Receiver<bool>,
) {
    let mut idle = IdlePace::new(pace.every, pace.idle_max);
    loop {
        let pause = match dispatch.fan_out(pace.batch).await {
            Ok(n) if n.handed >= pace.batch => {
                metrics.webhook_fanned_out.inc_by(n.handed as u64);
                Duration::ZERO
            }
            Ok(n) => {
                metrics.webhook_fanned_out.inc_by(n.handed as u64);
                idle.after(n.handed + n.forgotten > 0)
            }
            Err(e) => {
                tracing::warn!(error = %e, source = ?e, "could not hand out webhook events; will retry");
                pace.every
            }
        };
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Sends due deliveries until stopped, then waits for the sends in flight (each is
/// bounded by `webhooks.timeout_ms`; one cut short is tried again after its claim).
pub async fn run_sender(
    dispatch: Arc<WebhookDispatch>,
    metrics: Arc<Metrics>,
    pace: Pace,
    mut stop: watch::Receiver<bool>,
) {
    let mut idle = IdlePace::new(pace.every, pace.idle_max);
    let mut sends: JoinSet<()> = JoinSet::new();
    // Which endpoint each send in flight is for (also when a send panics).
    let mut sending: HashMap<tokio::task::Id, WebhookId> = HashMap::new();
    let mut per_hook: HashMap<WebhookId, usize> = HashMap::new();
    loop {
        let mut claimed = false;
        while sends.len() < pace.concurrency {
            let busy: Vec<WebhookId> = per_hook
                .iter()
                .filter(|(_, n)| **n >= pace.per_endpoint)
                .map(|(h, _)| *h)
                .collect();
            let lane = match dispatch.claim(&busy).await {
                Ok(Some(lane)) => {
                    claimed = true;
                    lane
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, source = ?e, "could not claim a webhook delivery; will retry");
                    break;
                }
            };
            *per_hook.entry(lane.webhook).or_default() += 1;
            let (dispatch, metrics) = (dispatch.clone(), metrics.clone());
            let hook = lane.webhook;
            let task = sends.spawn(async move {
                match dispatch.send(&lane).await {
                    Ok(sent) => metrics.count_webhook(&sent, hook),
                    Err(e) => {
                        tracing::warn!(error = %e, source = ?e, "webhook delivery failed to run; its claim lapses and it is tried again");
                    }
                }
            });
            sending.insert(task.id(), hook);
        }
        // Sends in flight end with a look of their own (below).
        let pause = if claimed || !sends.is_empty() {
            idle.after(true)
        } else {
            idle.after(false)
        };
        tokio::select! {
            _ = stop.changed() => break,
            Some(done) = sends.join_next_with_id(), if !sends.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                if let Some(hook) = sending.remove(&id) {
                    release(&mut per_hook, hook);
                }
            }
            () = tokio::time::sleep(pause) => {}
        }
    }
    while sends.join_next().await.is_some() {}
}

fn release(per_hook: &mut HashMap<WebhookId, usize>, hook: WebhookId) {
    if let Some(n) = per_hook.get_mut(&hook) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_hook.remove(&hook);
        }
    }
}
