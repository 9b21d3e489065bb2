use crate::domain::{
    Email, ParseError, Password, RefreshSecret, Role, Session, SessionFamilyId, User, UserId,
};
use crate::ports::{
    AccessClaims, Clock, HashError, Mailer, PasswordHasher, RateLimiter, ResetTokens, Rotation,
    SessionRepo, SessionRepoError, TokenError, TokenIssuer, UserRepo, UserRepoError,
};
use crate::BoxError;
use std::sync::Arc;
use std::time::Duration;
use tracing::instrument;

/// An access token and the refresh token that can renew it.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: RefreshSecret,
    pub expires_in_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("email already registered")]
    EmailTaken,
    #[error("too many registrations from this client")]
    RateLimited(Duration),
    /// A dependency did not answer; worth a retry.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("could not register")]
    Unexpected(#[source] BoxError),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email and wrong password are one error, so the answer reveals nothing.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many attempts for this email or from this client; retry after the duration.
    #[error("too many login attempts")]
    RateLimited(Duration),
    /// A dependency did not answer; worth a retry.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("could not log in")]
    Unexpected(#[source] BoxError),
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired, revoked or reused token.
    #[error("invalid refresh token")]
    InvalidToken,
    /// Too many refreshes from this client; retry after the duration.
    #[error("too many refresh attempts")]
    RateLimited(Duration),
    /// A dependency did not answer; worth a retry.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("could not refresh")]
    Unexpected(#[source] BoxError),
}

/// For `me` and bearer checks.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not authenticated")]
    Unauthenticated,
    /// A dependency did not answer; worth a retry.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("could not authenticate")]
    Unexpected(#[source] BoxError),
}

fn unexpected<E: std::error::Error + Send + Sync + 'static>(e: E) -> BoxError {
    Box::new(e)
}

/// Why a new login could not be started.
#[derive(Debug)]
pub(super) enum SessionStart {
    Store(SessionRepoError),
    Token(TokenError),
}

impl From<UserRepoError> for LoginError {
    fn from(e: UserRepoError) -> Self {
        LoginError::Unavailable(unexpected(e))
    }
}
impl From<SessionRepoError> for LoginError {
    fn from(e: SessionRepoError) -> Self {
        LoginError::Unavailable(unexpected(e))
    }
}
impl From<SessionRepoError> for RefreshError {
    fn from(e: SessionRepoError) -> Self {
        RefreshError::Unavailable(unexpected(e))
    }
}
impl From<UserRepoError> for RefreshError {
    fn from(e: UserRepoError) -> Self {
        RefreshError::Unavailable(unexpected(e))
    }
}

impl Throttle {
    /// Refuses if any key already holds its limit, counting nothing.
    async fn peek(&self, keys: &[(String, u32)], on_outage: Outage) -> Result<(), Duration> {
        for (key, limit) in keys {
            match self.limiter.peek(key, *limit).await {
                Ok(a) if !a.allowed => return Err(a.retry_after.max(Duration::from_secs(1))),
                Ok(_) => {}
                Err(e) if on_outage == Outage::Refuse => {
                    tracing::warn!(error = %e, "rate limiter unavailable; refusing the attempt");
                    return Err(OUTAGE_RETRY_AFTER);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rate limiter unavailable; allowing the attempt")
                }
            }
        }
        Ok(())
    }

    /// Counts a failed attempt against every key.
    async fn record_failure(&self, keys: &[(String, u32)]) {
        for (key, limit) in keys {
            if let Err(e) = self.limiter.hit(key, *limit, self.window).await {
                tracing::warn!(error = %e, "rate limiter unavailable; a failed login went uncounted");
            }
        }
    }
}

/// A hasher too busy to queue another check is an outage (503 with `Retry-After`),
/// anything else a fault.
fn hash_failed(e: HashError) -> LoginError {
    match e {
        HashError::Busy => LoginError::Unavailable(unexpected(e)),
        e => LoginError::Unexpected(unexpected(e)),
    }
}

/// What a throttled attempt gets while the rate limiter cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outage {
    /// 429 with `Retry-After`: logins, where an unthrottled moment is a free run at
    /// guessing passwords.
    Refuse,
    /// Let it through: refreshes, which present a 256-bit secret nobody can guess;
    /// their throttle only spares the store, and refusing them would log everyone out.
    Allow,
}

