//! How the core talks HTTP, and where it gets tokens: two small traits the host app may
//! implement (OkHttp, URLSession, its own login) so its proxies, certificate pinning and
//! interceptors apply. The core ships a default transport for tests, desktop and the CLI.

use std::collections::BTreeMap;
use std::time::Duration;

/// One HTTP request, fully built by the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, `HEAD`, `PATCH`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names in lowercase; one value each.
    pub headers: BTreeMap<String, String>,
    /// Body bytes (empty for none).
    pub body: Vec<u8>,
    /// How long the whole exchange may take.
    pub timeout: Duration,
    /// The most body bytes (after decompression) the core will accept in the answer. A
    /// transport should stop reading one byte past it; the core refuses a longer body either
    /// way, so a broken or hostile server cannot exhaust the phone's memory.
    pub max_response_bytes: u64,
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names in lowercase.
    pub headers: BTreeMap<String, String>,
    /// Body bytes, already decompressed if the transport negotiated compression (at most
    /// one byte more than the request's `max_response_bytes`).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// An answer from the host's HTTP stack: header names lowercased, a status that is no HTTP
    /// status refused as a failed exchange.
    pub fn from_host(
        status: i32,
        headers: impl IntoIterator<Item = (String, String)>,
        body: Vec<u8>,
    ) -> Result<Self, TransportError> {
        let status = u16::try_from(status)
            .ok()
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| {
                TransportError::Connection(format!(
                    "the app's HTTP transport returned status {status}"
                ))
            })?;
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// A header's value by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Connecting, sending or receiving failed (no signal, reset, DNS); worth retrying.
    #[error("connection failed: {0}")]
    Connection(String),
    /// No complete answer in time; worth retrying.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The request can never succeed as built (bad URL, plain HTTP to a non-loopback host).
    #[error("request refused: {0}")]
    Refused(String),
}

impl TransportError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, TransportError::Refused(_))
    }
}

/// Sends one HTTP request and returns the answer. Implementations must be thread-safe and must
/// not retry on their own: the sync engine decides what to retry and when.
pub trait HttpTransport: Send + Sync {
    /// Performs `request`.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no token: {0}")]
pub struct TokenError(pub String);

/// Supplies the bearer token of the signed-in user. The host app owns login.
pub trait TokenProvider: Send + Sync {
    /// The current token; with `refresh` the previous one was refused (HTTP 401) and a fresh
    /// one is wanted.
    fn token(&self, refresh: bool) -> Result<String, TokenError>;
}

/// A fixed token (CLI, tests).
#[derive(Debug, Clone)]
pub struct StaticToken(pub String);

impl TokenProvider for StaticToken {
    fn token(&self, _refresh: bool) -> Result<String, TokenError> {
        Ok(self.0.clone())
    }
}

#[cfg(feature = "builtin-transport")]
mod default;
#[cfg(feature = "builtin-transport")]
pub use default::DefaultTransport;

/// Whether this build carries the built-in HTTPS transport (the `builtin-transport` feature),
/// which [`builtin`] returns. The Android and iOS release libraries do not (docs/size.md): there
/// the app passes its HTTP stack, and the Kotlin SDK passes OkHttp itself.
#[cfg_attr(feature = "uniffi", uniffi::export)]
pub fn has_builtin_transport() -> bool {
    cfg!(feature = "builtin-transport")
}

/// The built-in transport, for an app that passes none; a `Validation` error on `transport`
/// in a build without it.
pub fn builtin() -> Result<std::sync::Arc<dyn HttpTransport>, crate::error::GridlineError> {
    #[cfg(feature = "builtin-transport")]
    return match DefaultTransport::new() {
        Ok(t) => Ok(std::sync::Arc::new(t)),
        Err(e) => Err(crate::error::GridlineError::Network {
            reason: e.to_string(),
            retryable: false,
        }),
    };
    #[cfg(not(feature = "builtin-transport"))]
    Err(crate::error::GridlineError::Validation {
        field: "transport".into(),
        reason: "this library has no built-in HTTP transport: pass the app's (OkHttp, URLSession)"
            .into(),
    })
}

/// Whether plain HTTP to `host` is acceptable: loopback only (tests, a server on the device's
/// own machine). Everything else must be HTTPS.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a server base URL: absolute, `https`, or `http` to a loopback host. Returns it
/// without a trailing slash.
pub fn check_server_url(raw: &str) -> Result<String, gridline_protocol::FieldError> {
    let bad = |why: &str| gridline_protocol::FieldError::new("server_url", why);
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    check_origin(&url).map_err(|why| bad(&why))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("must not carry a query, fragment or credentials"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Checks where a URL goes: `https`, or `http` to a loopback host, and no credentials in it.
/// Paths and queries are not looked at (a request URL carries both).
pub fn check_origin(url: &url::Url) -> Result<(), String> {
    let host = url.host_str().ok_or("has no host")?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" => return Err("must use https (plain http is allowed to loopback only)".into()),
        other => return Err(format!("scheme {other:?} is not http(s)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_must_be_https_except_loopback() {
        assert_eq!(
            check_server_url("https://grid.nb.gov.cn/").unwrap(),
            "https://grid.nb.gov.cn"
        );
        assert_eq!(
            check_server_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_server_url("http://localhost:1/api/").unwrap(),
            "http://localhost:1/api"
        );
        assert_eq!(
            check_server_url("http://[::1]:9").unwrap(),
            "http://[::1]:9"
        );
        for bad in [
            "http://grid.example.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "grid.example.com",
            "",
            "https://user:pw@grid.example.com",
            "https://grid.example.com/?token=x",
            "javascript:alert(1)",
        ] {
            assert!(check_server_url(bad).is_err(), "{bad}");
        }
    }
}
