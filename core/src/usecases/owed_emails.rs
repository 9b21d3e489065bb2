use crate::ports::{Clock, NotificationLedger, OrderRepoError};
use crate::BoxError;
use std::sync::Arc;
use tracing::instrument;

#[derive(Debug, thiserror::Error)]
pub enum OwedEmailsError {
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
}

impl From<OrderRepoError> for OwedEmailsError {
    fn from(e: OrderRepoError) -> Self {
        OwedEmailsError::Unavailable(Box::new(e))
    }
}

/// Outcome emails that are owed, for operators: after a mail outage, every owed email
/// can be made due at once instead of each waiting out its back-off (up to
/// `notify.retry_max_ms`). The due-email scans then send them, each once, as they
/// would have.
pub struct OwedEmails {
    pub ledger: Arc<dyn NotificationLedger>,
    pub clock: Arc<dyn Clock>,
}

impl OwedEmails {
    /// Makes every owed email due now; how many were waiting for a later time.
    #[instrument(skip_all)]
    pub async fn retry_now(&self) -> Result<usize, OwedEmailsError> {
        let n = self.ledger.make_due(self.clock.now()).await?;
        tracing::info!(count = n, "owed emails made due now");
        Ok(n)
    }
}