/// `Retry-After` for an attempt refused because the limiter could not answer.
const OUTAGE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Attempt limits for login and refresh, per fixed window.
pub struct Throttle {
    pub limiter: Arc<dyn RateLimiter>,
    pub window: Duration,
    /// Failed logins per email address and client address per window.
    pub login_per_email: u32,
    /// Failed logins per email address from all clients together per window.
    pub login_failures_per_email: u32,
    /// Logins per client address per window.
    pub login_per_client: u32,
    /// Refreshes per client address per window.
    pub refresh_per_client: u32,
    /// Registrations per client address per window.
    pub register_per_client: u32,
    /// Password-reset requests per client address per window (beyond: 429).
    pub reset_per_client: u32,
    /// Reset emails per address per window (beyond: the usual answer, no email).
    pub reset_per_email: u32,
}

impl Throttle {
    /// Counts a password check (a login, a password change) against its client.
    pub(super) async fn login_attempt(&self, client: Option<&str>) -> Result<(), Duration> {
        match client {
            Some(c) => {
                self.check(
                    &[(format!("login:client:{c}"), self.login_per_client)],
                    Outage::Refuse,
                )
                .await
            }
            None => Ok(()),
        }
    }

    /// Counts a reset request: `Err` when the client asks too often; `Ok(false)` when
    /// the address had its share of emails (answered as usual, nothing sent).
    pub(super) async fn reset_request(
        &self,
        email: &Email,
        client: Option<&str>,
    ) -> Result<bool, Duration> {
        if let Some(c) = client {
            self.check(
                &[(format!("reset:client:{c}"), self.reset_per_client)],
                Outage::Refuse,
            )
            .await?;
        }
        Ok(self
            .check(
                &[(format!("reset:email:{email}"), self.reset_per_email)],
                Outage::Refuse,
            )
            .await
            .is_ok())
    }

    /// Counts one attempt against each key in turn and refuses at the first one over
    /// its limit, leaving the later keys uncounted: a client already refused for its
    /// own attempts does not also use up the limit of the email it aims at.
    ///
    /// A limiter that cannot answer (its outage, or no answer within its timeout) is
    /// `on_outage`'s to decide.
    async fn check(&self, keys: &[(String, u32)], on_outage: Outage) -> Result<(), Duration> {
        let mut wait: Option<Duration> = None;
        for (key, limit) in keys {
            match self.limiter.hit(key, *limit, self.window).await {
                Ok(a) if !a.allowed => {
                    wait = Some(a.retry_after);
                    break;
                }
                Ok(_) => {}
                Err(e) => match on_outage {
                    Outage::Refuse => {
                        tracing::warn!(error = %e, "rate limiter unavailable; refusing the attempt");
                        wait = Some(OUTAGE_RETRY_AFTER);
                        break;
                    }
                    Outage::Allow => {
                        tracing::warn!(error = %e, "rate limiter unavailable; allowing the attempt")
                    }
                },
            }
        }
        match wait {
            Some(w) => Err(w.max(Duration::from_secs(1))),
            None => Ok(()),
        }
    }
}

/// Registration, login, refresh-token rotation, logout and identity.
pub struct AuthService {
    pub users: Arc<dyn UserRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub tokens: Arc<dyn TokenIssuer>,
    pub clock: Arc<dyn Clock>,
    /// How long a login may be renewed without entering the password again.
    pub refresh_ttl: Duration,
    /// How long after a rotation presenting the replaced token again still gets the
    /// same successor instead of revoking the login.
    pub refresh_reuse_grace: Duration,
    pub throttle: Throttle,
    /// Logins ended recently, so their access tokens are refused without I/O.
    pub revoked: Arc<super::RevokedSessions>,
    pub resets: Arc<dyn ResetTokens>,
    /// Sends reset links. It MUST answer without waiting for the mail server (the
    /// wiring gives a mailer that sends in the background), so a reset request takes
    /// the same time whether or not an account has the address.
    pub reset_mailer: Arc<dyn Mailer>,
    pub reset: super::ResetSettings,
}

impl AuthService {
    #[instrument(skip_all, fields(user_id))]
    /// `client` is the caller's address, for throttling; `None` when unknown.
    pub async fn register(
        &self,
        email: &str,
        password: String,
        client: Option<&str>,
    ) -> Result<User, RegisterError> {
        if let Some(c) = client {
            self.throttle
                .check(
                    &[(
                        format!("register:client:{c}"),
                        self.throttle.register_per_client,
                    )],
                    // The hasher's own bound keeps a flood in check meanwhile.
                    Outage::Allow,
                )
                .await
                .map_err(RegisterError::RateLimited)?;
        }
        let email = Email::parse(email)?;
        let password = Password::parse(password)?;
        self.create_user(email, &password, Role::Customer).await
    }

