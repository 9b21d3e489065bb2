/// Where adapters count the requests they send to a service that bills or is sized by
/// them (a MongoDB command, an SQS request): what one order costs to run is read from
/// these counts (`scripts/bench cost`), in production as in a benchmark.
///
/// Callers (adapters) MUST:
/// - count every request as it is sent, once per attempt the service sees, retries of
///   their own and of the client library included, whoever asked for it (a request
///   whose caller stopped waiting was still sent, and is still billed);
/// - count, besides, each attempt that failed (an error reply, a timeout, a refused
///   connection) as a failure.
///
/// Implementations MUST return at once: they are called on every request's path.
pub trait CallMeter: Send + Sync {
    /// One command sent to the store (`command` as the wire protocol names it,
    /// `collection` the one it addresses, or "" for one that addresses none).
    fn store_command(&self, command: &str, collection: &str);
    /// One store command that failed.
    fn store_failure(&self, command: &str);
    /// One settlement try retried because what it read moved before its conditional
    /// write (its commands are counted by `store_command` as well).
    fn store_conflict_retry(&self);
    /// One request sent to the queue service (`action` as its API names it).
    fn queue_request(&self, action: &str);
    /// One queue request that failed.
    fn queue_failure(&self, action: &str);
}

/// Counts nothing: for adapters built outside a process that exports metrics (tests,
/// CLI commands).
pub struct NoMeter;

impl CallMeter for NoMeter {
    fn store_command(&self, _: &str, _: &str) {}
    fn store_failure(&self, _: &str) {}
    fn store_conflict_retry(&self) {}
    fn queue_request(&self, _: &str) {}
    fn queue_failure(&self, _: &str) {}
}
