//! Sync: everything queued on the device reaches the grid server exactly once, photos
//! included, and ticket status changes flow back.
//!
//! - `policy`: the decisions, pure and table-tested (retry / park / back off / batch sizes).
//! - `api`: the server's v1 endpoints over a [`crate::transport::HttpTransport`].
//! - `engine`: the driver that carries the decisions out against the store.
//! - `lease`: one sync at a time per database, across threads and processes.
//! - `status`: the observable sync status and data-change notifications.
//! - `triage`: the supervisor's worklist and triage decisions.
//!
//! The engine and triage work on a [`Device`] (the store, the clock, the media folder and the
//! catalog/grid installers) and a [`SyncContext`] (the server, the transport, the tokens); they
//! know nothing else of [`crate::Client`], which implements [`Device`] and drives them.
//!
//! Exactly-once rests on two facts: a report's id is born on the device and the server answers
//! the same id with the same ticket; and every local state change is one transaction, so a
//! crash at any point leaves either "not yet sent" (resent, harmless) or "accepted".

pub mod api;
pub mod engine;
pub mod lease;
pub mod policy;
pub mod status;
pub mod triage;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use gridline_protocol::Timestamp;
use serde::Serialize;

use crate::error::GridlineError;
use crate::store::Store;
use crate::transport::{HttpTransport, TokenProvider};

pub use policy::Backoff;
pub use status::{Change, ClientObserver, ObserverId, SyncStatus};

/// Where and how to sync: the server, and the host's transport and token provider.
#[derive(Clone)]
pub struct SyncContext {
    /// Base URL of the grid server (`https://...`, or `http://` to loopback).
    pub server_url: String,
    /// How requests are sent.
    pub transport: Arc<dyn HttpTransport>,
    /// Where bearer tokens come from.
    pub tokens: Arc<dyn TokenProvider>,
}

/// The device side of a sync: what the engine records into and reads from.
pub trait Device {
    /// The store, locked for one transaction (or a few, never across a request).
    fn store(&self) -> MutexGuard<'_, Store>;
    /// The current time by the device's clock.
    fn now(&self) -> Timestamp;
    /// The folder that holds processed photos.
    fn media_dir(&self) -> PathBuf;
    /// Checks and installs a catalog fetched from the server (the old one stays if it is bad).
    fn install_catalog(&self, json: &str) -> Result<(), GridlineError>;
    /// Checks and installs grids fetched from the server (WGS-84 GeoJSON); returns their version.
    fn install_grids(&self, geojson: &str) -> Result<String, GridlineError>;
}

/// Stops a running sync at its next safe point (between requests); cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, not-cancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the sync to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Tuning of one sync run; the defaults suit a phone.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOptions {
    /// Upper bound on reports per batch (the server's limit applies too).
    pub max_batch: usize,
    /// Backoff after retryable failures.
    pub backoff: Backoff,
    /// Retryable failures tolerated within one run before it stops and reports `next_retry_at`.
    pub max_retries: u32,
    /// Longest backoff a run sleeps through itself; a longer one ends the run instead.
    pub max_sleep: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Bytes of photo sent per `PATCH` (smaller loses less on a flaky link).
    pub photo_chunk: usize,
    /// Changes fetched per page.
    pub changes_page: u32,
    /// Longest one run may take; past it the run stops between requests, incomplete.
    pub run_deadline: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            max_batch: 200,
            backoff: Backoff::default(),
            max_retries: 6,
            max_sleep: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            photo_chunk: 256 * 1024,
            changes_page: 500,
            run_deadline: Duration::from_secs(15 * 60),
        }
    }
}

/// The tuning an app sets (`SyncSettings` in Kotlin and Swift), in whole milliseconds and
/// signed counts; [`SyncOptions::from`] clamps out-of-range values to the nearest sensible one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncSettings {
    /// Most reports per batch (the server's limit applies too); at least 1.
    #[cfg_attr(feature = "uniffi", uniffi(default = 200))]
    pub max_batch: i32,
    /// Retryable failures tolerated in one run before it stops and reports `next_retry_at`.
    #[cfg_attr(feature = "uniffi", uniffi(default = 6))]
    pub max_retries: i32,
    /// Longest backoff the run sleeps through itself, in milliseconds.
    #[cfg_attr(feature = "uniffi", uniffi(default = 10000))]
    pub max_sleep_ms: i64,
    /// Timeout of one request, in milliseconds; at least 1.
    #[cfg_attr(feature = "uniffi", uniffi(default = 30000))]
    pub request_timeout_ms: i64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        let d = SyncOptions::default();
        let ms = |t: Duration| i64::try_from(t.as_millis()).unwrap_or(i64::MAX);
        SyncSettings {
            max_batch: i32::try_from(d.max_batch).unwrap_or(i32::MAX),
            max_retries: i32::try_from(d.max_retries).unwrap_or(i32::MAX),
            max_sleep_ms: ms(d.max_sleep),
            request_timeout_ms: ms(d.request_timeout),
        }
    }
}

impl From<SyncSettings> for SyncOptions {
    fn from(s: SyncSettings) -> Self {
        let ms =
            |n: i64, least: u64| Duration::from_millis(u64::try_from(n).unwrap_or(0).max(least));
        SyncOptions {
            max_batch: usize::try_from(s.max_batch).unwrap_or(0).max(1),
            max_retries: u32::try_from(s.max_retries).unwrap_or(0),
            max_sleep: ms(s.max_sleep_ms, 0),
            request_timeout: ms(s.request_timeout_ms, 1),
            ..Default::default()
        }
    }
}

/// Which part of the run is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncPhase {
    /// Refreshing limits, catalog and grids.
    Prepare,
    /// Sending queued reports.
    Reports,
    /// Uploading photos of accepted reports.
    Photos,
    /// Pulling ticket status changes.
    Changes,
    /// Finished.
    Done,
}

/// A progress report: `done` of `total` units of the current phase (reports, bytes, changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncProgress {
    /// Current phase.
    pub phase: SyncPhase,
    /// Units done in this phase.
    pub done: i64,
    /// Units known in this phase (0 when unknown).
    pub total: i64,
}

/// Receives progress while a sync runs (called on the syncing thread; keep it quick).
#[cfg_attr(feature = "uniffi", uniffi::export(with_foreign))]
pub trait SyncObserver: Send + Sync {
    /// One step forward.
    fn on_progress(&self, progress: SyncProgress);
}

/// What a sync run achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncSummary {
    /// Reports the server accepted as new tickets.
    pub sent: i64,
    /// Reports the server already had (a resend after a lost answer): no second ticket.
    pub already_accepted: i64,
    /// Reports parked with the server's reason (conflict or rejected).
    pub rejected: i64,
    /// Photos completed on the server.
    pub photos: i64,
    /// Photo bytes sent.
    pub photo_bytes: i64,
    /// Ticket changes pulled and stored.
    pub changes: i64,
    /// Verification tasks on offer after the run (see `Client::tasks`).
    pub tasks: i64,
    /// Reports still waiting to be sent.
    pub remaining: i64,
    /// Photos still waiting to be uploaded.
    pub photos_remaining: i64,
    /// Whether a new catalog was installed.
    pub catalog_updated: bool,
    /// Whether new grids were installed.
    pub grids_updated: bool,
    /// True when the run stopped early (cancelled, or retryable failures remained).
    pub incomplete: bool,
    /// When to run again, if the run ended on retryable failures.
    pub next_retry_at: Option<Timestamp>,
    /// The last problem met, for the log.
    pub last_error: Option<String>,
}
