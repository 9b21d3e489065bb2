//! `/api/auth/*`

use super::error::{ApiError, Problem};
use super::extract::{Authenticated, ClientAddr, CurrentLogin, JsonBody};
use super::views::{Credentials, MeView, PasswordChange, RefreshRequest, TokenView, UserView};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use orderflow_core::usecases::TokenPair;

fn tokens(pair: TokenPair) -> Json<TokenView> {
    Json(TokenView {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token.0,
        token_type: "Bearer",
        expires_in: pair.expires_in_secs,
    })
}

/// Create a customer account.
#[utoipa::path(post, operation_id = "register_user", path = "/api/auth/register", tag = "auth", request_body = Credentials,
    responses((status = 201, description = "the new account", body = UserView),
        (status = 409, description = "email_taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited, with Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn register(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let user = s
        .services
        .auth
        .register(&body.email, body.password, client.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

/// Exchange email and password for an access token and a refresh token.
#[utoipa::path(post, operation_id = "log_in", path = "/api/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, description = "a token pair", body = TokenView),
        (status = 401, description = "unauthorized: unknown email or wrong password, one answer", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited, with Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn login(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Json<TokenView>, ApiError> {
    Ok(tokens(
        s.services
            .auth
            .login(&body.email, body.password, client.as_deref())
            .await?,
    ))
}

/// Trade a refresh token for a new pair; the old one stops working. Presenting it
/// again within `auth.refresh_reuse_grace_ms` (before the new one was used) returns
/// the same new refresh token; later, presenting an already-rotated token revokes the
/// whole login.
#[utoipa::path(post, operation_id = "refresh_tokens", path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "a token pair", body = TokenView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json")))]
pub async fn refresh(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Json<TokenView>, ApiError> {
    Ok(tokens(
        s.services
            .auth
            .refresh(&body.refresh_token, client.as_deref())
            .await?,
    ))
}

/// Change the caller's password. Every other login of the account ends (its refresh
/// tokens at once, its access tokens within `auth.revocation_check_ms`); the caller's
/// login goes on.
#[utoipa::path(post, operation_id = "change_password", path = "/api/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204, description = "changed; the account's other logins ended"),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong_password: the current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: the new password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited, with Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn change_password(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    login: CurrentLogin,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    s.services
        .auth
        .change_password(
            login.actor.user_id,
            login.session,
            body.current_password,
            body.new_password,
            client.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End the login the refresh token belongs to: its refresh token at once, its access
/// tokens within `auth.revocation_check_ms`.
#[utoipa::path(post, operation_id = "log_out", path = "/api/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "logged out")))]
pub async fn logout(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    s.services.auth.logout(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the bearer token belongs to.
#[utoipa::path(get, operation_id = "get_current_user", path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "the caller", body = MeView),
        (status = 401, description = "unauthorized", body = Problem, content_type = "application/problem+json")))]
pub async fn me(
    State(s): State<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<Json<MeView>, ApiError> {
    let user = s.services.auth.me(actor.user_id).await?;
    Ok(Json(MeView {
        id: user.id.0,
        email: user.email.to_string(),
        role: user.role.as_str().into(),
    }))
}
