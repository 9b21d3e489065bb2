use crate::domain::{Order, OrderId};
use crate::ports::{Outgoing, TraceContext};
use serde::{Deserialize, Serialize};

/// The queue message that asks the worker to process an order. Small on purpose: the
/// order itself is read from the store, which is the source of truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderMessage {
    pub order_id: OrderId,
    /// The placing request's id, so the worker's logs join up with the API's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The placing request's trace context: published beside the body, not in it.
    #[serde(skip)]
    pub traceparent: Option<String>,
}

impl OrderMessage {
    pub fn for_order(order: &Order) -> Self {
        Self {
            order_id: order.id,
            request_id: order.request_id.clone(),
            traceparent: order.traceparent.clone(),
        }
    }

    /// The message as the queue carries it: the body, and the trace context beside it.
    pub fn outgoing(&self) -> Outgoing {
        Outgoing {
            body: self.to_body(),
            trace: TraceContext::from_traceparent(self.traceparent.as_deref()),
        }
    }

    pub fn to_body(&self) -> String {
        // Serialising two plain fields cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_body(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}
