//! The core's log lines, routed to the host app (Logcat, OSLog, its own logger): the `log`
//! facade's one logger per process forwards to a replaceable [`LogSink`]. A sink that fails
//! loses that line only; the code that logged goes on.

use std::sync::{Arc, OnceLock, RwLock};

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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
#[cfg_attr(feature = "uniffi", uniffi::export(with_foreign))]
pub trait LogSink: Send + Sync {
    /// One log line.
    fn log(&self, level: LogLevel, target: String, message: String);
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
#[cfg_attr(feature = "uniffi", uniffi::export)]
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
