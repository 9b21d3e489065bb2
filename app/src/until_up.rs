//! Start-up steps against dependencies that may not be up yet.

use backon::Retryable;
use orderflow_core::retry::{Backoff, Permanent};
use orderflow_core::BoxError;
use std::time::Duration;

/// Half a second doubling to 15 s: quick while a dependency is still starting, then
/// a few tries a minute during an outage.
const START: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(15));

/// Retries a start-up step until it succeeds: a process started during an outage
/// waits for the dependency instead of exiting, and starts serving once it is back
/// (SIGTERM still stops it: `run` races start-up against the shutdown signal). A
/// `Permanent` error (bad credentials, a malformed address, a missing queue that is
/// not to be created) stops the start at once, naming the step.
pub(crate) async fn until_up<T, F, Fut>(what: &str, step: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, BoxError>>,
{
    let mut retried = false;
    let result = step
        .retry(START.pauses())
        .sleep(tokio::time::sleep)
        .when(|e: &BoxError| !Permanent::is(e.as_ref()))
        .notify(|e: &BoxError, pause: Duration| {
            retried = true;
            tracing::warn!(what, error = %e, ?pause, "dependency not reachable at start-up; retrying");
        })
        .await;
    match result {
        Ok(v) => {
            if retried {
                tracing::info!(what, "dependency is up");
            }
            Ok(v)
        }
        Err(e) => Err(anyhow::anyhow!(
            "{what}: {e} (retrying cannot fix this; check the settings)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_until_the_step_succeeds() {
        let calls = AtomicU32::new(0);
        let v = until_up("flaky", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=3 => Err::<u32, BoxError>("connection refused".into()),
                n => Ok(n),
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_stops_at_once_naming_the_step() {
        let calls = AtomicU32::new(0);
        let e = until_up("sqs (resolve the queues)", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), BoxError>(Permanent::boxed("queue \"orders\" does not exist"))
        })
        .await
        .unwrap_err()
        .to_string();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(
            e.contains("sqs (resolve the queues)") && e.contains("does not exist"),
            "{e}"
        );
    }
}
