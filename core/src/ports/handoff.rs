use crate::domain::{Order, OrderId};

/// Passes an order that was just stored (unpublished) to this process's relay, so its
/// queue message goes out in the relay's next batch instead of inside the request:
/// placements then cost one store write, and the queue sees up to ten messages per call.
///
/// MUST:
/// - return at once, never blocking or failing the caller;
/// - when it cannot take the order (buffer full, relay stopped), drop it silently: the
///   order is stored unpublished, so the relay's timed scan of
///   `Outbox::unpublished` publishes it after `relay.min_age_ms`. Nothing is lost,
///   only delayed;
/// - answer `holds` with true from `offer` until the order's publish call has ended
///   (either way), so the scan does not send a second copy of an order the hand-off is
///   still sending. Under a slow queue the hand-off can lag by more than `min_age`, and
///   a scan resending the same oldest orders on every tick floods the very queue that is
///   slow.
pub trait Handoff: Send + Sync {
    fn offer(&self, order: &Order);

    fn holds(&self, _id: &OrderId) -> bool {
        false
    }
}

/// Takes nothing: every order waits for the relay's timed scan. For processes (and
/// tests) that run no hand-off task.
pub struct NoHandoff;

impl Handoff for NoHandoff {
    fn offer(&self, _order: &Order) {}
}
