//! Passwords a customer can recover: a link by email, good once and for a while.

use super::emails::reset_email;
use super::AuthService;
use crate::domain::{Email, ParseError, Password, ResetSecret, ResetToken};
use crate::ports::{HashError, ResetRepoError, SessionRepoError, UserRepoError};
use crate::BoxError;
use std::time::Duration;
use tracing::instrument;

/// Where the emailed link points and how long it works.
#[derive(Debug, Clone)]
pub struct ResetSettings {
    /// The page that reads `?token=` and posts the new password with it.
    pub url: String,
    pub ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetRequestError {
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("too many reset requests")]
    RateLimited(Duration),
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
}

#[derive(Debug, thiserror::Error)]
pub enum ResetConfirmError {
    /// The new password is not acceptable (the token is still good).
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// Unknown, used or expired: one answer, so the token reveals nothing.
    #[error("the reset link is invalid, used or expired")]
    InvalidToken,
    #[error("too many attempts")]
    RateLimited(Duration),
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("could not reset the password")]
    Unexpected(#[source] BoxError),
}

impl From<UserRepoError> for ResetRequestError {
    fn from(e: UserRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<ResetRepoError> for ResetRequestError {
    fn from(e: ResetRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<UserRepoError> for ResetConfirmError {
    fn from(e: UserRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<ResetRepoError> for ResetConfirmError {
    fn from(e: ResetRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<SessionRepoError> for ResetConfirmError {
    fn from(e: SessionRepoError) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
impl From<HashError> for ResetConfirmError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Unavailable(Box::new(e)),
            e => Self::Unexpected(Box::new(e)),
        }
    }
}

/// The longest token a link carries (ours are 43 characters); longer is not ours.
const MAX_TOKEN_LEN: usize = 128;

impl AuthService {
    /// Emails a reset link when an account has this address. The answer is the same
    /// whether or not one has, so nobody learns which addresses have accounts: both
    /// ways look the user up and mint a token, and the email goes to a mailer that
    /// sends in the background (`AuthService::reset_mailer`). A client asking too often
    /// is refused; an address asked for too often gets no more emails for a while,
    /// with the usual answer.
    #[instrument(skip_all)]
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: Option<&str>,
    ) -> Result<(), ResetRequestError> {
        let email = Email::parse(email)?;
        let mail_allowed = self
            .throttle
            .reset_request(&email, client)
            .await
            .map_err(ResetRequestError::RateLimited)?;
        let user = self.users.by_email(&email).await?;
        let (secret, hash) = self.tokens.new_reset();
        let Some(user) = user else {
            return Ok(());
        };
        if !mail_allowed {
            tracing::info!(user_id = %user.id, "reset requests for this address over the limit; no email");
            return Ok(());
        }
        let now = self.clock.now();
        let reference = format!("password-reset-{}", &hash.0[..hash.0.len().min(16)]);
        self.resets
            .issue(&ResetToken {
                hash,
                user_id: user.id,
                created_at: now,
                expires_at: now + chrono::Duration::from_std(self.reset.ttl).unwrap_or_default(),
            })
            .await?;
        let email = reset_email(
            &user.email,
            &self.reset_link(&secret),
            self.reset.ttl,
            reference,
        );
        if let Err(e) = self.reset_mailer.send(&email).await {
            // The customer sees no difference and asks again; the token just lapses.
            tracing::warn!(user_id = %user.id, error = %e, "reset email not handed over");
        } else {
            tracing::info!(user_id = %user.id, "reset link sent");
        }
        Ok(())
    }

    /// Sets a new password with a token from a reset link, once, and ends every login
    /// of the account. The password is checked and hashed before the token is spent,
    /// so a refused password or a busy hasher leaves the link usable.
    #[instrument(skip_all)]
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        password: String,
        client: Option<&str>,
    ) -> Result<(), ResetConfirmError> {
        self.throttle
            .login_attempt(client)
            .await
            .map_err(ResetConfirmError::RateLimited)?;
        let password = Password::parse(password)?;
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(ResetConfirmError::InvalidToken);
        }
        let new_hash = self.hasher.hash(&password).await?;
        let presented = self.tokens.hash_reset(&ResetSecret(token.to_owned()));
        let user_id = self
            .resets
            .redeem(&presented, self.clock.now())
            .await?
            .ok_or(ResetConfirmError::InvalidToken)?;
        tracing::Span::current().record("user_id", tracing::field::display(user_id));
        if !self.users.set_password(user_id, &new_hash).await? {
            // The account was deleted after the link was sent.
            return Err(ResetConfirmError::InvalidToken);
        }
        let ended = self.end_logins(user_id, None).await.inspect_err(|e| {
            tracing::error!(error = %e, "password reset, but its logins could not be ended; a password change ends them");
        })?;
        tracing::info!(%user_id, ended, "password reset; every login ended");
        Ok(())
    }

    /// `reset.url` with the token as its `token` query parameter.
    fn reset_link(&self, secret: &ResetSecret) -> String {
        let join = if self.reset.url.contains('?') {
            '&'
        } else {
            '?'
        };
        // The secret is base64url: nothing in it needs escaping in a query.
        format!("{}{join}token={}", self.reset.url, secret.0)
    }
}
