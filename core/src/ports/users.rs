use crate::domain::{Email, PasswordHash, Role, User, UserId};
use crate::BoxError;

#[derive(Debug, thiserror::Error)]
pub enum UserRepoError {
    #[error("a user with this email already exists")]
    DuplicateEmail,
    #[error("user store unavailable")]
    Unavailable(#[source] BoxError),
}

/// Where accounts live.
///
/// MUST:
/// - return `DuplicateEmail` from `insert` when a user with the same (normalised) email
///   exists, also when two inserts race: exactly one of them succeeds;
/// - return `Ok(None)` for a user that does not exist, never an error;
/// - make `set_password` and `set_role` change that one field and answer `false` for a
///   user that does not exist;
/// - return `Unavailable` when the store cannot answer (timeouts included).
#[async_trait::async_trait]
pub trait UserRepo: super::Health {
    async fn insert(&self, user: &User) -> Result<(), UserRepoError>;
    async fn by_email(&self, email: &Email) -> Result<Option<User>, UserRepoError>;
    async fn by_id(&self, id: UserId) -> Result<Option<User>, UserRepoError>;
    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<bool, UserRepoError>;
    async fn set_role(&self, id: UserId, role: Role) -> Result<bool, UserRepoError>;
}
