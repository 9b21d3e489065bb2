//! Listing and redriving the dead-letter queue. SQS shows a message only by receiving
//! it, which hides it for a while, so:
//!
//! - every receive here is a long poll (`POLL`): a short poll samples some of SQS's
//!   servers and may answer with fewer messages than the queue holds, or none, so an
//!   empty short poll proves nothing. An empty long poll means nothing is left to see.
//! - whatever a listing received is made visible again on every way out, an error
//!   included; only a process that dies mid-listing leaves messages hidden, for `HOLD`.
//! - a listing or redrive ends at the first poll that brings nothing new, so one that
//!   outlasts `HOLD` (and meets what it saw first again) still ends.
//!
//! - a count is SQS's approximate figure (`GetQueueAttributes`), received nothing.
//!
//! The dead-letter queue has no redrive policy of its own: receiving there counts
//! toward nothing.

use crate::{unavailable, SqsQueue};
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, QueueAttributeName};
use orderflow_core::ports::{DeadLetter, Delivery, Outgoing, QueueError, Receipt};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// How long each receive waits for a message before concluding there is none.
const POLL: Duration = Duration::from_secs(1);
/// How long a received dead letter stays hidden if nothing shows it again.
const HOLD: Duration = Duration::from_secs(30);

impl SqsQueue {
    pub(crate) async fn list_dead(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let mut seen = Seen::default();
        let read = self.read_dead(limit, &mut seen).await;
        self.show_again(seen.receipts()).await;
        read?;
        Ok(seen
            .letters
            .into_iter()
            .map(|d| DeadLetter {
                message_id: d.message_id,
                body: d.body,
                receive_count: d.receive_count,
                trace: d.trace,
            })
            .collect())
    }

