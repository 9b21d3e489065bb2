//! Adapters wrapped with a switch that makes them fail like an unreachable service.

use orderflow_core::ports::{DeadLetter, Delivery, Queue, QueueError, Receipt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A queue that answers `Unavailable` to everything while switched off.
#[derive(Clone)]
pub struct SwitchableQueue {
    inner: Arc<dyn Queue>,
    down: Arc<AtomicBool>,
}

impl SwitchableQueue {
    pub fn new(inner: Arc<dyn Queue>) -> Self {
        Self {
            inner,
            down: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), QueueError> {
        if self.down.load(Ordering::SeqCst) {
            Err(QueueError::Unavailable(
                "queue switched off by the test".into(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl Queue for SwitchableQueue {
    async fn publish(&self, bodies: &[String]) -> Result<(), QueueError> {
        self.check()?;
        self.inner.publish(bodies).await
    }
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        self.check()?;
        self.inner.receive(max, wait).await
    }
    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError> {
        self.check()?;
        self.inner.ack(receipt).await
    }
    async fn retry_after(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError> {
        self.check()?;
        self.inner.retry_after(receipt, delay).await
    }
    async fn extend(&self, receipt: &Receipt, by: Duration) -> Result<(), QueueError> {
        self.check()?;
        self.inner.extend(receipt, by).await
    }
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.check()?;
        self.inner.dead_letters(limit).await
    }
    async fn redrive(&self, limit: usize) -> Result<usize, QueueError> {
        self.check()?;
        self.inner.redrive(limit).await
    }
}
