use crate::BoxError;

/// Whether an adapter's outside dependency answers at all. The ports that reach a
/// service require it, so readiness checks and the worker's wait after a store outage
/// ask the adapter itself instead of sending it a made-up request.
///
/// MUST:
/// - answer `Ok` only after a round trip to the dependency succeeded (an in-memory
///   adapter has none and always answers `Ok`);
/// - answer within the adapter's own timeout, never hang.
#[async_trait::async_trait]
pub trait Health: Send + Sync {
    async fn health(&self) -> Result<(), BoxError>;
}
