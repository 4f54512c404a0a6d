//! Gridline for Kotlin and Swift: the uniffi surface of `gridline-core`.
//!
//! The records, enums, the error (`GridlineError`) and the observer traits are the core's and
//! the protocol's own types, which derive their uniffi traits under the `uniffi` feature; this
//! crate only wraps calls. The client's calls are synchronous on purpose (the core is): the
//! Kotlin and Swift wrappers run them on a background dispatcher / task and expose `suspend`
//! and `async`. What the app plugs in is async (`suspend` / `async`), so its requests suspend
//! without holding a thread and a cancelled sync cancels them.
//!
//! - [`client::GridlineClient`]: the long-lived object (store, catalog, sync, triage).
//!
//! What the app plugs in (async token provider, HTTP transport, signing key), how the
//! synchronous core waits for it, and the worklist ticket's foreign shape live in the core's
//! `ffi` module (behind its `uniffi` feature), with the logic they need; the log sink is the
//! core's `logging` module.

uniffi::setup_scaffolding!();

pub mod client;

pub use client::GridlineClient;
pub use gridline_core::GridlineError;
use gridline_protocol::{CoordSystem, PhotoRef};
use uuid::Uuid;

// Ids and photo records cross as the core defines them (text; signed sizes).
uniffi::use_remote_type!(gridline_core::Uuid);
uniffi::use_remote_type!(gridline_core::PhotoRef);

/// A longitude/latitude pair.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Coordinates {
    /// Longitude in degrees.
    pub lon: f64,
    /// Latitude in degrees.
    pub lat: f64,
}

/// Converts a point between WGS-84, GCJ-02 (AMap, Tencent) and BD-09 (Baidu); exact inverse,
/// identity outside China. Use it for a pin the rider moved on a Chinese map.
#[uniffi::export]
pub fn convert_coordinates(
    point: Coordinates,
    from: CoordSystem,
    to: CoordSystem,
) -> Result<Coordinates, GridlineError> {
    let (lon, lat) = gridline_core::client::convert_point(point.lon, point.lat, from, to)?;
    Ok(Coordinates { lon, lat })
}
