//! Gridline device core: everything a rider's app does, in plain Rust with no FFI types.
//!
//! A report is written to a local SQLite file the moment the rider submits it (see [`store`]),
//! validated against the versioned [`gridline_protocol::Catalog`], and later sent in batches by
//! the sync engine. [`Client`] is the entry point; [`GridlineError`] the public error.

pub mod client;
pub mod error;
pub mod geo;
pub mod model;
pub mod photo;
pub mod store;
pub mod sync;
pub mod transport;

pub use client::{Client, ClientConfig, Clock};
pub use error::{Error, GridlineError};
pub use model::{Counts, DraftPatch, LocalReport, Rejection, ReportState};
pub use store::{ListCursor, ListFilter, ReportRow};
pub use sync::engine::SyncContext;
pub use sync::{
    CancelToken, Change, ClientObserver, ObserverId, SyncObserver, SyncOptions, SyncPhase,
    SyncProgress, SyncStatus, SyncSummary,
};
