use crate::ports::{DeadLetter, Queue, QueueError};
use crate::BoxError;
use std::sync::Arc;
use tracing::instrument;

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("the queue is unavailable")]
    Unavailable(#[source] BoxError),
}

impl From<QueueError> for DeadLetterError {
    fn from(e: QueueError) -> Self {
        DeadLetterError::Unavailable(Box::new(e))
    }
}

/// Looking at and replaying messages the queue gave up on, for operators.
pub struct DeadLetters {
    pub queue: Arc<dyn Queue>,
}

impl DeadLetters {
    pub const MAX: usize = 100;

    #[instrument(skip_all)]
    pub async fn list(&self, limit: usize) -> Result<Vec<DeadLetter>, DeadLetterError> {
        Ok(self.queue.dead_letters(limit.clamp(1, Self::MAX)).await?)
    }

    /// Moves up to `limit` dead letters back to the work queue. Replaying is safe: the
    /// worker settles each order once, and a message that still cannot be processed
    /// dead-letters again.
    #[instrument(skip_all)]
    pub async fn redrive(&self, limit: usize) -> Result<usize, DeadLetterError> {
        let n = self.queue.redrive(limit.clamp(1, Self::MAX)).await?;
        tracing::info!(count = n, "dead letters redriven");
        Ok(n)
    }
}
