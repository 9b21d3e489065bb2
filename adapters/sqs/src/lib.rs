//! `Queue` on Amazon SQS (standard queue plus a dead-letter queue).
//!
//! - Receive long-polls (`wait` ≤ 20 s) for up to 10 messages, asking for
//!   `ApproximateReceiveCount`, which becomes the delivery's attempt number.
//! - Ack deletes; a receipt that is no longer valid (already acked, or redelivered) is
//!   success, as the port requires.
//! - Dead-lettering is SQS's own redrive policy (`maxReceiveCount`); with
//!   `create_queues` the queue and its DLQ are created with that policy at start.
//! - Every call has an attempt timeout, so a receive can never hang.
//! - Dead letters are listed and redriven as `dead_letters.rs` explains.
//! - A message's trace context travels as String message attributes (`traceparent`,
//!   `tracestate`), which SQS keeps through redelivery and dead-lettering.

mod dead_letters;
mod metering;

use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use orderflow_core::ports::{
    CallMeter, DeadLetter, Delivery, NoMeter, Outgoing, Published, Queue, QueueError, Receipt,
    Refused, TraceContext, MAX_BODY_BYTES,
};
use orderflow_core::retry::Permanent;
use orderflow_core::BoxError;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SqsSettings {
    pub queue_name: String,
    pub dlq_name: String,
    pub create_queues: bool,
    pub visibility_timeout: Duration,
    pub max_receives: u32,
    /// Bound on every call other than a long-poll receive.
    pub call_timeout: Duration,
}

pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dlq_url: String,
    settings: SqsSettings,
}

fn unavailable(e: impl Into<BoxError>) -> QueueError {
    QueueError::Unavailable(e.into())
}

/// The attributes that carry a trace context; SQS allows ten per message.
const TRACE_KEYS: [&str; 2] = ["traceparent", "tracestate"];

