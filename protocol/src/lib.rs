//! Gridline wire protocol v1: the types a rider's device and the city grid server exchange,
//! and the validation rules both sides apply to them.
//!
//! Everything here is plain data plus pure functions, so the device core, the reference
//! server and any third-party implementation agree byte for byte. `docs/protocol.md`
//! describes the same types for people.

pub mod catalog;
pub mod error;
pub mod evidence;
pub mod location;
pub mod report;
pub mod timestamp;
pub mod verification;
pub mod wire;

pub use catalog::{AttributeDef, Catalog, CategoryDef, Datatype, KindDef};
pub use error::FieldError;
pub use location::{CoordSystem, LocationFix, LocationProvider};
pub use report::{
    AttrValue, Outreach, PhotoExif, PhotoRef, Report, ReportKind, Severity, VenueType,
};
pub use timestamp::Timestamp;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

/// Longest free-text note a report may carry, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
