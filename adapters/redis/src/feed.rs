use crate::RedisConn;
use futures::stream::BoxStream;
use futures::StreamExt;
use orderflow_core::domain::OrderId;
use orderflow_core::ports::{FeedEvent, OrderFeed};
use orderflow_core::retry::Backoff;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The order feed across processes: Redis pub/sub on one channel
/// (`<key_prefix>order-changes`, the order id as the message). Each process keeps one
/// subscribed connection, in a task that reconnects with back-off, and fans its
/// messages out to the process's subscriptions. After every (re)connect it sends
/// `Missed`: whatever was published meanwhile is lost, and followers re-read.
#[derive(Clone)]
pub struct RedisFeed {
    conn: RedisConn,
    channel: String,
    tx: broadcast::Sender<FeedEvent>,
    _listener: Arc<Listener>,
}

/// The listening task, stopped when the last handle goes.
struct Listener(tokio::task::JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Pauses between reconnects while Redis is away.
const RECONNECT: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

impl RedisFeed {
    /// Starts listening; call within a Tokio runtime.
    pub fn start(conn: RedisConn) -> Self {
        let channel = conn.key("order-changes");
        let tx = broadcast::channel(1024).0;
        let task = tokio::spawn(listen(conn.clone(), channel.clone(), tx.clone()));
        Self {
            conn,
            channel,
            tx,
            _listener: Arc::new(Listener(task)),
        }
    }
}

async fn listen(conn: RedisConn, channel: String, tx: broadcast::Sender<FeedEvent>) {
    let mut failures = 0u32;
    loop {
        match conn.subscribed(&channel).await {
            Ok(pubsub) => {
                if failures > 0 {
                    tracing::info!("order feed reconnected to redis");
                }
                failures = 0;
                let _ = tx.send(FeedEvent::Missed);
                let mut messages = pubsub.into_on_message();
                while let Some(msg) = messages.next().await {
                    let payload: String = msg.get_payload().unwrap_or_default();
                    match OrderId::parse(&payload) {
                        Some(id) => {
                            let _ = tx.send(FeedEvent::Changed(id));
                        }
                        None => {
                            tracing::warn!(%payload, "order feed: a message that is not an order id")
                        }
                    }
                }
                tracing::warn!("order feed: the redis subscription closed; reconnecting");
            }
            Err(e) => {
                if failures == 0 {
                    tracing::warn!(error = %e, "order feed: cannot subscribe on redis; retrying (live status streams fall back to reading the store)");
                }
            }
        }
        failures = failures.saturating_add(1);
        tokio::time::sleep(RECONNECT.after(failures)).await;
    }
}

#[async_trait::async_trait]
impl orderflow_core::ports::Health for RedisFeed {
    async fn health(&self) -> Result<(), orderflow_core::BoxError> {
        self.conn.ping().await
    }
}

#[async_trait::async_trait]
impl OrderFeed for RedisFeed {
    async fn publish(&self, order: OrderId) {
        let channel = self.channel.clone();
        // Failures are logged by `run` (muted while they repeat); the change is stored.
        let _ = self
            .conn
            .run(|mut c| async move {
                redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(order.to_string())
                    .query_async::<i64>(&mut c)
                    .await
            })
            .await;
    }

    fn subscribe(&self) -> BoxStream<'static, FeedEvent> {
        Box::pin(futures::stream::unfold(
            self.tx.subscribe(),
            |mut rx| async move {
                let event = match rx.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => FeedEvent::Missed,
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                Some((event, rx))
            },
        ))
    }
}
