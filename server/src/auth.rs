//! Who is calling, and what they may see.
//!
//! Accounts, roles and tokens live in [`crate::account`]; this module turns a request's bearer
//! token into a [`Caller`]. Something outside the caller's scope answers 404, never 403, so a rider cannot probe
//! which ticket ids or photo hashes exist. 403 is kept for what the caller can see but their role
//! may not do (a rider taking a triage action on their own ticket).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use gridline_protocol::Timestamp;
use gridline_protocol::wire::ErrorCode;

use crate::account::{User, token_hash};
use crate::error::ApiError;
use crate::listen::PeerAddr;
use crate::state::AppState;

/// The authenticated (and rate-limited) caller of a request. Extracting it answers 401 for a
/// missing, unknown or expired token and 429 when the token is over its rate.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<User>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        const FAILURES: &str = "failed authentications from this address";
        // A client address that sent too many bad tokens is refused before any lookup.
        let peer = parts.extensions.get::<PeerAddr>().map(|p| p.0.ip());
        let failures = state.auth_failures.as_deref().zip(peer);
        if let Some((limiter, ip)) = failures {
            limiter.peek(ip, FAILURES).await?;
        }
        // A failure counts against the address; over its limit, the answer is 429.
        let failed = |e: ApiError| async move {
            match failures {
                Some((limiter, ip)) => limiter.check(ip, FAILURES).await.err().unwrap_or(e),
                None => e,
            }
        };
        let token = match bearer_token(parts) {
            Ok(token) => token,
            Err(e) => return Err(failed(e).await),
        };
        let hash = token_hash(token);
        let store = state.store.clone();
        let found = crate::task::blocking(move || store.user_by_token(&hash)).await??;
        let Some((user, expires_at)) = found else {
            return Err(failed(unauthorized(ErrorCode::Unauthorized, "unknown token")).await);
        };
        if expires_at.is_some_and(|t| t <= Timestamp::now()) {
            return Err(failed(unauthorized(
                ErrorCode::TokenExpired,
                "the token has expired",
            ))
            .await);
        }
        if let Some(limiter) = &state.rate_limiter {
            limiter.check(user.id, "requests for this token").await?;
        }
        Ok(Caller(Arc::new(user)))
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "an Authorization: Bearer token is required",
        )
        .with_header("www-authenticate", CHALLENGE));
    };
    let text = value.to_str().unwrap_or("");
    let token = text
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    token.ok_or_else(|| {
        unauthorized(
            ErrorCode::Unauthorized,
            "the Authorization header must be `Bearer <token>`",
        )
    })
}

/// The RFC 6750 challenge for a request without credentials.
const CHALLENGE: &str = r#"Bearer realm="gridline""#;

/// A 401 for credentials that were presented but are no good.
fn unauthorized(code: ErrorCode, message: &str) -> ApiError {
    ApiError::new(code, message).with_header(
        "www-authenticate",
        r#"Bearer realm="gridline", error="invalid_token""#,
    )
}
