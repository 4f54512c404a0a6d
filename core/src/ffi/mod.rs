//! How the core's types cross to Kotlin and Swift (the `uniffi` feature). Records, enums, the
//! error and the observer traits derive their uniffi traits where they are defined; this
//! module holds what cannot: custom types for ids and attribute maps, and the two wire
//! records whose foreign shape must differ (signed sizes: the Kotlin and Swift APIs have no
//! unsigned integers, and the wire types are the server's too, so they stay unsigned here).
//!
//! - [`foreign`]: what the host app plugs in (async token provider, async HTTP transport) and
//!   their adapters to the core's traits; [`wait`]: how the synchronous core waits for them.
//! - [`signer`]: the app's platform signing key as a foreign trait, adapted to the core's.
//! - [`ticket`]: the supervisor's worklist ticket in its foreign shape.

use std::collections::HashMap;

use gridline_protocol::{AttrValue, Outreach, PhotoRef, VenueType};
use uuid::Uuid;

use crate::GridlineError;

pub mod foreign;
pub mod signer;
pub mod ticket;
pub mod wait;

/// Category attributes keyed by code.
pub type Attributes = std::collections::BTreeMap<String, AttrValue>;

uniffi::custom_type!(Uuid, String, {
    remote,
    lower: |id| id.to_string(),
    try_lift: |text| Ok(parse_id(&text)?),
});

uniffi::custom_type!(Attributes, HashMap<String, AttrValue>, {
    remote,
    lower: |map| map.into_iter().collect(),
    try_lift: |map| Ok(map.into_iter().collect()),
});

/// Parses an id handed in as text (a malformed one is a `Validation` error on `id`, never a
/// path or a crash).
pub fn parse_id(text: &str) -> Result<Uuid, GridlineError> {
    Uuid::parse_str(text.trim()).map_err(|e| GridlineError::Validation {
        field: "id".into(),
        reason: format!("not a report id: {e}"),
    })
}

/// A processed evidence photo, named by the SHA-256 of its JPEG (`PhotoRef` in Kotlin and Swift).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhotoInfo {
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
}

uniffi::custom_type!(PhotoRef, PhotoInfo, {
    remote,
    lower: |p| PhotoInfo {
        sha256: p.sha256,
        bytes: i64::try_from(p.bytes).unwrap_or(i64::MAX),
        width: i32::try_from(p.width).unwrap_or(i32::MAX),
        height: i32::try_from(p.height).unwrap_or(i32::MAX),
    },
    try_lift: |p| Ok(PhotoRef {
        sha256: p.sha256,
        bytes: count("photo.bytes", p.bytes)?,
        width: count("photo.width", p.width)?,
        height: count("photo.height", p.height)?,
        // EXIF facts never come from the app: the core reads them from its own store.
        exif: None,
    }),
});

/// What an anti-fraud outreach session achieved (`Outreach` in Kotlin and Swift).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutreachFigures {
    /// People reached.
    pub people_reached: i32,
    /// Materials handed out.
    pub materials_handed_out: i32,
    /// Where.
    pub venue_type: VenueType,
}

uniffi::custom_type!(Outreach, OutreachFigures, {
    remote,
    lower: |o| OutreachFigures {
        people_reached: i32::try_from(o.people_reached).unwrap_or(i32::MAX),
        materials_handed_out: i32::try_from(o.materials_handed_out).unwrap_or(i32::MAX),
        venue_type: o.venue_type,
    },
    try_lift: |o| Ok(Outreach {
        people_reached: count("outreach.people_reached", o.people_reached)?,
        materials_handed_out: count("outreach.materials_handed_out", o.materials_handed_out)?,
        venue_type: o.venue_type,
    }),
});

/// A count from Kotlin or Swift: negative is a `Validation` error on `field`.
fn count<T: TryFrom<i64>>(field: &str, n: impl Into<i64>) -> Result<T, GridlineError> {
    T::try_from(n.into()).map_err(|_| GridlineError::Validation {
        field: field.into(),
        reason: "must not be negative".into(),
    })
}
