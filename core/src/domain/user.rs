use super::{Email, PasswordHash, Role, UserId};
use chrono::{DateTime, Utc};

/// A registered account. The password is only ever held as a hash.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub password_hash: PasswordHash,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}
