use orderflow_core::ports::{
    DeadLetter, Delivery, Outgoing, Published, Queue, QueueError, Receipt, Refused, TraceContext,
    MAX_BODY_BYTES,
};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// An in-process queue with SQS semantics: visibility timeout, receive counts,
/// dead-lettering after `max_receives`. A receiver waiting for work is woken the moment
/// a message is published, so the embedded worker never polls on a timer.
#[derive(Clone)]
pub struct MemoryQueue {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    wake: Notify,
    visibility: Duration,
    max_receives: u32,
}

struct Message {
    id: String,
    body: String,
    trace: TraceContext,
    receive_count: u32,
    /// The receipt of the latest delivery; older receipts no longer act on it.
    receipt: Option<String>,
    /// When an in-flight message becomes visible again.
    invisible_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    // A B-tree, not a hash map: no stall to rehash everything when a burst fills it;
    // sequence numbers ascend, so inserts append.
    messages: BTreeMap<u64, Message>,
    /// Visible messages, oldest first.
    ready: VecDeque<u64>,
    /// In-flight messages by the time they reappear.
    in_flight: BTreeSet<(Instant, u64)>,
    receipts: HashMap<String, u64>,
    dead: VecDeque<DeadLetter>,
}

impl State {
    fn push(&mut self, body: String, trace: TraceContext) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = uuid::Uuid::new_v4().to_string();
        self.messages.insert(
            seq,
            Message {
                id,
                body,
                trace,
                receive_count: 0,
                receipt: None,
                invisible_until: None,
            },
        );
        self.ready.push_back(seq);
    }

    /// Deletes the message a receipt delivered; unknown receipts are ignored.
    fn forget(&mut self, receipt: &Receipt) {
        if let Some(seq) = self.receipts.remove(&receipt.0) {
            if let Some(m) = self.messages.remove(&seq) {
                if let Some(at) = m.invisible_until {
                    self.in_flight.remove(&(at, seq));
                }
            }
        }
    }

    /// Makes every message whose visibility timeout has passed visible again.
    fn reappear(&mut self, now: Instant) {
        while let Some(&(at, seq)) = self.in_flight.first() {
            if at > now {
                break;
            }
            self.in_flight.pop_first();
            if let Some(m) = self.messages.get_mut(&seq) {
                if let Some(r) = m.receipt.take() {
                    self.receipts.remove(&r);
                }
                m.invisible_until = None;
                self.ready.push_back(seq);
            }
        }
    }

    fn set_visibility(&mut self, receipt: &Receipt, at: Instant) {
        let Some(&seq) = self.receipts.get(&receipt.0) else {
            return;
        };
        let Some(m) = self.messages.get_mut(&seq) else {
            return;
        };
        if let Some(old) = m.invisible_until.replace(at) {
            self.in_flight.remove(&(old, seq));
        }
        self.in_flight.insert((at, seq));
    }
}

impl MemoryQueue {
    pub fn new(visibility: Duration, max_receives: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                wake: Notify::new(),
                visibility,
                max_receives: max_receives.max(1),
            }),
        }
    }

    /// Messages not yet acked (visible or in flight), not counting dead letters.
    pub fn len(&self) -> usize {
        self.inner.state.lock().messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self, max: usize) -> (Vec<Delivery>, Option<Instant>) {
        let now = Instant::now();
        let mut s = self.inner.state.lock();
        s.reappear(now);
        let mut out = Vec::new();
        while out.len() < max {
            let Some(seq) = s.ready.pop_front() else {
                break;
            };
            let Some(mut m) = s.messages.remove(&seq) else {
                continue;
            };
            m.receive_count += 1;
            if m.receive_count > self.inner.max_receives {
                s.dead.push_back(DeadLetter {
                    message_id: m.id,
                    body: m.body,
                    receive_count: m.receive_count - 1,
                    trace: m.trace,
                });
                continue;
            }
            let receipt = uuid::Uuid::new_v4().to_string();
            let until = now + self.inner.visibility;
            out.push(Delivery {
                message_id: m.id.clone(),
                body: m.body.clone(),
                receipt: Receipt(receipt.clone()),
                receive_count: m.receive_count,
                trace: m.trace.clone(),
            });
            m.receipt = Some(receipt.clone());
            m.invisible_until = Some(until);
            s.receipts.insert(receipt, seq);
            s.in_flight.insert((until, seq));
            s.messages.insert(seq, m);
        }
        let next_reappearance = s.in_flight.first().map(|(at, _)| *at);
        (out, next_reappearance)
    }
}

#[async_trait::async_trait]
impl Queue for MemoryQueue {
    async fn publish(&self, messages: &[Outgoing]) -> Result<Published, QueueError> {
        let mut published = Published::all();
        {
            let mut s = self.inner.state.lock();
            for (index, m) in messages.iter().enumerate() {
                // The same limit as SQS, so a message too large for production is
                // refused in tests and embedded too.
                if m.size() > MAX_BODY_BYTES {
                    published.refused.push(Refused {
                        index,
                        reason: format!(
                            "message is {} bytes, over the limit of {MAX_BODY_BYTES}",
                            m.size()
                        ),
                    });
                    continue;
                }
                s.push(m.body.clone(), m.trace.clone());
            }
        }
        self.inner.wake.notify_waiters();
        Ok(published)
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            // Registered before looking, so a publish between the look and the wait
            // still wakes us.
            let woken = self.inner.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let (got, next) = self.take(max.max(1));
            if !got.is_empty() {
                return Ok(got);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let until = next.map_or(deadline, |n| n.min(deadline));
            let _ = tokio::time::timeout(until.saturating_duration_since(now), woken).await;
        }
    }

    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError> {
        self.inner.state.lock().forget(receipt);
        Ok(())
    }

    async fn ack_many(&self, receipts: &[Receipt]) -> Result<(), QueueError> {
        let mut s = self.inner.state.lock();
        for receipt in receipts {
            s.forget(receipt);
        }
        Ok(())
    }

    async fn retry_after(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError> {
        self.inner
            .state
            .lock()
            .set_visibility(receipt, Instant::now() + delay);
        self.inner.wake.notify_waiters();
        Ok(())
    }

    async fn extend(&self, receipt: &Receipt, by: Duration) -> Result<(), QueueError> {
        self.inner
            .state
            .lock()
            .set_visibility(receipt, Instant::now() + by);
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        Ok(self
            .inner
            .state
            .lock()
            .dead
            .iter()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn redrive(&self, limit: usize) -> Result<usize, QueueError> {
        let n = {
            let mut s = self.inner.state.lock();
            let n = limit.min(s.dead.len());
            for _ in 0..n {
                if let Some(d) = s.dead.pop_front() {
                    s.push(d.body, d.trace);
                }
            }
            n
        };
        self.inner.wake.notify_waiters();
        Ok(n)
    }

    async fn count_dead_letters(&self) -> Result<usize, QueueError> {
        Ok(self.inner.state.lock().dead.len())
    }

    async fn drop_dead_letter(&self, message_id: &str) -> Result<bool, QueueError> {
        let mut s = self.inner.state.lock();
        let before = s.dead.len();
        s.dead.retain(|d| d.message_id != message_id);
        Ok(s.dead.len() < before)
    }
}

/// Nothing outside the process to ask.
#[async_trait::async_trait]
impl orderflow_core::ports::Health for MemoryQueue {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        Ok(())
    }
}
