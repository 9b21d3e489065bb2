//! Filling a batch from a channel for a short while: SQS bills per request, not per
//! message, so a call that waits a few milliseconds for its batch of ten to fill costs
//! a tenth of ten calls sent at once.

use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;

/// A channel's receiving end.
pub trait Recv<T> {
    /// The next item; `None` once every sender is gone and nothing is left. Cancel-safe.
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send;
}

impl<T: Send> Recv<T> for mpsc::Receiver<T> {
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send {
        mpsc::Receiver::recv(self)
    }
}

impl<T: Send> Recv<T> for mpsc::UnboundedReceiver<T> {
    fn recv(&mut self) -> impl Future<Output = Option<T>> + Send {
        mpsc::UnboundedReceiver::recv(self)
    }
}

/// Adds to `batch` what arrives until it holds `max` items or `linger` has passed,
/// whichever is first (or the channel closed). Items already waiting are taken at once,
/// so with `linger` zero it takes only those. Never loses an item: those received are
/// in `batch` whenever it returns.
pub async fn fill<T>(rx: &mut impl Recv<T>, batch: &mut Vec<T>, max: usize, linger: Duration) {
    let until = tokio::time::Instant::now() + linger;
    while batch.len() < max {
        // `timeout_at` polls the receive once even when the time is up, so what is
        // already waiting is taken.
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(item)) => batch.push(item),
            Ok(None) | Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_batch_fills_until_full_or_its_linger_ends() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..3 {
            tx.send(i).unwrap();
        }
        let mut got = Vec::new();
        fill(&mut rx, &mut got, 10, Duration::ZERO).await;
        assert_eq!(got, vec![0, 1, 2], "what waits is taken without lingering");

        let sender = tokio::spawn(async move {
            for i in 3..20 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                tx.send(i).unwrap();
            }
        });
        let started = tokio::time::Instant::now();
        let mut got = Vec::new();
        fill(&mut rx, &mut got, 5, Duration::from_secs(1)).await;
        assert_eq!(got, vec![3, 4, 5, 6, 7], "full before the linger ends");
        assert_eq!(started.elapsed(), Duration::from_millis(50));

        let mut got = Vec::new();
        fill(&mut rx, &mut got, 100, Duration::from_millis(35)).await;
        assert_eq!(got, vec![8, 9, 10], "what arrived within the linger");
        sender.await.unwrap();
    }
}
