//! Sync as the app drives it: settings, progress, the summary, and a cancel handle.

use std::sync::Arc;

use gridline_core::sync as core;

use crate::error::signed;
use crate::foreign::millis;

/// Tuning of a sync run; defaults suit a phone.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncSettings {
    /// Most reports per batch (the server's limit applies too).
    #[uniffi(default = 200)]
    pub max_batch: i32,
    /// Retryable failures tolerated in one run before it stops and reports `next_retry_at_ms`.
    #[uniffi(default = 6)]
    pub max_retries: i32,
    /// Longest backoff the run sleeps through itself, in milliseconds.
    #[uniffi(default = 10000)]
    pub max_sleep_ms: i64,
    /// Timeout of one request, in milliseconds.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: i64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        let d = core::SyncOptions::default();
        SyncSettings {
            max_batch: i32::try_from(d.max_batch).unwrap_or(i32::MAX),
            max_retries: i32::try_from(d.max_retries).unwrap_or(i32::MAX),
            max_sleep_ms: i64::try_from(d.max_sleep.as_millis()).unwrap_or(i64::MAX),
            request_timeout_ms: i64::try_from(d.request_timeout.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

impl From<SyncSettings> for core::SyncOptions {
    fn from(s: SyncSettings) -> Self {
        core::SyncOptions {
            // Out-of-range tuning is clamped to the nearest sensible value.
            max_batch: usize::try_from(s.max_batch.max(1)).unwrap_or(1),
            max_retries: u32::try_from(s.max_retries.max(0)).unwrap_or(0),
            max_sleep: millis(u64::try_from(s.max_sleep_ms.max(0)).unwrap_or(0)),
            request_timeout: millis(u64::try_from(s.request_timeout_ms.max(1)).unwrap_or(1)),
            ..Default::default()
        }
    }
}

/// Which part of a run is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    /// Refreshing limits, catalog and grids.
    Prepare,
    /// Sending queued reports.
    Reports,
    /// Uploading photos.
    Photos,
    /// Pulling ticket changes.
    Changes,
    /// Finished.
    Done,
}

/// Progress: `done` of `total` units (reports, photo bytes, changes) of the current phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    /// Current phase.
    pub phase: SyncPhase,
    /// Units done.
    pub done: i64,
    /// Units known (0 when unknown).
    pub total: i64,
}

impl From<core::SyncProgress> for SyncProgress {
    fn from(p: core::SyncProgress) -> Self {
        let phase = match p.phase {
            core::SyncPhase::Prepare => SyncPhase::Prepare,
            core::SyncPhase::Reports => SyncPhase::Reports,
            core::SyncPhase::Photos => SyncPhase::Photos,
            core::SyncPhase::Changes => SyncPhase::Changes,
            core::SyncPhase::Done => SyncPhase::Done,
        };
        SyncProgress {
            phase,
            done: signed(p.done),
            total: signed(p.total),
        }
    }
}

/// Receives progress while a sync runs (on the syncing thread; keep it quick).
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    /// One step forward.
    fn on_progress(&self, progress: SyncProgress);
}

pub(crate) struct ForeignProgress(pub Arc<dyn SyncProgressListener>);

impl core::SyncObserver for ForeignProgress {
    fn on_progress(&self, progress: core::SyncProgress) {
        self.0.on_progress(progress.into());
    }
}

/// What a sync run achieved.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    /// Reports accepted as new tickets.
    pub sent: i64,
    /// Reports the server already had (no second ticket).
    pub already_accepted: i64,
    /// Reports parked with the server's reason.
    pub rejected: i64,
    /// Photos completed on the server.
    pub photos: i64,
    /// Photo bytes sent.
    pub photo_bytes: i64,
    /// Ticket changes pulled.
    pub changes: i64,
    /// Reports still waiting.
    pub remaining: i64,
    /// Photos still waiting.
    pub photos_remaining: i64,
    /// A new catalog was installed.
    pub catalog_updated: bool,
    /// New grids were installed.
    pub grids_updated: bool,
    /// The run stopped early (cancelled, or network trouble remained).
    pub incomplete: bool,
    /// When to run again (ms since epoch), if the run ended on retryable failures.
    pub next_retry_at_ms: Option<i64>,
    /// The last problem met.
    pub last_error: Option<String>,
}

impl From<core::SyncSummary> for SyncSummary {
    fn from(s: core::SyncSummary) -> Self {
        SyncSummary {
            sent: signed(s.sent),
            already_accepted: signed(s.already_accepted),
            rejected: signed(s.rejected),
            photos: signed(s.photos),
            photo_bytes: signed(s.photo_bytes),
            changes: signed(s.changes),
            remaining: signed(s.remaining),
            photos_remaining: signed(s.photos_remaining),
            catalog_updated: s.catalog_updated,
            grids_updated: s.grids_updated,
            incomplete: s.incomplete,
            next_retry_at_ms: s.next_retry_at.map(|t| t.as_millis()),
            last_error: s.last_error,
        }
    }
}

/// Cancels a running sync at its next safe point (between requests). Make one per run;
/// cancelling a finished run does nothing.
#[derive(Debug, Default, uniffi::Object)]
pub struct SyncHandle {
    pub(crate) token: core::CancelToken,
}

#[uniffi::export]
impl SyncHandle {
    /// A fresh handle.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SyncHandle::default())
    }

    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}
