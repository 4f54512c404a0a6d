//! Errors of the core, in two layers (after mozilla/application-services):
//! a rich internal [`Error`] that keeps every cause for logs and tests, and the small public
//! [`GridlineError`] with stable variants that integrators match on. [`GridlineError::from`]
//! is the one place that decides which internal cause maps to which public variant.

use gridline_protocol::FieldError;

/// Everything that can go wrong inside the core, with its cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input broke a rule; nothing was changed.
    #[error("{0}")]
    Validation(#[from] FieldError),
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file exists but is not a SQLite database (or is damaged beyond opening).
    #[error("{path} is not a Gridline database: {detail}")]
    NotADatabase {
        /// The file that was opened.
        path: String,
        /// What SQLite said.
        detail: String,
    },
    /// The database was written by a newer version of the app; opening it could lose data.
    #[error(
        "database schema version {found} is newer than this app supports ({supported}); update the app"
    )]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A stored value could not be decoded (a bug or tampering).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// No such report (or photo).
    #[error("{0} not found")]
    NotFound(String),
    /// The action does not fit the report's current state (editing a queued report, ...).
    #[error("{0}")]
    InvalidState(String),
}

/// Shorthand used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The public error: few, stable variants that Kotlin and Swift see as sealed exceptions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
pub enum GridlineError {
    /// Input broke a rule; `field` names it (`location.lat`, `attributes.depth_cm`, ...).
    #[error("invalid {field}: {reason}")]
    Validation {
        /// Dotted path of the offending field.
        field: String,
        /// What is wrong, in words a person can act on.
        reason: String,
    },
    /// The local database or file system failed; the operation changed nothing.
    #[error("storage error: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// The server could not be reached or answered badly.
    #[error("network error: {reason}")]
    Network {
        /// What failed.
        reason: String,
        /// Whether trying again later may succeed.
        retryable: bool,
    },
    /// The token was refused or could not be obtained.
    #[error("authentication failed: {reason}")]
    Auth {
        /// Why.
        reason: String,
    },
    /// The action conflicts with the current state (of a report here or a ticket on the server).
    #[error("conflict: {reason}")]
    Conflict {
        /// Why.
        reason: String,
    },
    /// The thing asked for does not exist.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// A photo was refused (corrupt, too large, unsupported).
    #[error("photo refused: {reason}")]
    Photo {
        /// Why.
        reason: String,
    },
    /// Another sync (in this process or another) is running on this database; try later or
    /// observe the running one's status.
    #[error("busy: {reason}")]
    Busy {
        /// What is running.
        reason: String,
    },
    /// Sign-out refused: the device holds work the server does not have. Sync first, or wipe
    /// with `force` to discard it.
    #[error("{reports} reports, {photos} photos and {triage} triage decisions are not sent yet")]
    Unsent {
        /// Reports not accepted by the server (drafts, queued, parked).
        reports: i64,
        /// Photos not yet uploaded.
        photos: i64,
        /// Triage decisions not yet sent.
        triage: i64,
    },
    /// The client was closed (the FFI handle's `close_store`); open a new one.
    #[error("the Gridline client is closed")]
    Closed,
}

impl From<Error> for GridlineError {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation(f) => GridlineError::Validation {
                field: f.field,
                reason: f.reason,
            },
            Error::NotFound(what) => GridlineError::NotFound { what },
            Error::InvalidState(reason) => GridlineError::Conflict { reason },
            other @ (Error::Sqlite(_)
            | Error::Io(_)
            | Error::NotADatabase { .. }
            | Error::SchemaTooNew { .. }
            | Error::Corrupt(_)) => GridlineError::Storage {
                reason: other.to_string(),
            },
        }
    }
}

impl From<FieldError> for GridlineError {
    fn from(f: FieldError) -> Self {
        GridlineError::Validation {
            field: f.field,
            reason: f.reason,
        }
    }
}
