use crate::BoxError;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable")]
    Unavailable(#[source] BoxError),
}

/// The W3C trace context (`traceparent`, and `tracestate` when there is one) of the
/// work that published a message. It travels beside the body, never in it (SQS: as
/// message attributes), so the consumer's spans become children of the producer's.
/// Empty when tracing is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext(pub BTreeMap<String, String>);

impl TraceContext {
    /// The context of a W3C `traceparent` header value, if any.
    pub fn from_traceparent(traceparent: Option<&str>) -> Self {
        let mut m = BTreeMap::new();
        if let Some(tp) = traceparent.filter(|t| !t.is_empty()) {
            m.insert("traceparent".to_owned(), tp.to_owned());
        }
        Self(m)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The largest message body every adapter accepts (SQS's long-standing limit), in
/// bytes of UTF-8 with the trace context. Larger ones are refused per entry.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A message to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outgoing {
    pub body: String,
    pub trace: TraceContext,
}

impl Outgoing {
    /// The bytes SQS counts against its limit: the body and every attribute's name,
    /// type and value.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .trace
                .0
                .iter()
                .map(|(k, v)| k.len() + v.len() + "String".len())
                .sum::<usize>()
    }
}

impl From<String> for Outgoing {
    fn from(body: String) -> Self {
        Self {
            body,
            trace: TraceContext::default(),
        }
    }
}

impl From<&str> for Outgoing {
    fn from(body: &str) -> Self {
        body.to_owned().into()
    }
}

/// What the queue made of one `publish` call: every entry not in `refused` was
/// accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Published {
    pub refused: Vec<Refused>,
}

impl Published {
    /// Every entry was accepted.
    pub fn all() -> Self {
        Self::default()
    }

    pub fn is_refused(&self, index: usize) -> bool {
        self.refused.iter().any(|r| r.index == index)
    }
}

/// One entry the queue did not accept, with its reason. The other entries of the call
/// are not affected by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Its position in the slice given to `publish`.
    pub index: usize,
    pub reason: String,
}

/// Proof of one delivery, needed to ack it or change its visibility.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Receipt(pub String);

/// A message handed to a consumer, invisible to others until acked or until its
/// visibility timeout passes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub message_id: String,
    pub body: String,
    pub receipt: Receipt,
    /// 1 on the first delivery, rising on each redelivery.
    pub receive_count: u32,
    /// As published.
    pub trace: TraceContext,
}

/// A message the queue gave up on after its maximum number of receives.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
    pub trace: TraceContext,
}

/// The work queue between the API and the worker.
///
/// MUST:
/// - deliver at least once: a message is never dropped once `publish` returned `Ok`;
/// - deliver each message's body and trace context exactly as published (redriven
///   dead letters included);
/// - hide a delivered message until it is acked or its visibility timeout passes, then
///   deliver it again with `receive_count` one higher;
/// - move a message to the dead-letter queue instead of delivering it more than
///   `max_receives` times;
/// - make `ack` and `ack_many` idempotent: acking an already-acked (or unknown) receipt
///   is `Ok`; `ack_many` returning an error means some receipts may not be acked (their
///   messages come back, and the consumer tolerates duplicates);
/// - let `receive` wait at most `wait` for a message, then return what it has (maybe
///   nothing); never block forever;
/// - return `Unavailable` when the queue cannot be reached; `publish` returning an error
///   means some of the messages may not have been accepted (the caller republishes; the
///   consumer tolerates duplicates);
/// - answer for each entry of a `publish` on its own: an entry the queue cannot take
///   (a body over `MAX_BODY_BYTES`, a per-entry failure of a batch call) is listed in
///   `Published::refused` and never makes the call fail or the other entries be
///   refused;
/// - leave dead letters where they are when listing them (each is visible again at
///   once), and move every dead letter up to `limit` on `redrive`, also when the queue
///   answers one poll with fewer than it holds. `DeadLetter::receive_count` is for
///   reading only: some queues count a listing as a receive, and nothing acts on it (a
///   redriven message starts again at one);
/// - count in `count_dead_letters` the dead letters the queue holds, visible or not
///   (an approximate count is allowed: SQS's is), without receiving them;
/// - have `drop_dead_letter` delete the dead letter with that message id for good and
///   return true, or return false (and delete nothing) when there is none; every other
///   dead letter stays where it is.
#[async_trait::async_trait]
pub trait Queue: super::Health {
    async fn publish(&self, messages: &[Outgoing]) -> Result<Published, QueueError>;
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError>;
    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError>;
    /// Acks several deliveries, in as few calls as the queue allows (SQS: ten per call).
    async fn ack_many(&self, receipts: &[Receipt]) -> Result<(), QueueError> {
        for r in receipts {
            self.ack(r).await?;
        }
        Ok(())
    }
    /// Makes the delivery visible again after `delay` (zero: at once), for back-off.
    async fn retry_after(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError>;
    /// Keeps a slow delivery hidden for `by` from now.
    async fn extend(&self, receipt: &Receipt, by: Duration) -> Result<(), QueueError>;
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError>;
    /// Moves up to `limit` dead letters back to the main queue with a fresh receive count.
    async fn redrive(&self, limit: usize) -> Result<usize, QueueError>;
    /// How many dead letters the queue holds (a gauge: read every few seconds).
    async fn count_dead_letters(&self) -> Result<usize, QueueError>;
    /// Deletes one dead letter for good (a message no redrive can help).
    async fn drop_dead_letter(&self, message_id: &str) -> Result<bool, QueueError>;
}
