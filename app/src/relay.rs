//! Runs the outbox relay: the hand-off of freshly placed orders and the timed scan for
//! orders it missed, until told to stop. (The sweep of orders pending too long is
//! `sweeper`'s: one process of the fleet runs it.)

use crate::metrics::Metrics;
use orderflow_core::domain::{Order, OrderId};
use orderflow_core::ports::Handoff;
use orderflow_core::usecases::{OrderMessage, Relay, Relayed};
use orderflow_core::BoxError;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

pub async fn run_relay(
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff = Backoff::new(every);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                if backoff.waiting() {
                    continue;
                }
                if let Err(e) = scan_once(&relay, &metrics).await {
                    let wait = backoff.fail();
                    tracing::warn!(error = %e, source = ?e, retry_in_ms = wait.as_millis() as u64, "relay could not publish; will retry");
                } else {
                    backoff.reset();
                }
            }
        }
    }
}

/// One pass of the timed scan: publishes what is due, then refreshes the relay's
/// gauges (also after a failed publish, so an outage shows in the backlog).
pub async fn scan_once(relay: &Relay, metrics: &Metrics) -> Result<Relayed, BoxError> {
    let done = relay.publish_due().await;
    if let Ok(d) = &done {
        metrics.relay_refused.inc_by(d.refused as u64);
    }
    match relay.backlog().await {
        Ok(n) => {
            metrics
                .relay_backlog
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::debug!(error = %e, "could not count the relay backlog"),
    }
    match relay.set_aside_count().await {
        Ok(n) => {
            metrics
                .relay_set_aside
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::debug!(error = %e, "could not count the set-aside orders"),
    }
    done
}

/// Spaces out the scan's attempts while publishing fails. A publish that timed out may
/// still have been queued, so each retry can add a copy of the same orders: retrying on
/// every tick against a slow queue makes it slower still (the soak's numbers are in
/// BENCHMARKS.md). Pauses from one to two ticks, growing up to `MAX`, bound the copies.
struct Backoff {
    pauses: orderflow_core::retry::Backoff,
    failures: u32,
    until: Option<tokio::time::Instant>,
}

impl Backoff {
    const MAX: Duration = Duration::from_secs(10);

    fn new(every: Duration) -> Self {
        Self {
            pauses: orderflow_core::retry::Backoff::new(
                every.saturating_mul(2),
                Self::MAX.max(every),
            ),
            failures: 0,
            until: None,
        }
    }

    fn waiting(&self) -> bool {
        self.until.is_some_and(|t| tokio::time::Instant::now() < t)
    }

    fn reset(&mut self) {
        self.failures = 0;
        self.until = None;
    }

    fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let wait = self.pauses.after(self.failures);
        self.until = Some(tokio::time::Instant::now() + wait);
        wait
    }
}

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
                Err(e) => tracing::warn!(
                    error = %e,
                    source = ?e,
                    count = messages.len(),
                    "hand-off could not publish; the relay's scan will retry"
                ),
            }
        });
    }
    while calls.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn the_scan_backs_off_up_to_the_cap_and_resets_on_success() {
        let mut b = Backoff::new(Duration::from_millis(200));
        assert!(!b.waiting());
        let waits: Vec<u128> = (0..8).map(|_| b.fail().as_millis()).collect();
        let bounds = [400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000];
        for (w, d) in waits.iter().zip(bounds) {
            assert!(*w >= d / 2 && *w < d, "{waits:?}");
        }
        assert!(b.waiting(), "no attempt until the wait is over");
        b.reset();
        assert!(!b.waiting());
        let again = b.fail();
        assert!(
            again >= Duration::from_millis(200) && again < Duration::from_millis(400),
            "counts again from one: {again:?}"
        );
    }
}
