//! The order worker: receives batches from the queue, processes them with bounded
//! concurrency, acks what is done and backs off what is not.

use crate::config::WorkerConfig;
use crate::metrics::Metrics;
use futures::StreamExt;
use orderflow_core::ports::{Delivery, Queue, QueueError};
use orderflow_core::usecases::{OrderProcessor, ProcessError, Processed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone)]
pub struct Worker {
    pub queue: Arc<dyn Queue>,
    pub processor: Arc<OrderProcessor>,
    pub batch_size: usize,
    pub concurrency: usize,
    pub wait: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// The queue's visibility timeout: deliveries still being worked on are extended
    /// by this much every half of it, so slow work is never handed to a second worker.
    pub visibility: Duration,
    /// Receives after which the queue dead-letters a failing message.
    pub max_receives: u32,
    pub metrics: Arc<Metrics>,
    /// Set when processing found the store down; the run loop then takes no new
    /// messages until the store answers again.
    store_down: Arc<std::sync::atomic::AtomicBool>,
}

impl Worker {
    pub fn new(
        queue: Arc<dyn Queue>,
        processor: Arc<OrderProcessor>,
        metrics: Arc<Metrics>,
        c: &WorkerConfig,
    ) -> Self {
        Self {
            queue,
            processor,
            batch_size: c.batch_size,
            concurrency: c.concurrency,
            wait: Duration::from_secs(c.wait_time_seconds),
            retry_base: Duration::from_millis(c.retry_base_ms),
            retry_max: Duration::from_millis(c.retry_max_ms),
            visibility: Duration::from_secs(c.visibility_timeout_seconds),
            max_receives: c.max_receives,
            metrics,
            store_down: Arc::default(),
        }
    }

    /// Receives one batch (waiting at most `wait` for it) and settles every delivery in
    /// it before returning. Returns how many deliveries it handled.
    pub async fn run_once(&self, wait: Duration) -> Result<usize, QueueError> {
        let deliveries = self.queue.receive(self.batch_size, wait).await?;
        Ok(self.settle(deliveries).await)
    }

    async fn settle(&self, deliveries: Vec<Delivery>) -> usize {
        let n = deliveries.len();
        if n > 0 {
            self.metrics.incr("queue_received_total", &[], n as u64);
        }
        futures::stream::iter(deliveries)
            .for_each_concurrent(self.concurrency, |d| self.handle(d))
            .await;
        n
    }

    /// Processes one delivery while keeping it invisible to other workers.
    async fn process_with_heartbeat(&self, d: &Delivery) -> Result<Processed, ProcessError> {
        let work = self.processor.process(&d.body);
        tokio::pin!(work);
        let beat = (self.visibility / 2).max(Duration::from_millis(500));
        loop {
            tokio::select! {
                r = &mut work => return r,
                _ = tokio::time::sleep(beat) => {
                    if let Err(e) = self.queue.extend(&d.receipt, self.visibility).await {
                        tracing::warn!(error = %e, message_id = %d.message_id, "could not extend visibility");
                    }
                }
            }
        }
    }

    async fn handle(&self, d: Delivery) {
        match self.process_with_heartbeat(&d).await {
            Ok(processed) => {
                match processed {
                    Processed::Completed { placed_at } => {
                        self.settled("orders_completed_total", placed_at)
                    }
                    Processed::Failed { placed_at } => {
                        self.settled("orders_failed_total", placed_at)
                    }
                    Processed::AlreadyFinal => {}
                }
                // Acked on its own as soon as it is settled: acking a batch together
                // left finished deliveries unextended behind a slow one until their
                // visibility ran out (see BENCHMARKS.md, row 6).
                self.metrics.incr("queue_acked_total", &[], 1);
                if let Err(e) = self.queue.ack(&d.receipt).await {
                    // The message will come back; processing it again changes nothing.
                    tracing::warn!(error = %e, message_id = %d.message_id, "ack failed");
                }
            }
            Err(e) => {
                let delay = self.backoff(d.receive_count);
                if d.receive_count >= self.max_receives {
                    self.metrics.incr("queue_dead_lettered_total", &[], 1);
                } else {
                    self.metrics.incr("queue_retried_total", &[], 1);
                }
                match &e {
                    ProcessError::Poison(reason) => {
                        tracing::warn!(%reason, message_id = %d.message_id, receive_count = d.receive_count, "unprocessable message")
                    }
                    ProcessError::StoreUnavailable(cause) => {
                        self.store_down
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                        tracing::warn!(error = %cause, source = ?cause, message_id = %d.message_id, "store unavailable; pausing intake")
                    }
                    ProcessError::Retry(cause) => {
                        tracing::warn!(error = %cause, source = ?cause, message_id = %d.message_id, receive_count = d.receive_count, "processing will be retried")
                    }
                }
                if let Err(e) = self.queue.retry_after(&d.receipt, delay).await {
                    tracing::warn!(error = %e, "could not schedule retry; the visibility timeout will");
                }
            }
        }
    }

    fn settled(&self, counter: &'static str, placed_at: chrono::DateTime<chrono::Utc>) {
        self.metrics.incr(counter, &[], 1);
        let took = (chrono::Utc::now() - placed_at)
            .to_std()
            .unwrap_or_default();
        self.metrics.observe("order_processing_seconds", &[], took);
    }

    /// Waits, probing with back-off, until the store answers again; false if told to
    /// stop meanwhile. Messages stay in the queue, their receive counts untouched.
    async fn wait_for_store(&self, stop: &mut watch::Receiver<bool>) -> bool {
        let mut attempt = 0u32;
        loop {
            if self.processor.store_available().await {
                self.store_down
                    .store(false, std::sync::atomic::Ordering::SeqCst);
                tracing::info!("store is back; resuming intake");
                return true;
            }
            attempt = attempt.saturating_add(1);
            let pause = Duration::from_millis(200)
                .saturating_mul(1 << attempt.min(7))
                .min(Duration::from_secs(30));
            tokio::select! {
                _ = stop.changed() => return false,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Exponential back-off by receive count: base, 2×base, 4×base… capped.
    pub fn backoff(&self, receive_count: u32) -> Duration {
        let factor = 1u32
            .checked_shl(receive_count.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.retry_base.saturating_mul(factor).min(self.retry_max)
    }

    /// Runs until `stop` turns true. Only the wait for messages is interrupted: a batch
    /// in hand is always settled first, so nothing received is abandoned.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!("worker started");
        let mut failures = 0u32;
        while !*stop.borrow() {
            if self.store_down.load(std::sync::atomic::Ordering::SeqCst)
                && !self.wait_for_store(&mut stop).await
            {
                break;
            }
            let received = tokio::select! {
                biased;
                _ = stop.changed() => break,
                r = self.queue.receive(self.batch_size, self.wait) => r,
            };
            match received {
                Ok(deliveries) => {
                    failures = 0;
                    self.settle(deliveries).await;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let pause = self.backoff(failures).max(Duration::from_millis(100));
                    tracing::warn!(error = %e, ?pause, "queue receive failed; backing off");
                    tokio::select! { _ = stop.changed() => break, _ = tokio::time::sleep(pause) => {} }
                }
            }
        }
        tracing::info!("worker stopped");
    }
}
