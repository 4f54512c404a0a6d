//! Gridline for Kotlin and Swift: the uniffi surface of `gridline-core`.
//!
//! A thin layer, one module per concept: it converts records and errors and forwards calls;
//! every decision lives in the core, which is tested without any FFI. The surface is
//! synchronous on purpose: the Kotlin and Swift wrappers run it on a background dispatcher /
//! task and expose `suspend` functions and `async` methods.
//!
//! - [`client::GridlineClient`]: the long-lived object (store, catalog, sync, triage).
//! - [`foreign`]: what the host app plugs in (token provider, HTTP transport, log sink).
//! - [`status`]: the observable sync status and data-change notifications.
//! - [`error::GridlineError`]: the one error enum, with stable variants.

uniffi::setup_scaffolding!();

pub mod catalog;
pub mod client;
pub mod error;
pub mod foreign;
pub mod geo;
pub mod report;
pub mod status;
pub mod supervisor;
pub mod sync;

pub use client::GridlineClient;
pub use error::GridlineError;
