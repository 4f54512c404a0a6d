//! What the host app plugs in, as foreign traits (Kotlin interfaces, Swift protocols): its own
//! login (token provider), its own HTTP stack (so its proxies, certificate pinning and
//! interceptors apply), and a log sink. Each adapter turns the app's failures into the core's,
//! so an exception thrown in Kotlin ends as a typed error, never a crash.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use gridline_core::GridlineError;
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

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something to look at.
    Warn,
    /// Normal operation.
    Info,
    /// Detail for debugging.
    Debug,
}

/// Receives the core's log lines (route them to Logcat, OSLog, or the app's logger).
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One log line.
    fn log(&self, level: LogLevel, target: String, message: String);
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

/// The one installed log sink (the `log` facade allows one logger per process).
static SINK: OnceLock<RwLock<Option<Arc<dyn LogSink>>>> = OnceLock::new();

struct SinkLogger;

impl log::Log for SinkLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(lock) = SINK.get() else { return };
        let Some(sink) = lock.read().ok().and_then(|s| s.clone()) else {
            return;
        };
        let level = match record.level() {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug | log::Level::Trace => LogLevel::Debug,
        };
        let (target, message) = (record.target().to_string(), record.args().to_string());
        // A sink that fails (an exception escaping Kotlin or Swift) loses this line only: the
        // code that logged must go on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            sink.log(level, target, message)
        }));
    }

    fn flush(&self) {}
}

static LOGGER: SinkLogger = SinkLogger;

/// Routes the core's log lines to `sink` (replacing any earlier sink); `Info` and above by default.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, level: LogLevel) {
    let lock = SINK.get_or_init(|| RwLock::new(None));
    if let Ok(mut slot) = lock.write() {
        *slot = Some(sink);
    }
    // Fails only if another logger was installed first; then that one keeps receiving.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(match level {
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
    });
}

/// Whether this library carries the built-in HTTPS transport (reqwest + rustls) that
/// `set_server` uses when the app passes none. The Android and iOS release libraries do not
/// (docs/size.md): there the app passes its HTTP stack, and the Kotlin SDK passes OkHttp itself.
#[uniffi::export]
pub fn has_builtin_transport() -> bool {
    cfg!(feature = "builtin-transport")
}

/// The built-in transport, or why there is none.
pub(crate) fn builtin_transport() -> Result<Arc<dyn core::HttpTransport>, GridlineError> {
    #[cfg(feature = "builtin-transport")]
    return match core::DefaultTransport::new() {
        Ok(t) => Ok(Arc::new(t)),
        Err(e) => Err(GridlineError::Network {
            reason: e.to_string(),
            retryable: false,
        }),
    };
    #[cfg(not(feature = "builtin-transport"))]
    Err(GridlineError::Validation {
        field: "transport".into(),
        reason: "this library has no built-in HTTP transport: pass the app's (OkHttp, URLSession)"
            .into(),
    })
}
