//! The hand-off of freshly placed orders to the relay: a bounded in-process channel
//! from the requests (`ChannelHandoff`) to the task that publishes them in batches
//! (`run_handoff`). What it drops, the relay's timed scan (`relay.rs`) publishes.

use crate::metrics::Metrics;
use orderflow_core::domain::{Order, OrderId};
use orderflow_core::ports::Handoff;
use orderflow_core::usecases::{OrderMessage, Relay};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
        let mut messages = vec![self.rx.try_recv().ok()?];
        while messages.len() < max {
            match self.rx.try_recv() {
                Ok(m) => messages.push(m),
                Err(_) => break,
            }
        }
        Some(self.held(messages))
    }

    /// The next message; `None` once every sender is gone. Cancel-safe.
    pub async fn first(&mut self) -> Option<OrderMessage> {
        self.rx.recv().await
    }

    /// A batch of `first` and what else arrives within `linger`, up to `max`.
    pub async fn fill(&mut self, first: OrderMessage, max: usize, linger: Duration) -> HeldBatch {
        let mut messages = Vec::with_capacity(max.max(1));
        messages.push(first);
        crate::gather::fill(&mut self.rx, &mut messages, max, linger).await;
        self.held(messages)
    }

    fn held(&self, messages: Vec<OrderMessage>) -> HeldBatch {
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

/// Publishes handed-over orders as they come: a call waits up to `linger` after its
/// first order for its batch to fill (up to `batch`), so a burst leaves ten to a call
/// and a steady stream leaves in full batches too (SQS bills per call), with at most
/// `concurrency` calls in flight. On stop, what is still buffered is published at once
/// before returning.
pub async fn run_handoff(
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    mut rx: HandoffReceiver,
    batch: usize,
    linger: Duration,
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
            let first = tokio::select! {
                m = rx.first() => match m {
                    Some(m) => m,
                    None => break,
                },
                _ = stop.changed() => {
                    stopping = true;
                    continue;
                }
            };
            // Not raced with the stop: a message taken is in the batch it returns.
            rx.fill(first, batch, linger).await
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