fn trace_attributes(
    trace: &TraceContext,
) -> Result<Option<std::collections::HashMap<String, MessageAttributeValue>>, QueueError> {
    let mut out = std::collections::HashMap::new();
    for key in TRACE_KEYS {
        // SQS refuses empty attribute values; an empty one says nothing anyway.
        if let Some(v) = trace.0.get(key).filter(|v| !v.is_empty()) {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(unavailable)?;
            out.insert(key.to_owned(), value);
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

fn trace_of(m: &aws_sdk_sqs::types::Message) -> TraceContext {
    let mut trace = TraceContext::default();
    if let Some(attrs) = m.message_attributes() {
        for key in TRACE_KEYS {
            if let Some(v) = attrs.get(key).and_then(|a| a.string_value()) {
                trace.0.insert(key.to_owned(), v.to_owned());
            }
        }
    }
    trace
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_millis().div_ceil(1000))
        .unwrap_or(i32::MAX)
        .min(43_200)
}

impl SqsQueue {
    pub async fn connect(
        sdk: &aws_config::SdkConfig,
        settings: SqsSettings,
    ) -> Result<Self, BoxError> {
        Self::connect_metered(sdk, settings, std::sync::Arc::new(NoMeter)).await
    }

    /// `connect`, counting every request sent (each attempt) on `meter`.
    pub async fn connect_metered(
        sdk: &aws_config::SdkConfig,
        settings: SqsSettings,
        meter: std::sync::Arc<dyn CallMeter>,
    ) -> Result<Self, BoxError> {
        let config = aws_sdk_sqs::config::Builder::from(sdk)
            .interceptor(metering::RequestCounter(meter))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(settings.call_timeout)
                    // Retries included: an unreachable queue fails within this, so the
                    // relay and the worker notice an outage promptly.
                    .operation_timeout(settings.call_timeout)
                    .build(),
            )
            .build();
        let client = Client::from_conf(config);
        let (queue_url, dlq_url) = if settings.create_queues {
            let dlq_url = create(&client, &settings.dlq_name, vec![]).await?;
            let arn = client
                .get_queue_attributes()
                .queue_url(&dlq_url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| start_error("the dead-letter queue's ARN", e))?
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .ok_or("the dead-letter queue has no ARN")?;
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": settings.max_receives.to_string()});
            let queue_url = create(
                &client,
                &settings.queue_name,
                vec![
                    (QueueAttributeName::RedrivePolicy, policy.to_string()),
                    (
                        QueueAttributeName::VisibilityTimeout,
                        secs(settings.visibility_timeout).to_string(),
                    ),
                ],
            )
            .await?;
            (queue_url, dlq_url)
        } else {
            (
                url_of(&client, &settings.queue_name).await?,
                url_of(&client, &settings.dlq_name).await?,
            )
        };
        Ok(Self {
            client,
            queue_url,
            dlq_url,
            settings,
        })
    }

    /// A cheap round trip to the main queue, for readiness checks.
    pub async fn ping(&self) -> Result<(), BoxError> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await?;
        Ok(())
    }

    async fn receive_from(
        &self,
        url: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let wait_secs = secs(wait).min(20);
        // A long poll legitimately takes up to `wait`: give this call that much more.
        let attempt = TimeoutConfig::builder()
            .operation_attempt_timeout(wait + self.settings.call_timeout)
            .operation_timeout(wait + self.settings.call_timeout)
            .build();
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(wait_secs)
            .visibility_timeout(secs(visibility))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .set_message_attribute_names(Some(TRACE_KEYS.map(str::to_owned).to_vec()))
            .customize()
            .config_override(aws_sdk_sqs::config::Builder::default().timeout_config(attempt))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                Some(Delivery {
                    message_id: m.message_id()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receipt: Receipt(m.receipt_handle()?.to_owned()),
                    receive_count: m
                        .attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                    trace: trace_of(m),
                })
            })
            .collect())
    }

    /// Sends in batch calls of up to ten entries and `MAX_BODY_BYTES` in all (SQS
    /// refuses a whole call over its size limit, so one large entry must not share a
    /// call). An entry over the limit on its own is refused without a call; SQS's
    /// per-entry failures are refused entries too, never a failed call.
    async fn send_batch(&self, url: &str, messages: &[Outgoing]) -> Result<Published, QueueError> {
        let mut published = Published::all();
        let mut call: Vec<usize> = Vec::with_capacity(10);
        let mut bytes = 0;
        for (index, m) in messages.iter().enumerate() {
            let size = m.size();
            if size > MAX_BODY_BYTES {
                published.refused.push(Refused {
                    index,
                    reason: format!("message is {size} bytes, over the limit of {MAX_BODY_BYTES}"),
                });
                continue;
            }
            if call.len() == 10 || bytes + size > MAX_BODY_BYTES {
                self.send_call(url, messages, &call, &mut published).await?;
                call.clear();
                bytes = 0;
            }
            call.push(index);
            bytes += size;
        }
        if !call.is_empty() {
            self.send_call(url, messages, &call, &mut published).await?;
        }
        published.refused.sort_by_key(|r| r.index);
        Ok(published)
    }

    /// One `SendMessageBatch` of `messages[i]` for each `i` in `call`; entries are
    /// named by their index, so failures map back to it.
    async fn send_call(
        &self,
        url: &str,
        messages: &[Outgoing],
        call: &[usize],
        published: &mut Published,
    ) -> Result<(), QueueError> {
        let mut entries = Vec::with_capacity(call.len());
        for &i in call {
            let m = &messages[i];
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&m.body)
                    .set_message_attributes(trace_attributes(&m.trace)?)
                    .build()
                    .map_err(unavailable)?,
            );
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(unavailable)?;
        for f in out.failed() {
            let index = f
                .id()
                .parse::<usize>()
                .ok()
                .filter(|i| call.contains(i))
                .ok_or_else(|| unavailable(format!("SQS named an unknown entry {:?}", f.id())))?;
            published.refused.push(Refused {
                index,
                reason: format!("{}: {}", f.code(), f.message().unwrap_or("no reason given")),
            });
        }
        Ok(())
    }

    /// Deletes in calls of ten. An invalid receipt (already deleted, expired) counts as
    /// deleted, as in `ack`.
    async fn delete_batch(&self, url: &str, receipts: &[Receipt]) -> Result<(), QueueError> {
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&r.0)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(f) = out
                .failed()
                .iter()
                .find(|f| f.code() != "ReceiptHandleIsInvalid")
            {
                return Err(unavailable(format!(
                    "SQS did not delete {} of {} messages: {}",
                    out.failed().len(),
                    chunk.len(),
                    f.message().unwrap_or(f.code())
                )));
            }
        }
        Ok(())
    }

    async fn set_visibility(&self, receipt: &Receipt, d: Duration) -> Result<(), QueueError> {
        match self
            .client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&receipt.0)
            .visibility_timeout(secs(d))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Acked or redelivered meanwhile: nothing left to change.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_receipt_handle_is_invalid() || s.is_message_not_inflight()
                }) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

