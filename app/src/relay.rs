//! Runs the outbox relay: the hand-off of freshly placed orders, the timed scan for
//! orders it missed, and the sweep of orders pending too long, until told to stop.

use crate::metrics::Metrics;
use orderflow_core::domain::Order;
use orderflow_core::ports::Handoff;
use orderflow_core::usecases::{OrderMessage, Relay};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

/// How often and for what age the sweep republishes stale pending orders.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    pub every: Duration,
    pub age: Duration,
}

pub async fn run_relay(
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    every: Duration,
    sweep: Sweep,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweep_tick = tokio::time::interval(sweep.every.max(Duration::from_millis(100)));
    sweep_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                if let Err(e) = relay.publish_due().await {
                    tracing::warn!(error = %e, "relay could not publish; will retry");
                }
                match relay.backlog().await {
                    Ok(n) => metrics.set_gauge("relay_backlog", n as f64),
                    Err(e) => tracing::debug!(error = %e, "could not count the relay backlog"),
                }
            }
            _ = sweep_tick.tick() => {
                if let Err(e) = relay.sweep(sweep.age).await {
                    tracing::warn!(error = %e, "sweep could not republish; will retry");
                }
            }
        }
    }
}

/// The in-process hand-off from requests to the relay: a bounded channel. A full or
/// closed channel drops the hint (the order is stored; the timed scan publishes it).
pub struct ChannelHandoff {
    tx: mpsc::Sender<OrderMessage>,
}

pub type HandoffReceiver = mpsc::Receiver<OrderMessage>;

pub fn handoff_channel(capacity: usize) -> (ChannelHandoff, HandoffReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (ChannelHandoff { tx }, rx)
}

impl Handoff for ChannelHandoff {
    fn offer(&self, order: &Order) {
        if let Err(e) = self.tx.try_send(OrderMessage::for_order(order)) {
            tracing::debug!(error = %e, order_id = %order.id, "hand-off not taken; the relay's scan will publish the order");
        }
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
        let first = if stopping {
            match rx.try_recv() {
                Ok(m) => m,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => break,
                },
                _ = stop.changed() => {
                    stopping = true;
                    continue;
                }
            }
        };
        let mut messages = Vec::with_capacity(batch);
        messages.push(first);
        while messages.len() < batch {
            match rx.try_recv() {
                Ok(m) => messages.push(m),
                Err(_) => break,
            }
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        while calls.try_join_next().is_some() {}
        let (relay, metrics) = (relay.clone(), metrics.clone());
        calls.spawn(async move {
            let _permit = permit;
            match relay.hand_off(&messages).await {
                Ok(()) => {
                    metrics.incr("relay_published_total", &[], messages.len() as u64);
                    metrics.incr("relay_publish_calls_total", &[], 1);
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    count = messages.len(),
                    "hand-off could not publish; the relay's scan will retry"
                ),
            }
        });
    }
    while calls.join_next().await.is_some() {}
}
