//! `GET /api/orders/{id}/events`: an order's status, live, as server-sent events.
//!
//! Each event is one state of the order: `id` is the length of its history (one entry
//! per status change, so a later state has a larger id), `event: order`, and the order
//! as `GET /api/orders/{id}` shows it. The first event is the order as it is now
//! (unless `Last-Event-ID` says the client has it), then one per change; the stream
//! ends after a terminal status. Changes are heard on the order feed (`OrderFeed`,
//! from any process) and confirmed by reading the store, which each stream also does
//! every `http.stream_recheck_ms` in case the feed lost a message.

use super::error::{ApiError, Problem};
use super::extract::{Authenticated, PathParam};
use super::orders::order_id;
use super::views::OrderView;
use super::AppState;
use crate::health::Phase;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::BoxStream;
use futures::StreamExt;
use orderflow_core::domain::{Order, OrderId};
use orderflow_core::ports::FeedEvent;
use orderflow_core::usecases::{Actor, GetOrderError, OrderService};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// One event of the stream, as the OpenAPI document describes it (and schema checkers
/// read an event: its `id`, `event` and `data` fields).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the wire format; the events are built by `Event`
pub struct OrderEvent {
    /// The order's history length at this state: later states have larger ids.
    #[schema(example = "2")]
    pub id: String,
    /// Always `order`.
    #[schema(example = "order")]
    pub event: String,
    /// The order as `GET /api/orders/{id}` shows it, as JSON text.
    pub data: String,
}

/// The live streams of one process: how many may be open, and their pace.
pub struct Streams {
    pub slots: Arc<Semaphore>,
    pub heartbeat: Duration,
    pub recheck: Duration,
}

/// Follow an order's status live (`text/event-stream`). Same 404 rules as
/// `GET /api/orders/{id}`. A comment heartbeat comes every `http.stream_heartbeat_ms`
/// (15 s); `Last-Event-ID` resumes without repeating a state; the stream ends after a
/// terminal status, and when the instance shuts down (resume elsewhere).
#[utoipa::path(get, operation_id = "stream_order_events", path = "/api/orders/{id}/events", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path), ("Last-Event-ID" = Option<u32>, Header, description = "the id of the last event received")),
    responses((status = 200, description = "an event stream: `id: <n>`, `event: order`, `data: <the order>` per state", content_type = "text/event-stream", body = OrderEvent),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found (also for other users' orders)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: Last-Event-ID is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_streams, with Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn order_events(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
    PathParam(id): PathParam<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = order_id(&id)?;
    let seen = last_event_id(&headers)?;
    let slot = s
        .streams
        .slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyStreams)?;
    // Subscribed before the first read, so a change between the two is not lost.
    let feed = s.services.adapters.feed.subscribe();
    let order = s.services.orders.get(actor, id).await?;
    let follow = Follow {
        orders: s.services.orders.clone(),
        actor,
        id,
        sent: seen,
        next: Some(order),
        feed,
        phase: s.readiness.watch(),
        recheck: s.streams.recheck,
        ended: false,
        _slot: slot,
    };
    let events = futures::stream::unfold(follow, Follow::step);
    Ok(Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(s.streams.heartbeat)
                .text("heartbeat"),
        )
        .into_response())
}

/// `Last-Event-ID` as a number of states seen; 0 without the header.
fn last_event_id(headers: &HeaderMap) -> Result<usize, ApiError> {
    match headers.get("last-event-id") {
        None => Ok(0),
        Some(v) => v
            .to_str()
            .ok()
            // The document declares it an int32 of at least 0, as utoipa writes a u32.
            .and_then(|s| s.trim().parse::<i32>().ok())
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                ApiError::Validation("Last-Event-ID: must be an event id this stream sent".into())
            }),
    }
}

/// One stream's state between events.
struct Follow {
    orders: Arc<OrderService>,
    actor: Actor,
    id: OrderId,
    /// History length of the last state sent (or that the client had).
    sent: usize,
    /// The order as last read, not yet looked at.
    next: Option<Order>,
    feed: BoxStream<'static, FeedEvent>,
    phase: watch::Receiver<Phase>,
    recheck: Duration,
    ended: bool,
    _slot: OwnedSemaphorePermit,
}

impl Follow {
    async fn step(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(order) = self.next.take() {
                let n = order.history.len();
                let terminal = order.status.is_terminal();
                if n > self.sent {
                    self.sent = n;
                    self.ended = terminal;
                    return match Event::default()
                        .id(n.to_string())
                        .event("order")
                        .json_data(OrderView::from(&order))
                    {
                        Ok(event) => Some((Ok(event), self)),
                        Err(e) => {
                            tracing::error!(error = %e, "could not render an order event");
                            None
                        }
                    };
                }
                if terminal {
                    return None;
                }
            }
            if !self.wait().await {
                return None;
            }
            match self.orders.get(self.actor, self.id).await {
                Ok(order) => self.next = Some(order),
                Err(GetOrderError::NotFound) => return None,
                Err(e) => {
                    tracing::warn!(order_id = %self.id, error = %e, "live status: could not read the order; trying again");
                }
            }
        }
    }

    /// Waits for a reason to read the order again: a change of it on the feed, a
    /// possibly lost message, or the recheck interval. False once the process drains.
    async fn wait(&mut self) -> bool {
        let recheck = tokio::time::sleep(self.recheck);
        tokio::pin!(recheck);
        loop {
            tokio::select! {
                event = self.feed.next() => match event {
                    Some(FeedEvent::Changed(id)) if id != self.id => continue,
                    Some(_) => return true,
                    // The feed is gone: the rechecks alone keep the stream honest.
                    None => self.feed = futures::stream::pending().boxed(),
                },
                _ = &mut recheck => return true,
                _ = self.phase.wait_for(|p| *p == Phase::Draining) => return false,
            }
        }
    }
}