async fn create(
    client: &Client,
    name: &str,
    attributes: Vec<(QueueAttributeName, String)>,
) -> Result<String, BoxError> {
    let mut req = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        req = req.attributes(k, v);
    }
    Ok(req
        .send()
        .await
        .map_err(|e| start_error(&format!("creating queue {name:?}"), e))?
        .queue_url()
        .ok_or("create_queue returned no URL")?
        .to_owned())
}

/// AWS error codes no retry can fix: the credentials or their rights, or a queue that
/// does not exist (the JSON and the query protocol name it differently).
const PERMANENT_CODES: &[&str] = &[
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSecurity",
    "AccessDenied",
    "AccessDeniedException",
];

/// A start-up call's error with its whole cause chain, marked `Permanent` when
/// waiting cannot help.
fn start_error<E>(what: &str, e: E) -> BoxError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let permanent = e.code().is_some_and(|c| PERMANENT_CODES.contains(&c));
    let e: BoxError = match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{what}: {code}: {message}").into(),
        _ => format!("{what}: {}", DisplayErrorContext(&e)).into(),
    };
    if permanent {
        Permanent::boxed(e)
    } else {
        e
    }
}

async fn url_of(client: &Client, name: &str) -> Result<String, BoxError> {
    let out = client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| start_error(&format!("queue {name:?}"), e))?;
    Ok(out
        .queue_url()
        .ok_or("get_queue_url returned no URL")?
        .to_owned())
}

#[async_trait::async_trait]
impl Queue for SqsQueue {
    async fn publish(&self, messages: &[Outgoing]) -> Result<Published, QueueError> {
        self.send_batch(&self.queue_url, messages).await
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        self.receive_from(&self.queue_url, max, wait, self.settings.visibility_timeout)
            .await
    }

    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError> {
        match self
            .client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&receipt.0)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_receipt_handle_is_invalid()) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn ack_many(&self, receipts: &[Receipt]) -> Result<(), QueueError> {
        self.delete_batch(&self.queue_url, receipts).await
    }

    async fn retry_after(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError> {
        self.set_visibility(receipt, delay).await
    }

    async fn extend(&self, receipt: &Receipt, by: Duration) -> Result<(), QueueError> {
        self.set_visibility(receipt, by).await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.list_dead(limit).await
    }

    async fn redrive(&self, limit: usize) -> Result<usize, QueueError> {
        self.redrive_dead(limit).await
    }

    async fn count_dead_letters(&self) -> Result<usize, QueueError> {
        self.count_dead().await
    }

    async fn drop_dead_letter(&self, message_id: &str) -> Result<bool, QueueError> {
        self.drop_dead(message_id).await
    }
}

/// `GetQueueAttributes` on the main queue, bounded by the call timeout.
#[async_trait::async_trait]
impl orderflow_core::ports::Health for SqsQueue {
    async fn health(&self) -> Result<(), BoxError> {
        self.ping().await
    }
}
