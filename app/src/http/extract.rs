//! Extractors whose rejections are `ApiError`s, so malformed input gets the same
//! problem shape as every other error.

use super::error::ApiError;
use super::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use orderflow_core::domain::Role;
use orderflow_core::usecases::Actor;
use serde::de::DeserializeOwned;

/// A JSON body. Syntax errors → 400 `invalid_json`; wrong types, unknown or missing
/// fields → 422 `validation_failed`; too large → 413; wrong content type → 415.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonDataError(e) => ApiError::Validation(e.body_text()),
                JsonRejection::JsonSyntaxError(e) => ApiError::InvalidJson(e.body_text()),
                JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::PayloadTooLarge
                }
                other => ApiError::InvalidJson(other.body_text()),
            }),
        }
    }
}

/// Query parameters; anything unparseable is 422 `validation_failed`.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|e: QueryRejection| ApiError::Validation(e.body_text()))
    }
}

/// A path segment. One that does not decode (percent-encoded bytes that are not UTF-8)
/// names nothing that could exist: 404 `not_found`, as a problem like the rest.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|_| ApiError::NotFound("no such resource"))
    }
}

/// The authenticated caller, from `Authorization: Bearer <access token>`. Verified
/// from the token alone: no store is read.
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let login = CurrentLogin::from_request_parts(parts, state).await?;
        Ok(Authenticated(login.actor))
    }
}

/// The authenticated caller and the login their token was issued for.
pub struct CurrentLogin {
    pub actor: Actor,
    pub session: orderflow_core::domain::SessionFamilyId,
}

impl FromRequestParts<AppState> for CurrentLogin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let claims = claims(parts, state)?;
        Ok(CurrentLogin {
            actor: Actor {
                user_id: claims.user_id,
                role: claims.role,
            },
            session: claims.session,
        })
    }
}

/// The bearer token's verified claims.
fn claims(
    parts: &Parts,
    state: &AppState,
) -> Result<orderflow_core::ports::AccessClaims, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized("missing bearer token"))?;
    let (scheme, token) = header
        .split_once(' ')
        .ok_or(ApiError::Unauthorized("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized("expected a Bearer token"));
    }
    let claims = state.services.auth.authenticate(token.trim())?;
    // On the request's span, so every log line of the request says who asked.
    tracing::Span::current().record("user_id", tracing::field::display(claims.user_id));
    Ok(claims)
}

/// An authenticated admin; customers get 403.
pub struct Admin(pub Actor);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authenticated(actor) = Authenticated::from_request_parts(parts, state).await?;
        if actor.role != Role::Admin {
            return Err(ApiError::Forbidden);
        }
        Ok(Admin(actor))
    }
}

/// The request id set (or kept) by the request-id layer.
pub fn request_id(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The caller's address, for throttling: the TCP peer, unless the peer is one of
/// `http.trusted_proxies`; then the right-most `X-Forwarded-For` address that is not a
/// trusted proxy (each proxy appends the address it received from, so everything to
/// the left of that is whatever the client chose to send). `None` when unknown.
pub struct ClientAddr(pub Option<String>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(
            client_address(peer, &parts.headers, &state.trusted_proxies).map(|ip| ip.to_string()),
        ))
    }
}

fn client_address(
    peer: Option<std::net::IpAddr>,
    headers: &axum::http::HeaderMap,
    trusted: &[crate::config::Cidr],
) -> Option<std::net::IpAddr> {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return Some(peer);
        };
        for hop in value.split(',') {
            match hop.trim().parse() {
                Ok(ip) => hops.push(ip),
                // A hop we cannot read: nothing left of it can be placed either.
                Err(_) => hops.clear(),
            }
        }
    }
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use crate::config::Cidr;
    use axum::http::HeaderMap;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_client_is_the_right_most_address_no_trusted_proxy_owns() {
        let trusted: Vec<Cidr> = vec![
            "10.0.0.0/16".parse().unwrap(),
            "192.168.0.9".parse().unwrap(),
        ];
        let alb = Some("10.0.3.4".parse().unwrap());
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        // The ALB appended the client; the client's own forged entry is to its left.
        assert_eq!(
            client_address(alb, &xff(&["6.6.6.6, 203.0.113.5"]), &trusted),
            ip("203.0.113.5")
        );
        // Two trusted hops (a sidecar proxy, then the ALB).
        assert_eq!(
            client_address(alb, &xff(&["203.0.113.5", "192.168.0.9"]), &trusted),
            ip("203.0.113.5")
        );
        // An untrusted peer's header is its own invention.
        assert_eq!(
            client_address(ip("198.51.100.1"), &xff(&["203.0.113.5"]), &trusted),
            ip("198.51.100.1")
        );
        // Nothing usable in the header: the peer.
        assert_eq!(client_address(alb, &HeaderMap::new(), &trusted), alb);
        assert_eq!(client_address(alb, &xff(&["nonsense"]), &trusted), alb);
        assert_eq!(
            client_address(alb, &xff(&["203.0.113.5, nonsense"]), &trusted),
            alb
        );
        // Without trusted proxies, the header is never read.
        assert_eq!(client_address(alb, &xff(&["203.0.113.5"]), &[]), alb);
    }
}
