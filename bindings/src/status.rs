//! The client's observable state for the app's UI: the sync status and data-change
//! notifications, delivered to a foreign observer (a Kotlin interface, a Swift protocol).

use std::sync::Arc;

use gridline_core::sync as core;

use crate::sync::SyncProgress;

/// Where the client's sync stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncStatus {
    /// No sync is running and none is due.
    Idle,
    /// A sync is running; `progress` is its latest step.
    Syncing {
        /// The latest step (`None` before the first).
        progress: Option<SyncProgress>,
    },
    /// The last run ended on retryable failures; run again at `until_ms` (ms since the epoch).
    Waiting {
        /// When to try again.
        until_ms: i64,
        /// What went wrong.
        last_error: Option<String>,
    },
    /// The last run failed in a way retrying will not fix (auth, storage, a refused request).
    Failed {
        /// The error, as text.
        error: String,
    },
}

impl From<core::SyncStatus> for SyncStatus {
    fn from(s: core::SyncStatus) -> Self {
        match s {
            core::SyncStatus::Idle => SyncStatus::Idle,
            core::SyncStatus::Syncing { progress } => SyncStatus::Syncing {
                progress: progress.map(Into::into),
            },
            core::SyncStatus::Waiting { until, last_error } => SyncStatus::Waiting {
                until_ms: until.as_millis(),
                last_error,
            },
            core::SyncStatus::Failed { error } => SyncStatus::Failed { error },
        }
    }
}

/// What changed; re-read what you show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DataChange {
    /// Reports: drafts, the outbox, their states, and so the counts.
    Reports,
    /// The supervisor's offline worklist.
    Worklist,
    /// The queue of triage decisions.
    Triage,
}

impl From<core::Change> for DataChange {
    fn from(c: core::Change) -> Self {
        match c {
            core::Change::Reports => DataChange::Reports,
            core::Change::Worklist => DataChange::Worklist,
            core::Change::Triage => DataChange::Triage,
        }
    }
}

/// Told about the sync status and data changes, on the thread that made the change: post to
/// your UI thread and return. An exception thrown here is logged and ignored.
#[uniffi::export(with_foreign)]
pub trait ClientObserver: Send + Sync {
    /// The sync status changed.
    fn on_status(&self, status: SyncStatus);
    /// Data of this kind changed.
    fn on_change(&self, change: DataChange);
}

/// Adapts a foreign observer to the core's trait.
pub(crate) struct ForeignObserver(pub Arc<dyn ClientObserver>);

impl core::ClientObserver for ForeignObserver {
    fn on_status(&self, status: core::SyncStatus) {
        self.0.on_status(status.into());
    }

    fn on_change(&self, change: core::Change) {
        self.0.on_change(change.into());
    }
}
