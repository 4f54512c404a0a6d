//! What the host app plugs in, as foreign traits (Kotlin interfaces, Swift protocols): its own
//! login (token provider), its own HTTP stack (so its proxies, certificate pinning and
//! interceptors apply); the log sink is the core's own (`gridline_core::logging`). Each adapter
//! turns the app's failures into the core's, so an exception thrown in Kotlin ends as a typed
//! error, never a crash.

use std::collections::HashMap;
use std::sync::Arc;

use gridline_core::transport as core;
use uniffi::UnexpectedUniFFICallbackError;

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
pub trait TokenProvider: Send + Sync {
    /// The current token; with `refresh` the previous one was refused and a fresh one is wanted.
    fn token(&self, refresh: bool) -> Result<String, TokenError>;
}

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
pub trait HttpTransport: Send + Sync {
    /// Performs `request`.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Adapts the app's token provider to the core.
pub(crate) struct ForeignTokens(pub Arc<dyn TokenProvider>);

impl core::TokenProvider for ForeignTokens {
    fn token(&self, refresh: bool) -> Result<String, core::TokenError> {
        self.0
            .token(refresh)
            .map_err(|e| core::TokenError(e.to_string()))
    }
}

/// Adapts the app's HTTP transport to the core.
pub(crate) struct ForeignTransport(pub Arc<dyn HttpTransport>);

impl core::HttpTransport for ForeignTransport {
    fn send(&self, r: core::HttpRequest) -> Result<core::HttpResponse, core::TransportError> {
        let request = HttpRequest {
            method: r.method,
            url: r.url,
            headers: r.headers.into_iter().collect(),
            body: r.body,
            timeout_ms: i64::try_from(r.timeout.as_millis()).unwrap_or(i64::MAX),
            max_response_bytes: i64::try_from(r.max_response_bytes).unwrap_or(i64::MAX),
        };
        match self.0.send(request) {
            Ok(a) => core::HttpResponse::from_host(a.status, a.headers, a.body),
            Err(TransportError::Connection { reason }) => {
                Err(core::TransportError::Connection(reason))
            }
            Err(TransportError::Timeout { reason }) => Err(core::TransportError::Timeout(reason)),
            Err(TransportError::Refused { reason }) => Err(core::TransportError::Refused(reason)),
        }
    }
}
