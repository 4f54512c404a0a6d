//! What the host app plugs in, as async foreign traits (Kotlin `suspend` interfaces, Swift
//! `async` protocols): its own login (token provider), its own HTTP stack (so its proxies,
//! certificate pinning and interceptors apply); the log sink is the core's own
//! (`logging`). Each adapter turns the app's failures into the core's, so an
//! exception thrown in Kotlin ends as a typed error, never a crash.
//!
//! The core is synchronous: an adapter waits for the foreign future on the sync's own thread
//! ([`super::wait`]) and drops it as soon as the run is cancelled or the answer is overdue. Dropping
//! it is what uniffi turns into cancelling the Kotlin coroutine or the Swift task, so a
//! cancelled sync cancels the request in flight (decision 0044).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::transport as core;
use uniffi::UnexpectedUniFFICallbackError;

use super::wait::{Abandoned, Stop, wait};

/// Why the app could not supply a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TokenError {
    /// No signed-in user, or the refresh failed.
    #[error("no token: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
}

impl From<UnexpectedUniFFICallbackError> for TokenError {
    fn from(e: UnexpectedUniFFICallbackError) -> Self {
        TokenError::Unavailable {
            reason: format!("the token provider failed: {}", e.reason),
        }
    }
}

/// Supplies the bearer token of the signed-in user.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    /// The current token; with `refresh` the previous one was refused and a fresh one is wanted.
    /// Cancelled (its coroutine / task) when the sync stops, the client closes, or after 60 s.
    async fn token(&self, refresh: bool) -> Result<String, TokenError>;
}

/// Longest the core waits for the app's token provider (a refresh over a slow network).
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Time granted to the app's transport past the request's own timeout before the core drops
/// the exchange as timed out (the transport should enforce `timeout_ms` itself).
pub const TRANSPORT_GRACE: Duration = Duration::from_secs(5);

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    /// Connecting, sending or receiving failed; worth retrying.
    #[error("connection failed: {reason}")]
    Connection {
        /// What happened.
        reason: String,
    },
    /// No complete answer in time; worth retrying.
    #[error("timed out: {reason}")]
    Timeout {
        /// What happened.
        reason: String,
    },
    /// The request can never succeed as built (bad URL, cleartext refused by policy).
    #[error("refused: {reason}")]
    Refused {
        /// What happened.
        reason: String,
    },
}

impl From<UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: UnexpectedUniFFICallbackError) -> Self {
        // An exception escaping the app's transport is treated like a dropped connection:
        // the sync engine backs off and tries again, and nothing is lost.
        TransportError::Connection {
            reason: format!("the app's HTTP transport failed: {}", e.reason),
        }
    }
}

/// One HTTP request built by the core.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET`, `POST`, `HEAD`, `PATCH`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Lowercase header names.
    pub headers: HashMap<String, String>,
    /// Body bytes (empty for none).
    pub body: Vec<u8>,
    /// Timeout for the whole exchange, in milliseconds.
    pub timeout_ms: i64,
    /// Most body bytes (decompressed) the core accepts in the answer: stop reading one byte
    /// past it. A longer body is refused by the core either way.
    pub max_response_bytes: i64,
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// Status code.
    pub status: i32,
    /// Header names (any case; the core lowercases them).
    pub headers: HashMap<String, String>,
    /// Body bytes, decompressed.
    pub body: Vec<u8>,
}

/// Sends one HTTP request. Must not retry on its own: the sync engine decides.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait HttpTransport: Send + Sync {
    /// Performs `request`. Cancelled (its coroutine / task) when the sync stops, the client
    /// closes, or `timeout_ms` plus 5 s passed without an answer.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Adapts the app's token provider to the core, for one run.
pub struct ForeignTokens {
    /// The app's provider.
    pub inner: Arc<dyn TokenProvider>,
    /// When to stop waiting.
    pub stop: Stop,
}

impl core::TokenProvider for ForeignTokens {
    fn token(&self, refresh: bool) -> Result<String, core::TokenError> {
        match wait(self.inner.token(refresh), &self.stop, TOKEN_TIMEOUT) {
            Ok(answer) => answer.map_err(|e| core::TokenError(e.to_string())),
            Err(Abandoned::Cancelled) => Err(core::TokenError("the sync was cancelled".into())),
            Err(Abandoned::Overdue) => Err(core::TokenError(format!(
                "the app's token provider gave no answer within {}s",
                TOKEN_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// Adapts the app's HTTP transport to the core, for one run.
pub struct ForeignTransport {
    /// The app's transport.
    pub inner: Arc<dyn HttpTransport>,
    /// When to stop waiting.
    pub stop: Stop,
}

impl core::HttpTransport for ForeignTransport {
    fn send(&self, r: core::HttpRequest) -> Result<core::HttpResponse, core::TransportError> {
        let limit = r.timeout.saturating_add(TRANSPORT_GRACE);
        let request = HttpRequest {
            method: r.method,
            url: r.url,
            headers: r.headers.into_iter().collect(),
            body: r.body,
            timeout_ms: i64::try_from(r.timeout.as_millis()).unwrap_or(i64::MAX),
            max_response_bytes: i64::try_from(r.max_response_bytes).unwrap_or(i64::MAX),
        };
        let answer = match wait(self.inner.send(request), &self.stop, limit) {
            Ok(answer) => answer,
            Err(Abandoned::Cancelled) => {
                return Err(core::TransportError::Connection(
                    "the sync was cancelled".into(),
                ));
            }
            Err(Abandoned::Overdue) => {
                return Err(core::TransportError::Timeout(format!(
                    "the app's HTTP transport gave no answer within {}ms",
                    limit.as_millis()
                )));
            }
        };
        match answer {
            Ok(a) => core::HttpResponse::from_host(a.status, a.headers, a.body),
            Err(TransportError::Connection { reason }) => {
                Err(core::TransportError::Connection(reason))
            }
            Err(TransportError::Timeout { reason }) => Err(core::TransportError::Timeout(reason)),
            Err(TransportError::Refused { reason }) => Err(core::TransportError::Refused(reason)),
        }
    }
}
