//! The one public error of the bindings. Kotlin sees `GridlineException` with one subclass per
//! variant; Swift an `enum GridlineError: Error`.

use gridline_core::GridlineError as Core;

/// What went wrong, in a few stable kinds an app can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum GridlineError {
    /// Input broke a rule; `field` names it (`location.lat`, `attributes.depth_cm`, `id`).
    #[error("invalid {field}: {reason}")]
    Validation {
        /// Dotted path of the offending field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The local database or file system failed; nothing changed.
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
    /// The token was refused or the token provider failed.
    #[error("authentication failed: {reason}")]
    Auth {
        /// Why.
        reason: String,
    },
    /// The action conflicts with the current state (a queued report, a changed ticket).
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
    /// Another sync is running on this database (this app's or another process's); observe
    /// its status, or try again later.
    #[error("busy: {reason}")]
    Busy {
        /// What is running.
        reason: String,
    },
    /// Sign-out refused: work on the device is not on the server yet. Sync first, or wipe with
    /// `force` to discard it.
    #[error("{reports} reports, {photos} photos and {triage} triage decisions are not sent yet")]
    Unsent {
        /// Reports not accepted by the server (drafts, queued, parked).
        reports: i64,
        /// Photos not yet uploaded.
        photos: i64,
        /// Triage decisions not yet sent.
        triage: i64,
    },
    /// The client was closed; open a new one.
    #[error("the Gridline client is closed")]
    Closed,
}

impl From<Core> for GridlineError {
    fn from(e: Core) -> Self {
        match e {
            Core::Validation { field, reason } => Self::Validation { field, reason },
            Core::Storage { reason } => Self::Storage { reason },
            Core::Network { reason, retryable } => Self::Network { reason, retryable },
            Core::Auth { reason } => Self::Auth { reason },
            Core::Conflict { reason } => Self::Conflict { reason },
            Core::NotFound { what } => Self::NotFound { what },
            Core::Photo { reason } => Self::Photo { reason },
            Core::Busy { reason } => Self::Busy { reason },
            Core::Unsent {
                reports,
                photos,
                triage,
            } => Self::Unsent {
                reports: signed(reports),
                photos: signed(photos),
                triage: signed(triage),
            },
        }
    }
}

impl From<gridline_protocol::FieldError> for GridlineError {
    fn from(e: gridline_protocol::FieldError) -> Self {
        Self::Validation {
            field: e.field,
            reason: e.reason,
        }
    }
}

/// A count as the signed integer Kotlin and Swift use (saturating; counts never get near).
pub fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Parses a report id handed in as text.
pub fn parse_id(id: &str) -> Result<uuid::Uuid, GridlineError> {
    uuid::Uuid::parse_str(id.trim()).map_err(|e| GridlineError::Validation {
        field: "id".into(),
        reason: format!("not a report id: {e}"),
    })
}
