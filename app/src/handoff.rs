//! The hand-off of freshly placed orders to the relay: a bounded in-process channel
//! from the requests (`ChannelHandoff`) to the task that publishes them in batches
//! (`run_handoff`). What it drops, the relay's timed scan (`relay.rs`) publishes.

use crate::metrics::Metrics;
use orderflow_core::domain::{Order, OrderId};
use orderflow_core::ports::Handoff;
use orderflow_core::usecases::{OrderMessage, Relay};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

/// The in-process hand-off from requests to the relay: a bounded channel. A full or
/// closed channel drops the hint (the order is stored; the timed scan publishes it).
pub struct ChannelHandoff {
    tx: mpsc::Sender<OrderMessage>,
    held: Arc<Held>,
}

/// Orders the hand-off has taken and not yet finished publishing.
#[derive(Default)]
struct Held(Mutex<HashSet<OrderId>>);

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<OrderId>> {
        // The set is only ever inserted into or removed from: a panic elsewhere cannot
        // leave it half-changed, so a poisoned lock is still good to use.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The relay's end of the hand-off.
pub struct HandoffReceiver {
    rx: mpsc::Receiver<OrderMessage>,
    held: Arc<Held>,
}

/// Messages taken from the hand-off. Dropping the batch (after its publish call ended,
/// either way) releases its orders to the scan.
pub struct HeldBatch {
    messages: Vec<OrderMessage>,
    held: Arc<Held>,
}

impl std::ops::Deref for HeldBatch {
    type Target = [OrderMessage];
    fn deref(&self) -> &[OrderMessage] {
        &self.messages
    }
}

impl Drop for HeldBatch {
    fn drop(&mut self) {
        let mut held = self.held.lock();
        for m in &self.messages {
            held.remove(&m.order_id);
        }
    }
}

impl HandoffReceiver {
    /// Whatever is waiting, up to `max` messages; `None` when nothing is.
    pub fn try_batch(&mut self, max: usize) -> Option<HeldBatch> {
        let first = self.rx.try_recv().ok()?;
        Some(self.fill(first, max))
    }

    /// Waits for a first message, then takes whatever else is waiting, up to `max`;
    /// `None` once every sender is gone.
    pub async fn batch(&mut self, max: usize) -> Option<HeldBatch> {
        let first = self.rx.recv().await?;
        Some(self.fill(first, max))
    }

    fn fill(&mut self, first: OrderMessage, max: usize) -> HeldBatch {
        let mut messages = Vec::with_capacity(max.max(1));
        messages.push(first);
        while messages.len() < max {
            match self.rx.try_recv() {
                Ok(m) => messages.push(m),
                Err(_) => break,
            }
        }
        HeldBatch {
            messages,
            held: self.held.clone(),
        }
    }
}

pub fn handoff_channel(capacity: usize) -> (ChannelHandoff, HandoffReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let held = Arc::new(Held::default());
    (
        ChannelHandoff {
            tx,
            held: held.clone(),
        },
        HandoffReceiver { rx, held },
    )
}

impl Handoff for ChannelHandoff {
    fn offer(&self, order: &Order) {
        // Held before it is sent, so the relay can never release it before it is held.
        self.held.lock().insert(order.id);
        if let Err(e) = self.tx.try_send(OrderMessage::for_order(order)) {
            self.held.lock().remove(&order.id);
            tracing::debug!(error = %e, order_id = %order.id, "hand-off not taken; the relay's scan will publish the order");
        }
    }

    fn holds(&self, id: &OrderId) -> bool {
        self.held.lock().contains(id)
    }
}

/// Publishes handed-over orders as they come: whatever is waiting (up to `batch`) goes
/// in one call, so a lone order leaves at once and a burst leaves ten to a call, with
/// at most `concurrency` calls in flight. On stop, what is still buffered is published
/// before returning.
pub async fn run_handoff(
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    mut rx: HandoffReceiver,
    batch: usize,
    concurrency: usize,
    mut stop: watch::Receiver<bool>,
) {
    let batch = batch.clamp(1, 10);
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut calls = JoinSet::new();
    let mut stopping = false;
    loop {
        let messages = if stopping {
            match rx.try_batch(batch) {
                Some(b) => b,
                None => break,
            }
        } else {
            tokio::select! {
                b = rx.batch(batch) => match b {
                    Some(b) => b,
                    None => break,
                },
                _ = stop.changed() => {
                    stopping = true;
                    continue;
                }
            }
        };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        while calls.try_join_next().is_some() {}
        let (relay, metrics) = (relay.clone(), metrics.clone());
        calls.spawn(async move {
            let _permit = permit;
            match relay.hand_off(&messages).await {
                Ok(done) => {
                    metrics.relay_published.inc_by(done.published as u64);
                    metrics.relay_refused.inc_by(done.refused as u64);
                    metrics.relay_publish_calls.inc();
                }
                Err(e) => {
                    metrics.relay_failures.inc();
                    tracing::warn!(
                        error = %e,
                        source = ?e,
                        count = messages.len(),
                        "hand-off could not publish; the relay's scan will retry"
                    )
                }
            }
        });
    }
    while calls.join_next().await.is_some() {}
}
