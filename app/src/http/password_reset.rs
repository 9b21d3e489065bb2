//! `/api/auth/password-reset*`: a customer who forgot their password gets a link by
//! email and sets a new one with it.

use super::error::{ApiError, Problem};
use super::extract::{ClientAddr, JsonBody};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The `token` of the emailed link.
    pub token: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// Ask for a password-reset link. The answer is 202 whether or not an account has the
/// address, so it reveals nothing; when one has, an email with a link
/// (`auth.reset_url?token=…`) follows, good once for `auth.reset_ttl_ms`.
#[utoipa::path(post, operation_id = "request_password_reset", path = "/api/auth/password-reset", tag = "auth", request_body = ResetRequest,
    responses((status = 202, description = "accepted: a link is emailed if an account has this address"),
        (status = 422, description = "validation_failed: not an email address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited, with Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn request_password_reset(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    s.services
        .auth
        .request_password_reset(&body.email, client.as_deref())
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with the token of a reset link. The token works once; every
/// login of the account ends (its refresh tokens at once, its access tokens within
/// `auth.revocation_check_ms`), and the customer logs in with the new password.
#[utoipa::path(post, operation_id = "confirm_password_reset", path = "/api/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirm,
    responses((status = 204, description = "the password is set; every login ended"),
        (status = 400, description = "invalid_reset_token: unknown, used or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: the new password (the token stays good)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited, with Retry-After", body = Problem, content_type = "application/problem+json")))]
pub async fn confirm_password_reset(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    s.services
        .auth
        .confirm_password_reset(&body.token, body.password, client.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
