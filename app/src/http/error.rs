//! The one place where errors become HTTP: every use-case error maps to a status and a
//! stable `code`, rendered as `application/problem+json`. 5xx bodies are opaque; the
//! cause chain goes to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use orderflow_core::domain::ParseError;
use orderflow_core::usecases::{
    AuthError, CancelOrderError, CatalogError, CreateWebhookError, GetOrderError, ListOrdersError,
    LoginError, PasswordChangeError, PlaceOrderError, RedeliverError, RefreshError, RegisterError,
    ResetConfirmError, ResetRequestError, RoleChangeError, UserLookupError, WebhookError,
};
use orderflow_core::BoxError;
use serde::Serialize;

/// An API error. Each variant's doc names its status and code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422 `validation_failed`
    #[error("{0}")]
    Validation(String),
    /// 422 `unknown_sku`
    #[error("{0}")]
    UnknownSku(String),
    /// 422 `webhook_url_refused`: well formed, but not an address webhooks may reach
    #[error("{0}")]
    WebhookUrlRefused(String),
    /// 422 `idempotency_conflict`
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyConflict,
    /// 400 `invalid_json`
    #[error("{0}")]
    InvalidJson(String),
    /// 415 `unsupported_media_type`
    #[error("expected a body with Content-Type: application/json")]
    UnsupportedMediaType,
    /// 401 `unauthorized`
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403 `forbidden`
    #[error("this action needs the admin role")]
    Forbidden,
    /// 400 `invalid_reset_token`: unknown, used or expired (one answer for all three)
    #[error("this reset link is invalid, used or expired; ask for a new one")]
    InvalidResetToken,
    /// 403 `wrong_password`
    #[error("the current password is wrong")]
    WrongPassword,
    /// 404 `not_found`
    #[error("{0}")]
    NotFound(&'static str),
    /// 405 `method_not_allowed`
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// 409 `email_taken`
    #[error("an account with this email already exists")]
    EmailTaken,
    /// 409 `sku_taken`
    #[error("a product with this sku already exists")]
    SkuTaken,
    /// 409 `insufficient_stock`
    #[error("{0}")]
    InsufficientStock(String),
    /// 409 `invalid_state`
    #[error("{0}")]
    InvalidState(String),
    /// 409 `order_busy`, with `Retry-After`: the worker is settling the order; the
    /// retry gets the settled state (or cancels, if the settlement was abandoned).
    #[error("{0}")]
    OrderBusy(String),
    /// 408 `timeout`
    #[error("the request took too long")]
    Timeout,
    /// 429 `rate_limited`, with `Retry-After`
    #[error("too many attempts; retry after {} s", .0.as_secs())]
    RateLimited(std::time::Duration),
    /// 429 `too_many_streams`, with `Retry-After`: this process holds `http.max_streams`
    /// live streams; another instance (or a retry) takes it.
    #[error("too many live streams on this instance; retry shortly")]
    TooManyStreams,
    /// 413 `payload_too_large`
    #[error("request body is too large")]
    PayloadTooLarge,
    /// 503 `unavailable`: a dependency did not answer; retry later.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] BoxError),
    /// 500 `internal`
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use ApiError::*;
        match self {
            Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            UnknownSku(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_sku"),
            IdempotencyConflict => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_conflict"),
            WebhookUrlRefused(_) => (StatusCode::UNPROCESSABLE_ENTITY, "webhook_url_refused"),
            InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            InvalidResetToken => (StatusCode::BAD_REQUEST, "invalid_reset_token"),
            WrongPassword => (StatusCode::FORBIDDEN, "wrong_password"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            SkuTaken => (StatusCode::CONFLICT, "sku_taken"),
            InsufficientStock(_) => (StatusCode::CONFLICT, "insufficient_stock"),
            InvalidState(_) => (StatusCode::CONFLICT, "invalid_state"),
            OrderBusy(_) => (StatusCode::CONFLICT, "order_busy"),
            Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            TooManyStreams => (StatusCode::TOO_MANY_REQUESTS, "too_many_streams"),
            Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The problem for a bare error status produced outside our handlers (routing,
    /// timeouts, body limits), so every error has the same shape.
    pub fn from_status(status: StatusCode) -> Option<ApiError> {
        Some(match status {
            StatusCode::NOT_FOUND => ApiError::NotFound("no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => ApiError::Timeout,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable("service unavailable".into()),
            s if s.is_server_error() => ApiError::Internal(format!("bare {s} response").into()),
            _ => return None,
        })
    }

    pub fn problem(&self) -> Problem {
        let (status, code) = self.status_and_code();
        let detail = match self {
            ApiError::Internal(_) => {
                "something went wrong on our side; the request id identifies it in our logs"
                    .to_owned()
            }
            ApiError::Unavailable(_) => "a dependency is unavailable; retry shortly".to_owned(),
            other => other.to_string(),
        };
        Problem {
            r#type: format!("https://orderflow.dev/problems/{}", code.replace('_', "-")),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code,
            request_id: None,
        }
    }
}

/// The RFC 9457 body. `request_id` is filled in by the middleware that knows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[schema(value_type = String)]
    pub code: &'static str,
    pub request_id: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, source = ?cause, "request failed")
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, source = ?cause, "dependency unavailable")
            }
            _ => {}
        }
        let mut res = status.into_response();
        if let ApiError::Unauthorized(_) = self {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::Unavailable(_) | ApiError::OrderBusy(_) | ApiError::TooManyStreams = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::RateLimited(wait) = &self {
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res.extensions_mut().insert(self.problem());
        res
    }
}

impl From<orderflow_core::usecases::DeadLetterError> for ApiError {
    fn from(e: orderflow_core::usecases::DeadLetterError) -> Self {
        use orderflow_core::usecases::DeadLetterError::*;
        match e {
            NotFound => ApiError::NotFound("no such dead letter"),
            Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<orderflow_core::usecases::OwedEmailsError> for ApiError {
    fn from(e: orderflow_core::usecases::OwedEmailsError) -> Self {
        match e {
            orderflow_core::usecases::OwedEmailsError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<orderflow_core::usecases::SetAsideError> for ApiError {
    fn from(e: orderflow_core::usecases::SetAsideError) -> Self {
        use orderflow_core::usecases::SetAsideError::*;
        match e {
            NotFound => ApiError::NotFound("no such order"),
            Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        ApiError::Validation(e.to_string())
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::Invalid(p) => p.into(),
            RegisterError::EmailTaken => ApiError::EmailTaken,
            RegisterError::RateLimited(d) => ApiError::RateLimited(d),
            RegisterError::Unavailable(c) => ApiError::Unavailable(c),
            RegisterError::Unexpected(c) => ApiError::Internal(c),
        }
    }
}

impl From<PasswordChangeError> for ApiError {
    fn from(e: PasswordChangeError) -> Self {
        match e {
            PasswordChangeError::Invalid(p) => p.into(),
            PasswordChangeError::WrongPassword => ApiError::WrongPassword,
            PasswordChangeError::RateLimited(d) => ApiError::RateLimited(d),
            PasswordChangeError::Unauthenticated => ApiError::Unauthorized("not authenticated"),
            PasswordChangeError::Unavailable(c) => ApiError::Unavailable(c),
            PasswordChangeError::Unexpected(c) => ApiError::Internal(c),
        }
    }
}

impl From<RoleChangeError> for ApiError {
    fn from(e: RoleChangeError) -> Self {
        match e {
            RoleChangeError::UnknownRole => ApiError::Validation(e.to_string()),
            RoleChangeError::UnknownUser => ApiError::NotFound("no such user"),
            RoleChangeError::OwnRole => ApiError::InvalidState(e.to_string()),
            RoleChangeError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<UserLookupError> for ApiError {
    fn from(e: UserLookupError) -> Self {
        match e {
            UserLookupError::NotFound => ApiError::NotFound("no such user"),
            UserLookupError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<CreateWebhookError> for ApiError {
    fn from(e: CreateWebhookError) -> Self {
        match e {
            CreateWebhookError::Invalid(p) => p.into(),
            CreateWebhookError::Refused(why) => ApiError::WebhookUrlRefused(format!("url: {why}")),
            CreateWebhookError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::NotFound => ApiError::NotFound("no such webhook"),
            WebhookError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<RedeliverError> for ApiError {
    fn from(e: RedeliverError) -> Self {
        match e {
            RedeliverError::NotFound => ApiError::NotFound("no such webhook"),
            RedeliverError::UnknownEvent => ApiError::NotFound("no such event for this webhook"),
            RedeliverError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<ResetRequestError> for ApiError {
    fn from(e: ResetRequestError) -> Self {
        match e {
            ResetRequestError::Invalid(p) => p.into(),
            ResetRequestError::RateLimited(d) => ApiError::RateLimited(d),
            ResetRequestError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<ResetConfirmError> for ApiError {
    fn from(e: ResetConfirmError) -> Self {
        match e {
            ResetConfirmError::Invalid(p) => p.into(),
            ResetConfirmError::InvalidToken => ApiError::InvalidResetToken,
            ResetConfirmError::RateLimited(d) => ApiError::RateLimited(d),
            ResetConfirmError::Unavailable(c) => ApiError::Unavailable(c),
            ResetConfirmError::Unexpected(c) => ApiError::Internal(c),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => ApiError::Unauthorized("invalid email or password"),
            LoginError::RateLimited(wait) => ApiError::RateLimited(wait),
            LoginError::Unavailable(c) => ApiError::Unavailable(c),
            LoginError::Unexpected(c) => ApiError::Internal(c),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::InvalidToken => ApiError::Unauthorized("invalid refresh token"),
            RefreshError::RateLimited(wait) => ApiError::RateLimited(wait),
            RefreshError::Unavailable(c) => ApiError::Unavailable(c),
            RefreshError::Unexpected(c) => ApiError::Internal(c),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated => ApiError::Unauthorized("missing or invalid bearer token"),
            AuthError::Unavailable(c) => ApiError::Unavailable(c),
            AuthError::Unexpected(c) => ApiError::Internal(c),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Invalid(p) => p.into(),
            CatalogError::NotFound => ApiError::NotFound("no such product"),
            CatalogError::SkuTaken => ApiError::SkuTaken,
            CatalogError::InsufficientStock => {
                ApiError::InsufficientStock("stock may not go below zero".into())
            }
            CatalogError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<PlaceOrderError> for ApiError {
    fn from(e: PlaceOrderError) -> Self {
        match e {
            PlaceOrderError::Invalid(p) => p.into(),
            e @ PlaceOrderError::UnknownSku(_) => ApiError::UnknownSku(e.to_string()),
            e @ PlaceOrderError::InsufficientStock(_) => ApiError::InsufficientStock(e.to_string()),
            PlaceOrderError::IdempotencyConflict => ApiError::IdempotencyConflict,
            PlaceOrderError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<GetOrderError> for ApiError {
    fn from(e: GetOrderError) -> Self {
        match e {
            GetOrderError::NotFound => ApiError::NotFound("no such order"),
            GetOrderError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<ListOrdersError> for ApiError {
    fn from(e: ListOrdersError) -> Self {
        match e {
            ListOrdersError::Invalid(p) => p.into(),
            ListOrdersError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}

impl From<CancelOrderError> for ApiError {
    fn from(e: CancelOrderError) -> Self {
        match e {
            CancelOrderError::NotFound => ApiError::NotFound("no such order"),
            e @ CancelOrderError::InvalidState(_) => ApiError::InvalidState(e.to_string()),
            e @ CancelOrderError::Busy => ApiError::OrderBusy(e.to_string()),
            CancelOrderError::Unavailable(c) => ApiError::Unavailable(c),
        }
    }
}
