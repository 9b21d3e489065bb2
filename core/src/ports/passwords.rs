use crate::domain::{Password, PasswordHash};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Failed(String),
    /// Too many hashes are already waiting: answer "busy" at once rather than queue.
    #[error("too many password hashes are waiting")]
    Busy,
}

/// Hashes and checks passwords. Slow by design; adapters MUST run the work off the
/// async executor (a blocking pool) so one login never stalls other requests.
///
/// MUST:
/// - produce a salted hash in PHC string format;
/// - return `Ok(false)` for a wrong password or a hash it cannot parse, `Err` only when
///   the hashing machinery itself fails;
/// - make `verify_dummy` cost about as much as a real `verify`, so that logins for
///   unknown emails take as long as wrong passwords (and answer `Busy` exactly when
///   `verify` would);
/// - bound the work waiting for a core: beyond the bound, answer `Busy` at once;
/// - keep some capacity for `verify` however many `hash` calls (registrations) are
///   waiting, so a registration flood cannot hold logins back.
#[async_trait::async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError>;
    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError>;
}