    async fn read_dead(&self, limit: usize, seen: &mut Seen) -> Result<(), QueueError> {
        while seen.letters.len() < limit {
            let want = limit - seen.letters.len();
            let batch = self.receive_from(&self.dlq_url, want, POLL, HOLD).await?;
            if seen.add(batch) == 0 {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Visible, in-flight and delayed dead letters together: a listing in progress
    /// hides messages, and they are still there.
    pub(crate) async fn count_dead(&self) -> Result<usize, QueueError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.dlq_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(unavailable)?;
        let attributes = out.attributes();
        let read = |name: QueueAttributeName| -> usize {
            attributes
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(read(QueueAttributeName::ApproximateNumberOfMessages)
            + read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            + read(QueueAttributeName::ApproximateNumberOfMessagesDelayed))
    }

    /// Receives dead letters until the one with `message_id` comes (or a poll brings
    /// nothing new), deletes it, and shows every other one again.
    pub(crate) async fn drop_dead(&self, message_id: &str) -> Result<bool, QueueError> {
        let mut seen = Seen::default();
        let found = loop {
            if let Some(&i) = seen.index.get(message_id) {
                break Ok(Some(i));
            }
            match self.receive_from(&self.dlq_url, 10, POLL, HOLD).await {
                Ok(batch) => {
                    if seen.add(batch) == 0 {
                        break Ok(None);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        let outcome = match found {
            Ok(Some(i)) => {
                let receipt = seen.letters[i].receipt.clone();
                match self.delete_batch(&self.dlq_url, &[receipt]).await {
                    Ok(()) => {
                        seen.letters.swap_remove(i);
                        Ok(true)
                    }
                    Err(e) => Err(e),
                }
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        };
        self.show_again(seen.receipts()).await;
        outcome
    }

    /// Sends each dead letter to the main queue, then deletes it from the dead-letter
    /// queue: a failure in between duplicates a message (the worker takes an order's
    /// message once), never loses one. What the main queue refuses stays a dead letter,
    /// visible again when the redrive ends.
    pub(crate) async fn redrive_dead(&self, limit: usize) -> Result<usize, QueueError> {
        let mut moved = 0;
        let mut left: Vec<Receipt> = Vec::new();
        let mut left_ids: HashSet<String> = HashSet::new();
        let outcome = loop {
            if moved >= limit {
                break Ok(());
            }
            let batch = match self
                .receive_from(&self.dlq_url, limit - moved, POLL, HOLD)
                .await
            {
                Ok(b) => b,
                Err(e) => break Err(e),
            };
            let (fresh, again): (Vec<Delivery>, Vec<Delivery>) = batch
                .into_iter()
                .partition(|d| !left_ids.contains(&d.message_id));
            // One left earlier came round again (the redrive outlasted HOLD).
            left.extend(again.into_iter().map(|d| d.receipt));
            if fresh.is_empty() {
                break Ok(());
            }
            let outgoing: Vec<Outgoing> = fresh
                .iter()
                .map(|d| Outgoing {
                    body: d.body.clone(),
                    trace: d.trace.clone(),
                })
                .collect();
            let sent = match self.send_batch(&self.queue_url, &outgoing).await {
                Ok(sent) => sent,
                Err(e) => {
                    left.extend(fresh.into_iter().map(|d| d.receipt));
                    break Err(e);
                }
            };
            let refused: HashMap<usize, &str> = sent
                .refused
                .iter()
                .map(|r| (r.index, r.reason.as_str()))
                .collect();
            let mut delete = Vec::with_capacity(fresh.len());
            for (i, d) in fresh.into_iter().enumerate() {
                if let Some(reason) = refused.get(&i) {
                    tracing::warn!(message_id = %d.message_id, %reason, "the queue refused a redriven message; left in the dead-letter queue");
                    left_ids.insert(d.message_id);
                    left.push(d.receipt);
                } else {
                    delete.push(d.receipt);
                }
            }
            if let Err(e) = self.delete_batch(&self.dlq_url, &delete).await {
                // Sent but maybe not deleted: they would come round in this redrive
                // again, so stop; the next redrive moves them (a duplicate at most).
                left.extend(delete);
                break Err(e);
            }
            moved += delete.len();
        };
        self.show_again(left.iter()).await;
        outcome.map(|()| moved)
    }

    /// Makes received dead letters visible at once. A failure is logged, not returned:
    /// the messages come back by themselves after `HOLD`.
    async fn show_again(&self, receipts: impl Iterator<Item = &Receipt>) {
        let receipts: Vec<&Receipt> = receipts.collect();
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&r.0)
                        .visibility_timeout(0)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>();
            let call = match entries {
                Ok(entries) => {
                    self.client
                        .change_message_visibility_batch()
                        .queue_url(&self.dlq_url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not build a visibility change");
                    continue;
                }
            };
            match call.map_err(unavailable) {
                Ok(out) if out.failed().is_empty() => {}
                Ok(out) => tracing::warn!(
                    failed = out.failed().len(),
                    hidden_for_secs = HOLD.as_secs(),
                    "some dead letters could not be shown again at once"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    hidden_for_secs = HOLD.as_secs(),
                    "dead letters could not be shown again at once"
                ),
            }
        }
    }
}

/// The dead letters one listing has received, each once, with its latest receipt
/// (only the latest can change its visibility).
#[derive(Default)]
struct Seen {
    letters: Vec<Delivery>,
    index: HashMap<String, usize>,
}

impl Seen {
    /// Adds a batch; how many of its messages were new.
    fn add(&mut self, batch: Vec<Delivery>) -> usize {
        let mut new = 0;
        for d in batch {
            match self.index.get(&d.message_id) {
                Some(&i) => self.letters[i].receipt = d.receipt,
                None => {
                    self.index.insert(d.message_id.clone(), self.letters.len());
                    self.letters.push(d);
                    new += 1;
                }
            }
        }
        new
    }

    fn receipts(&self) -> impl Iterator<Item = &Receipt> {
        self.letters.iter().map(|d| &d.receipt)
    }
}
