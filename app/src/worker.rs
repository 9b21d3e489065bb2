//! The order worker: receives from the queue whenever it has room for a batch,
//! processes with bounded concurrency, acks what is done (batched by the acker) and
//! backs off what is not.

use crate::config::WorkerConfig;
use crate::metrics::Metrics;
use futures::StreamExt;
use orderflow_core::ports::{Delivery, Queue, QueueError, Receipt};
use orderflow_core::retry::Backoff;
use orderflow_core::usecases::{OrderProcessor, ProcessError, Processed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

/// Probes of a store that went down: a fifth of a second doubling to 30 s.
const STORE_WAIT: Backoff = Backoff::new(Duration::from_millis(400), Duration::from_secs(30));

#[derive(Clone)]
pub struct Worker {
    pub queue: Arc<dyn Queue>,
    pub processor: Arc<OrderProcessor>,
    pub batch_size: usize,
    pub concurrency: usize,
    pub wait: Duration,
    /// How long a failed delivery waits, by its receive count.
    pub retry: Backoff,
    /// The queue's visibility timeout: deliveries still being worked on are extended
    /// by this much every half of it, so slow work is never handed to a second worker.
    pub visibility: Duration,
    /// Receives after which the queue dead-letters a failing message.
    pub max_receives: u32,
    /// The longest one delivery is worked on; then it is retried like a failure.
    pub deadline: Duration,
    /// After a receive that brought less than a full batch, the wait before the next.
    pub receive_pause: Duration,
    /// How long an ack waits for others to share its call.
    pub ack_linger: Duration,
    pub metrics: Arc<Metrics>,
    /// True when processing found the store down: the run loop then takes no new
    /// messages until the store answers again, and deliveries received meanwhile wait,
    /// kept invisible, instead of spending their receives on failures.
    store_down: Arc<watch::Sender<bool>>,
    /// While `run` runs: where settled deliveries' receipts go to be acked in batches.
    /// Without it (`run_once`), each delivery is acked on its own.
    acks: Option<mpsc::UnboundedSender<Receipt>>,
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
            wait: Duration::from_millis(c.wait_time_ms),
            retry: Backoff::new(
                Duration::from_millis(c.retry_base_ms),
                Duration::from_millis(c.retry_max_ms),
            ),
            visibility: Duration::from_millis(c.visibility_timeout_ms),
            max_receives: c.max_receives,
            deadline: Duration::from_millis(c.delivery_deadline_ms),
            receive_pause: Duration::from_millis(c.receive_pause_ms),
            ack_linger: Duration::from_millis(c.ack_linger_ms),
            metrics,
            store_down: Arc::new(watch::channel(false).0),
            acks: None,
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
        self.count_received(n);
        futures::stream::iter(deliveries)
            .for_each_concurrent(self.concurrency, |d| self.handle(d))
            .await;
        n
    }

    /// Runs `work` while keeping the delivery invisible to other workers, however long
    /// it takes.
    async fn while_invisible<T>(
        &self,
        d: &Delivery,
        work: impl std::future::Future<Output = T>,
    ) -> T {
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

    /// Settles one delivery in a span that continues the placing request's trace.
    async fn handle(&self, d: Delivery) {
        let span = crate::telemetry::delivery_span(&d.message_id, d.receive_count, &d.trace);
        self.settle_one(d).instrument(span).await
    }

    async fn settle_one(&self, d: Delivery) {
        let work = async {
            // Dropping the work at the deadline is safe: settling is one atomic unit
            // in the store, and an email being sent stays owed until marked sent.
            tokio::time::timeout(self.deadline, self.processor.process(&d.body))
                .await
                .unwrap_or_else(|_| {
                    Err(ProcessError::Retry(
                        format!(
                            "processing took longer than worker.delivery_deadline_ms ({} ms)",
                            self.deadline.as_millis()
                        )
                        .into(),
                    ))
                })
        };
        match self.while_invisible(&d, work).await {
            Ok(processed) => self.done(d, processed).await,
            Err(e) => self.failed(d, e).await,
        }
    }

    /// A settled delivery: counted, and acked at once.
    async fn done(&self, d: Delivery, processed: Processed) {
        match processed {
            Processed::Completed { placed_at } => {
                self.settled(&self.metrics.orders_completed, placed_at)
            }
            Processed::Failed { placed_at } => self.settled(&self.metrics.orders_failed, placed_at),
            Processed::AlreadyFinal => {}
        }
        // Acked as soon as it is settled, never held for its batch's slower deliveries:
        // held, a finished one stays unacked and unextended and can run out of
        // visibility and be delivered again.
        self.metrics.queue_acked.inc();
        match &self.acks {
            Some(acks) => {
                if let Err(unsent) = acks.send(d.receipt) {
                    self.ack(&unsent.0, &d.message_id).await;
                }
            }
            None => self.ack(&d.receipt, &d.message_id).await,
        }
    }

    /// A delivery that failed: retried after its receive count's back-off (the queue
    /// dead-letters it past `max_receives`); a store outage also pauses intake.
    async fn failed(&self, d: Delivery, e: ProcessError) {
        let delay = self.backoff(d.receive_count);
        if d.receive_count >= self.max_receives {
            self.metrics.queue_dead_lettered.inc();
        } else {
            self.metrics.queue_retried.inc();
        }
        match &e {
            ProcessError::Poison(reason) => {
                tracing::warn!(%reason, message_id = %d.message_id, receive_count = d.receive_count, "unprocessable message")
            }
            ProcessError::StoreUnavailable(cause) => {
                self.store_down.send_replace(true);
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

    fn count_received(&self, n: usize) {
        if n > 0 {
            self.metrics.queue_received.inc_by(n as u64);
        }
    }

    async fn ack(&self, receipt: &Receipt, message_id: &str) {
        if let Err(e) = self.queue.ack(receipt).await {
            // The message will come back; processing it again changes nothing.
            tracing::warn!(error = %e, message_id, "ack failed");
        }
    }

    fn settled(
        &self,
        counter: &prometheus_client::metrics::counter::Counter,
        placed_at: chrono::DateTime<chrono::Utc>,
    ) {
        counter.inc();
        let took = (chrono::Utc::now() - placed_at)
            .to_std()
            .unwrap_or_default();
        self.metrics.observe_processing(took);
    }

    /// Waits, probing with back-off, until the store answers again; false if told to
    /// stop meanwhile. Messages stay in the queue, their receive counts untouched.
    async fn wait_for_store(&self, stop: &mut watch::Receiver<bool>) -> bool {
        for pause in STORE_WAIT.pauses() {
            if self.processor.store_available().await {
                self.store_down.send_replace(false);
                tracing::info!("store is back; resuming intake");
                return true;
            }
            tokio::select! {
                _ = stop.changed() => return false,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        // `pauses` has no end.
        false
    }

    /// For a delivery that arrived while the store is down: keeps it invisible until
    /// the store is back (true) or the worker stops (false; the delivery is released
    /// for whoever runs next). A receive already waiting when the outage was found
    /// would otherwise spend one of the message's receives on a certain failure.
    async fn store_is_back(&self, d: &Delivery, mut stop: watch::Receiver<bool>) -> bool {
        let mut down = self.store_down.subscribe();
        let back = self
            .while_invisible(d, async {
                tokio::select! {
                    back = async { down.wait_for(|down| !*down).await.is_ok() } => back,
                    true = async { stop.wait_for(|stop| *stop).await.is_ok() } => false,
                }
            })
            .await;
        if !back {
            if let Err(e) = self.queue.retry_after(&d.receipt, Duration::ZERO).await {
                tracing::warn!(error = %e, message_id = %d.message_id, "could not release a held delivery; its visibility timeout will");
            }
        }
        back
    }

    /// The back-off by receive count (`retry` from `retry_base_ms` to `retry_max_ms`).
    pub fn backoff(&self, receive_count: u32) -> Duration {
        self.retry.after(receive_count)
    }

    /// Runs until `stop` turns true. It receives whenever a batch fits under the
    /// concurrency bound, so one slow delivery never holds up the next receive. Only
    /// the wait for messages is interrupted: everything received is settled and acked
    /// before it returns, so nothing in hand is abandoned.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        tracing::info!("worker started");
        let (acks, receipts) = mpsc::unbounded_channel();
        let acker = tokio::spawn(run_acker(self.queue.clone(), receipts, self.ack_linger));
        self.acks = Some(acks);
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let batch = self.batch_size.min(self.concurrency);
        let mut in_hand = JoinSet::new();
        let mut failures = 0u32;
        while !*stop.borrow() {
            if *self.store_down.borrow() && !self.wait_for_store(&mut stop).await {
                break;
            }
            let mut room = tokio::select! {
                biased;
                _ = stop.changed() => break,
                room = slots.clone().acquire_many_owned(batch as u32) => match room {
                    Ok(room) => room,
                    Err(_) => break, // never closed
                },
            };
            while in_hand.try_join_next().is_some() {}
            let received = tokio::select! {
                biased;
                _ = stop.changed() => break,
                r = self.queue.receive(batch, self.wait) => r,
            };
            match received {
                Ok(deliveries) => {
                    failures = 0;
                    // A part batch means the queue is nearly empty: the next receive
                    // waits for more to arrive (SQS bills the call, not the messages).
                    let pause = !deliveries.is_empty() && deliveries.len() < batch;
                    self.count_received(deliveries.len());
                    for d in deliveries {
                        let Some(slot) = room.split(1) else { break };
                        let worker = self.clone();
                        let stop = stop.clone();
                        in_hand.spawn(async move {
                            if worker.store_is_back(&d, stop).await {
                                worker.handle(d).await;
                            }
                            drop(slot);
                        });
                    }
                    if pause && !self.receive_pause.is_zero() {
                        tokio::select! { _ = stop.changed() => break, _ = tokio::time::sleep(self.receive_pause) => {} }
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let pause = self.backoff(failures).max(Duration::from_millis(100));
                    tracing::warn!(error = %e, ?pause, "queue receive failed; backing off");
                    tokio::select! { _ = stop.changed() => break, _ = tokio::time::sleep(pause) => {} }
                }
            }
        }
        while in_hand.join_next().await.is_some() {}
        // The acker ends once every sender is gone and it has acked what they sent.
        drop(self);
        if acker.await.is_err() {
            tracing::warn!("the acker stopped abnormally; unacked messages will come back");
        }
        tracing::info!("worker stopped");
    }
}

/// Most ack calls in flight at once. While all are busy, receipts pile up and go out
/// together (SQS: ten per call).
const ACK_CALLS: usize = 4;

/// Acks settled deliveries ten to a call: a call waits up to `linger` after its first
/// receipt for others (far below the visibility timeout, so no acked delivery comes
/// back for the wait), so at a steady rate a worker makes a tenth of the calls.
async fn run_acker(
    queue: Arc<dyn Queue>,
    mut receipts: mpsc::UnboundedReceiver<Receipt>,
    linger: Duration,
) {
    let calls = Arc::new(Semaphore::new(ACK_CALLS));
    let mut in_flight = JoinSet::new();
    while let Some(first) = receipts.recv().await {
        let mut batch = vec![first];
        crate::gather::fill(&mut receipts, &mut batch, 10, linger).await;
        let Ok(call) = calls.clone().acquire_owned().await else {
            break; // never closed
        };
        let queue = queue.clone();
        in_flight.spawn(async move {
            if let Err(e) = queue.ack_many(&batch).await {
                // Their messages come back; processing them again changes nothing.
                tracing::warn!(error = %e, receipts = batch.len(), "ack failed");
            }
            drop(call);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}
