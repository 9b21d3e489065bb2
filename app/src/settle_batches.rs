//! Settlements asked for at about the same time go to the store together: a worker's
//! deliveries from one receive each ask to settle their order within microseconds of
//! one another, and `OrderSettlement::fulfil_many` settles them together (on MongoDB
//! four commands for the batch instead of four per order). Each delivery
//! still waits for its own order's outcome, inside its own span.

use orderflow_core::domain::OrderId;
use orderflow_core::ports::{Fulfilment, Health, InventoryError, OrderSettlement};
use orderflow_core::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Orders settled together at most.
const MAX_BATCH: usize = 20;
/// Batches in flight at once: one can commit while the next is read.
const BATCHES: usize = 2;

struct Ask {
    id: OrderId,
    at: chrono::DateTime<chrono::Utc>,
    reply: oneshot::Sender<Result<Fulfilment, InventoryError>>,
}

/// `OrderSettlement` over another one, whose `fulfil`s are gathered into `fulfil_many`s.
pub struct BatchedSettlement {
    inner: Arc<dyn OrderSettlement>,
    asks: mpsc::UnboundedSender<Ask>,
}

/// How the batches are made: what arrives within `linger` of a first ask goes with it,
/// and each settled order's email is claimed for the asking worker for `email_lease`
/// in the same write (it sends the email without a claim of its own).
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    pub linger: Duration,
    pub email_lease: Duration,
}

impl BatchedSettlement {
    /// Starts the task that gathers the asks (it ends when this is dropped). Needs a
    /// Tokio runtime.
    pub fn new(inner: Arc<dyn OrderSettlement>, batching: Batching) -> Self {
        let (asks, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(inner.clone(), rx, batching));
        Self { inner, asks }
    }
}

async fn run(
    inner: Arc<dyn OrderSettlement>,
    mut asks: mpsc::UnboundedReceiver<Ask>,
    batching: Batching,
) {
    let slots = Arc::new(Semaphore::new(BATCHES));
    while let Some(first) = asks.recv().await {
        let mut batch = vec![first];
        crate::gather::fill(&mut asks, &mut batch, MAX_BATCH, batching.linger).await;
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break; // never closed
        };
        let inner = inner.clone();
        tokio::spawn(async move {
            let ids: Vec<OrderId> = batch.iter().map(|a| a.id).collect();
            // One time for the batch: the latest asked, so no order is settled
            // before its delivery asked.
            let at = batch
                .iter()
                .map(|a| a.at)
                .max()
                .unwrap_or_else(chrono::Utc::now);
            let claim = chrono::Duration::from_std(batching.email_lease)
                .ok()
                .map(|lease| at + lease);
            let outcomes = inner.fulfil_many(&ids, at, claim).await;
            for (ask, outcome) in batch.into_iter().zip(outcomes) {
                // A delivery that gave up waiting is retried; its order is settled.
                let _ = ask.reply.send(outcome);
            }
            drop(slot);
        });
    }
}

#[async_trait::async_trait]
impl Health for BatchedSettlement {
    async fn health(&self) -> Result<(), BoxError> {
        self.inner.health().await
    }
}

#[async_trait::async_trait]
impl OrderSettlement for BatchedSettlement {
    async fn fulfil(
        &self,
        order: OrderId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Fulfilment, InventoryError> {
        let (reply, answer) = oneshot::channel();
        let ask = Ask {
            id: order,
            at,
            reply,
        };
        if self.asks.send(ask).is_err() {
            return self.inner.fulfil(order, at).await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(InventoryError::Unavailable(
                "the settlement batch ended without an answer".into(),
            ))
        })
    }

    async fn fulfil_many(
        &self,
        orders: &[OrderId],
        at: chrono::DateTime<chrono::Utc>,
        email_claim: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Vec<Result<Fulfilment, InventoryError>> {
        self.inner.fulfil_many(orders, at, email_claim).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    /// Records each `fulfil_many` batch; answers NotFound for the first order of a
    /// batch and StockLimit for the others, so each asker can tell its own answer.
    #[derive(Default)]
    struct Batches(Mutex<Vec<Vec<OrderId>>>);

    #[async_trait::async_trait]
    impl Health for Batches {
        async fn health(&self) -> Result<(), BoxError> {
            Ok(())
        }
    }

    #[async_trait::async_trait]
    impl OrderSettlement for Batches {
        async fn fulfil(
            &self,
            _: OrderId,
            _: chrono::DateTime<chrono::Utc>,
        ) -> Result<Fulfilment, InventoryError> {
            panic!("asks go through fulfil_many")
        }

        async fn fulfil_many(
            &self,
            orders: &[OrderId],
            _: chrono::DateTime<chrono::Utc>,
            _: Option<chrono::DateTime<chrono::Utc>>,
        ) -> Vec<Result<Fulfilment, InventoryError>> {
            self.0.lock().push(orders.to_vec());
            (0..orders.len())
                .map(|i| {
                    Err(if i == 0 {
                        InventoryError::NotFound
                    } else {
                        InventoryError::StockLimit
                    })
                })
                .collect()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn asks_made_together_are_settled_in_one_batch_and_each_gets_its_own_answer() {
        let store = Arc::new(Batches::default());
        let batching = Batching {
            linger: Duration::from_millis(5),
            email_lease: Duration::from_secs(20),
        };
        let batched = Arc::new(BatchedSettlement::new(store.clone(), batching));
        let ids: Vec<OrderId> = (0..10).map(|_| OrderId::new()).collect();
        let asks: Vec<_> = ids
            .iter()
            .map(|id| {
                let (b, id) = (batched.clone(), *id);
                tokio::spawn(async move { b.fulfil(id, chrono::Utc::now()).await })
            })
            .collect();
        let mut answers = Vec::new();
        for a in asks {
            answers.push(a.await.unwrap());
        }
        let batches = store.0.lock().clone();
        assert_eq!(batches.len(), 1, "{batches:?}");
        assert_eq!(batches[0].len(), 10);
        let first = batches[0][0];
        for (id, answer) in ids.iter().zip(answers) {
            let want_not_found = *id == first;
            assert_eq!(
                matches!(answer, Err(InventoryError::NotFound)),
                want_not_found
            );
            assert_eq!(
                matches!(answer, Err(InventoryError::StockLimit)),
                !want_not_found
            );
        }

        // An ask long after: a batch of its own.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = batched.fulfil(OrderId::new(), chrono::Utc::now()).await;
        assert_eq!(store.0.lock().len(), 2);
    }
}