    async fn create_user(
        &self,
        email: Email,
        password: &Password,
        role: Role,
    ) -> Result<User, RegisterError> {
        let password_hash = self.hasher.hash(password).await.map_err(|e| match e {
            HashError::Busy => RegisterError::Unavailable(unexpected(e)),
            e => RegisterError::Unexpected(unexpected(e)),
        })?;
        let user = User {
            id: UserId::new(),
            email,
            password_hash,
            role,
            created_at: self.clock.now(),
        };
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        match self.users.insert(&user).await {
            Ok(()) => {
                tracing::info!(role = user.role.as_str(), "user registered");
                Ok(user)
            }
            Err(UserRepoError::DuplicateEmail) => Err(RegisterError::EmailTaken),
            Err(e) => Err(RegisterError::Unavailable(unexpected(e))),
        }
    }

    /// Creates the configured admin unless a user with that email exists (then leaves
    /// it untouched, so restarts never reset a changed password). Returns true if created.
    #[instrument(skip_all)]
    pub async fn ensure_admin(
        &self,
        email: Email,
        password: &Password,
    ) -> Result<bool, RegisterError> {
        if self
            .users
            .by_email(&email)
            .await
            .map_err(|e| RegisterError::Unavailable(unexpected(e)))?
            .is_some()
        {
            return Ok(false);
        }
        match self.create_user(email, password, Role::Admin).await {
            Ok(_) => Ok(true),
            // Another process bootstrapping at the same time won the race: same outcome.
            Err(RegisterError::EmailTaken) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `client` is the caller's address, for throttling; `None` when unknown.
    #[instrument(skip_all, fields(user_id))]
    pub async fn login(
        &self,
        email: &str,
        password: String,
        client: Option<&str>,
    ) -> Result<TokenPair, LoginError> {
        // Every attempt counts against its client: that bounds the password hashing
        // any one client can cause. Only failures count against the email, per client
        // and across the fleet, so strangers failing elsewhere cannot lock the owner
        // out (unless they fail more often than the fleet-wide cap allows).
        self.throttle
            .login_attempt(client)
            .await
            .map_err(LoginError::RateLimited)?;
        let parsed = Email::parse(email);
        let account = match &parsed {
            Ok(e) => e.as_str().to_owned(),
            Err(_) => email.trim().to_lowercase(),
        };
        let failures: Vec<(String, u32)> = if account.len() <= 320 {
            vec![
                (
                    format!("login:fail:{account}:{}", client.unwrap_or("-")),
                    self.throttle.login_per_email,
                ),
                (
                    format!("login:fail:{account}"),
                    self.throttle.login_failures_per_email,
                ),
            ]
        } else {
            Vec::new()
        };
        self.throttle
            .peek(&failures, Outage::Refuse)
            .await
            .map_err(LoginError::RateLimited)?;
        let verified = self.verify_login(parsed, password).await;
        if matches!(verified, Err(LoginError::InvalidCredentials)) {
            self.throttle.record_failure(&failures).await;
        }
        let user = verified?;
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        self.start_session(&user).await.map_err(|e| match e {
            SessionStart::Store(e) => e.into(),
            SessionStart::Token(e) => LoginError::Unexpected(unexpected(e)),
        })
    }

    /// A new login for `user`: a refresh-token family and the first pair.
    pub(super) async fn start_session(&self, user: &User) -> Result<TokenPair, SessionStart> {
        let now = self.clock.now();
        let (secret, hash) = self.tokens.new_refresh();
        let session = Session {
            family: SessionFamilyId::new(),
            user_id: user.id,
            current: hash,
            previous: Vec::new(),
            created_at: now,
            expires_at: now
                + chrono::Duration::from_std(self.refresh_ttl)
                    .unwrap_or(chrono::Duration::days(30)),
            revoked_at: None,
            rotated_at: None,
        };
        self.sessions
            .create(&session)
            .await
            .map_err(SessionStart::Store)?;
        let access = self
            .tokens
            .issue_access(user.id, user.role, session.family, now)
            .map_err(SessionStart::Token)?;
        Ok(TokenPair {
            access_token: access.token,
            refresh_token: secret,
            expires_in_secs: access.expires_in_secs,
        })
    }

    /// The user whose email and password these are; `InvalidCredentials` for malformed
    /// input, an unknown email (after a dummy hash, so timing tells nothing) or a wrong
    /// password alike.
    async fn verify_login(
        &self,
        email: Result<Email, crate::domain::ParseError>,
        password: String,
    ) -> Result<User, LoginError> {
        let (Ok(email), Ok(password)) = (email, Password::parse(password)) else {
            return Err(LoginError::InvalidCredentials);
        };
        let Some(user) = self.users.by_email(&email).await? else {
            self.hasher
                .verify_dummy(&password)
                .await
                .map_err(hash_failed)?;
            return Err(LoginError::InvalidCredentials);
        };
        let ok = self
            .hasher
            .verify(&password, &user.password_hash)
            .await
            .map_err(hash_failed)?;
        if !ok {
            return Err(LoginError::InvalidCredentials);
        }
        Ok(user)
    }

    /// Trades a refresh token for a new pair. The presented token stops working; if it
    /// had already been traded, the whole login is revoked (someone else holds a copy) —
    /// unless it is presented again within `refresh_reuse_grace` of its rotation and the
    /// login has not moved on since: then the answer is the same successor (a refresh
    /// whose answer was lost, two tabs refreshing at once).
    #[instrument(skip_all, fields(user_id))]
    pub async fn refresh(
        &self,
        token: &str,
        client: Option<&str>,
    ) -> Result<TokenPair, RefreshError> {
        if let Some(c) = client {
            let key = [(
                format!("refresh:client:{c}"),
                self.throttle.refresh_per_client,
            )];
            self.throttle
                .check(&key, Outage::Allow)
                .await
                .map_err(RefreshError::RateLimited)?;
        }
        if token.is_empty() || token.len() > 512 {
            return Err(RefreshError::InvalidToken);
        }
        let presented_secret = RefreshSecret(token.to_owned());
        let presented = self.tokens.hash_refresh(&presented_secret);
        let (secret, next) = self.tokens.successor_refresh(&presented_secret);
        let now = self.clock.now();
        let (user_id, family) = match self
            .sessions
            .rotate(&presented, &next, now, self.refresh_reuse_grace)
            .await?
        {
            Rotation::Rotated { user_id, family } => (user_id, family),
            Rotation::Repeated { user_id, family } => {
                tracing::info!("refresh repeated within the grace; same successor");
                (user_id, family)
            }
            Rotation::Reused { family } => {
                tracing::warn!(family = %family.0, "refresh token reuse detected; login revoked");
                // Its access tokens go too: one of them may be in the same wrong hands.
                self.revoked.add(family, now);
                return Err(RefreshError::InvalidToken);
            }
            Rotation::Invalid => return Err(RefreshError::InvalidToken),
        };
        tracing::Span::current().record("user_id", tracing::field::display(user_id));
        // The role is read again so a demoted or deleted user cannot keep renewing.
        let Some(user) = self.users.by_id(user_id).await? else {
            self.sessions.revoke(&next, now).await?;
            self.revoked.add(family, now);
            return Err(RefreshError::InvalidToken);
        };
        let access = self
            .tokens
            .issue_access(user.id, user.role, family, now)
            .map_err(|e| RefreshError::Unexpected(unexpected(e)))?;
        Ok(TokenPair {
            access_token: access.token,
            refresh_token: secret,
            expires_in_secs: access.expires_in_secs,
        })
    }

    /// Ends the login the token belongs to. Unknown tokens are not an error: the
    /// outcome the caller wants (that token no longer works) holds either way.
    #[instrument(skip_all)]
    pub async fn logout(&self, token: &str) -> Result<(), RefreshError> {
        if token.is_empty() || token.len() > 512 {
            return Ok(());
        }
        let hash = self.tokens.hash_refresh(&RefreshSecret(token.to_owned()));
        let now = self.clock.now();
        if let Some(family) = self.sessions.revoke(&hash, now).await? {
            self.revoked.add(family, now);
        }
        Ok(())
    }

    /// Checks a bearer token. No I/O: the token carries id, role and login, and the
    /// ended logins are in memory (see `RevokedSessions`).
    pub fn authenticate(&self, bearer: &str) -> Result<AccessClaims, AuthError> {
        let claims = self
            .tokens
            .verify_access(bearer, self.clock.now())
            .map_err(|e| match e {
                TokenError::Invalid(_) => AuthError::Unauthenticated,
                other => AuthError::Unexpected(unexpected(other)),
            })?;
        if self.revoked.contains(&claims.session) {
            return Err(AuthError::Unauthenticated);
        }
        Ok(claims)
    }

    /// Reads the logins other processes ended since the last call.
    pub async fn refresh_revocations(&self) -> Result<usize, AuthError> {
        self.revoked
            .refresh(self.sessions.as_ref(), self.clock.now())
            .await
            .map_err(|e| AuthError::Unavailable(unexpected(e)))
    }

    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn me(&self, id: UserId) -> Result<User, AuthError> {
        self.users
            .by_id(id)
            .await
            .map_err(|e| AuthError::Unavailable(unexpected(e)))?
            .ok_or(AuthError::Unauthenticated)
    }
}
