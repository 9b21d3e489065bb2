use crate::ports::{DeadLetter, Queue, QueueError};
use crate::BoxError;
use std::sync::Arc;
use tracing::instrument;

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("no such dead letter")]
    NotFound,
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

    /// How many dead letters the queue holds (approximately, on SQS).
    pub async fn count(&self) -> Result<usize, DeadLetterError> {
        Ok(self.queue.count_dead_letters().await?)
    }

    /// Deletes one dead letter for good: for a message no redrive can help (a body no
    /// worker can read). An id no queue issues (queues' ids are at most 128 letters,
    /// digits, `-` and `_`) is not looked for.
    #[instrument(skip_all, fields(message_id))]
    pub async fn drop_one(&self, message_id: &str) -> Result<(), DeadLetterError> {
        let plausible = !message_id.is_empty()
            && message_id.len() <= 128
            && message_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plausible || !self.queue.drop_dead_letter(message_id).await? {
            return Err(DeadLetterError::NotFound);
        }
        tracing::warn!(message_id, "dead letter dropped");
        Ok(())
    }
}
