//! Changes to an account that end its logins: a new password, a new role. Ending a
//! login revokes its refresh tokens at once and its access tokens within
//! `auth.revocation_check_ms` on every process (see `RevokedSessions`).

use super::AuthService;
use crate::domain::{ParseError, Password, Role, SessionFamilyId, User, UserId};
use crate::ports::{HashError, SessionRepoError, UserRepoError};
use crate::BoxError;
use std::time::Duration;
use tracing::instrument;

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    /// The new password is not acceptable.
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("too many attempts")]
    RateLimited(Duration),
    /// The account no longer exists.
    #[error("not authenticated")]
    Unauthenticated,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("could not change the password")]
    Unexpected(#[source] BoxError),
}

#[derive(Debug, thiserror::Error)]
pub enum RoleChangeError {
    #[error("role must be \"customer\" or \"admin\"")]
    UnknownRole,
    #[error("no such user")]
    UnknownUser,
    /// An admin demoting themselves could leave nobody able to manage the shop.
    #[error("an admin cannot change their own role")]
    OwnRole,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

impl From<UserRepoError> for PasswordChangeError {
    fn from(e: UserRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<SessionRepoError> for PasswordChangeError {
    fn from(e: SessionRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<HashError> for PasswordChangeError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Unavailable(Box::new(e)),
            e => Self::Unexpected(Box::new(e)),
        }
    }
}
/// Looking one account up (admin).
#[derive(Debug, thiserror::Error)]
pub enum UserLookupError {
    #[error("no such user")]
    NotFound,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

impl From<UserRepoError> for UserLookupError {
    fn from(e: UserRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<UserRepoError> for RoleChangeError {
    fn from(e: UserRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<SessionRepoError> for RoleChangeError {
    fn from(e: SessionRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}

impl AuthService {
    /// Sets a new password once the current one checks out and ends every other login
    /// of the account (changing a password is how people shut out whoever learned the
    /// old one); the caller's login, `session`, goes on. Answers how many ended.
    ///
    /// The password changes before the logins end, so a login someone makes with the
    /// old password meanwhile is ended too. `client` is throttled as a login is: a
    /// stolen access token must not become a free run at guessing the password.
    #[instrument(skip_all, fields(user_id = %user_id))]
    pub async fn change_password(
        &self,
        user_id: UserId,
        session: SessionFamilyId,
        current: String,
        new: String,
        client: Option<&str>,
    ) -> Result<usize, PasswordChangeError> {
        self.throttle
            .login_attempt(client)
            .await
            .map_err(PasswordChangeError::RateLimited)?;
        let new = Password::parse(new)?;
        let user = self
            .users
            .by_id(user_id)
            .await?
            .ok_or(PasswordChangeError::Unauthenticated)?;
        let current_ok = match Password::parse(current) {
            Ok(p) => self.hasher.verify(&p, &user.password_hash).await?,
            Err(_) => false,
        };
        if !current_ok {
            return Err(PasswordChangeError::WrongPassword);
        }
        let hash = self.hasher.hash(&new).await?;
        if !self.users.set_password(user.id, &hash).await? {
            return Err(PasswordChangeError::Unauthenticated);
        }
        let ended = self
            .end_logins(user.id, Some(session))
            .await
            .inspect_err(|e| {
                tracing::error!(error = %e, "password changed, but its other logins could not be ended; a retry with the new password ends them");
            })?;
        tracing::info!(ended, "password changed; every other login ended");
        Ok(ended)
    }

    /// One account as an administrator sees it.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn user(&self, id: UserId) -> Result<User, UserLookupError> {
        self.users.by_id(id).await?.ok_or(UserLookupError::NotFound)
    }

    /// Gives `user_id` another role and ends their logins, so no token carries the old
    /// role: they log in again and get the new one.
    #[instrument(skip_all, fields(user_id = %user_id, role))]
    pub async fn change_role(
        &self,
        acting: UserId,
        user_id: UserId,
        role: &str,
    ) -> Result<User, RoleChangeError> {
        let role = Role::parse(role).ok_or(RoleChangeError::UnknownRole)?;
        tracing::Span::current().record("role", role.as_str());
        if acting == user_id {
            return Err(RoleChangeError::OwnRole);
        }
        if !self.users.set_role(user_id, role).await? {
            return Err(RoleChangeError::UnknownUser);
        }
        let ended = self.end_logins(user_id, None).await?;
        tracing::info!(ended, "role changed; the user's logins ended");
        self.users
            .by_id(user_id)
            .await?
            .ok_or(RoleChangeError::UnknownUser)
    }

    /// Revokes every login of `user` but `keep`, here at once and elsewhere at the next
    /// revocation read.
    pub(super) async fn end_logins(
        &self,
        user: UserId,
        keep: Option<SessionFamilyId>,
    ) -> Result<usize, SessionRepoError> {
        let now = self.clock.now();
        let families: Vec<SessionFamilyId> = self.sessions.revoke_user(user, keep, now).await?;
        for f in &families {
            self.revoked.add(*f, now);
        }
        Ok(families.len())
    }
}
