//! Reports as the app sees them: kinds, fixes, attributes, drafts, outbox states.

use std::collections::HashMap;

use gridline_core::model as core;
use gridline_protocol as p;

use crate::error::signed;
use crate::supervisor::{TicketStatus, parse_status};

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ReportKind {
    /// Potholes, cracks, manhole covers, waterlogging.
    RoadDamage,
    /// Overflowing or mixed bins, illegal dumping.
    GarbageSorting,
    /// Anti-fraud outreach the rider carried out.
    AntiFraudOutreach,
    /// Anything else.
    Other,
}

/// How urgent the rider judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Severity {
    /// Cosmetic.
    Low,
    /// The default.
    Medium,
    /// A hazard.
    High,
    /// Danger to people now.
    Urgent,
}

/// Where a report stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ReportState {
    /// Being written; editable.
    Draft,
    /// Safe on the phone, waiting for the network.
    Queued,
    /// In a batch on its way.
    Sending,
    /// The server holds it as a ticket.
    Accepted,
    /// Refused by the server for good; fix and resubmit.
    Rejected,
}

/// Where a fix came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum LocationProvider {
    /// Satellites.
    Gps,
    /// Cell and Wi-Fi.
    Network,
    /// The platform's fused provider.
    Fused,
    /// A pin placed on a map.
    Manual,
    /// A photo's EXIF GPS tags.
    PhotoExif,
}

/// A geodetic system: WGS-84 (GNSS), GCJ-02 (AMap, Tencent), BD-09 (Baidu).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CoordSystem {
    /// GNSS and maps outside China.
    Wgs84,
    /// Chinese maps (AMap, Tencent).
    Gcj02,
    /// Baidu maps.
    Bd09,
}

/// Where an outreach session took place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum VenueType {
    /// Street or square.
    Street,
    /// Shop or restaurant.
    Shop,
    /// Residential community.
    Community,
    /// School.
    School,
    /// Office or workplace.
    Office,
    /// Market.
    Market,
    /// Elsewhere.
    Other,
}

macro_rules! mirror_enum {
    ($ours:ident, $theirs:path, [$($v:ident),+]) => {
        impl From<$ours> for $theirs {
            fn from(v: $ours) -> Self {
                match v { $($ours::$v => <$theirs>::$v),+ }
            }
        }
        impl From<$theirs> for $ours {
            fn from(v: $theirs) -> Self {
                match v { $(<$theirs>::$v => $ours::$v),+ }
            }
        }
    };
}

mirror_enum!(
    ReportKind,
    p::ReportKind,
    [RoadDamage, GarbageSorting, AntiFraudOutreach, Other]
);
mirror_enum!(Severity, p::Severity, [Low, Medium, High, Urgent]);
mirror_enum!(
    ReportState,
    core::ReportState,
    [Draft, Queued, Sending, Accepted, Rejected]
);
mirror_enum!(
    LocationProvider,
    p::LocationProvider,
    [Gps, Network, Fused, Manual, PhotoExif]
);
mirror_enum!(CoordSystem, p::CoordSystem, [Wgs84, Gcj02, Bd09]);
mirror_enum!(
    VenueType,
    p::VenueType,
    [Street, Shop, Community, School, Office, Market, Other]
);

/// One position reading, in WGS-84.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LocationFix {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Horizontal accuracy in metres.
    pub accuracy_m: f64,
    /// Altitude in metres, when known.
    #[uniffi(default = None)]
    pub altitude_m: Option<f64>,
    /// Where the fix came from.
    pub provider: LocationProvider,
    /// When it was taken, in milliseconds since the Unix epoch.
    pub fix_time_ms: i64,
    /// The OS flagged it as simulated.
    #[uniffi(default = false)]
    pub mock: bool,
    /// The system the coordinates arrived in before conversion.
    pub source_crs: CoordSystem,
}

impl From<LocationFix> for p::LocationFix {
    fn from(f: LocationFix) -> Self {
        p::LocationFix {
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            altitude_m: f.altitude_m,
            provider: f.provider.into(),
            fix_time: p::Timestamp::from_millis(f.fix_time_ms),
            mock: f.mock,
            source_crs: f.source_crs.into(),
        }
    }
}

impl From<p::LocationFix> for LocationFix {
    fn from(f: p::LocationFix) -> Self {
        LocationFix {
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            altitude_m: f.altitude_m,
            provider: f.provider.into(),
            fix_time_ms: f.fix_time.as_millis(),
            mock: f.mock,
            source_crs: f.source_crs.into(),
        }
    }
}

/// An attribute value: a number, a text (also datetimes and single choices), or a list of choices.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum AttrValue {
    /// For `number` attributes.
    Number {
        /// The number.
        value: f64,
    },
    /// For `string`, `text`, `datetime` and `singlevaluelist` attributes.
    Text {
        /// The text or the chosen key.
        value: String,
    },
    /// For `multivaluelist` attributes (named `Choices`: `List` would shadow Kotlin's `List`).
    Choices {
        /// The chosen keys.
        values: Vec<String>,
    },
}

impl From<AttrValue> for p::AttrValue {
    fn from(v: AttrValue) -> Self {
        match v {
            AttrValue::Number { value } => p::AttrValue::Number(value),
            AttrValue::Text { value } => p::AttrValue::Text(value),
            AttrValue::Choices { values } => p::AttrValue::List(values),
        }
    }
}

impl From<p::AttrValue> for AttrValue {
    fn from(v: p::AttrValue) -> Self {
        match v {
            p::AttrValue::Number(value) => AttrValue::Number { value },
            p::AttrValue::Text(value) => AttrValue::Text { value },
            p::AttrValue::List(values) => AttrValue::Choices { values },
        }
    }
}

/// What an anti-fraud outreach session achieved.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Outreach {
    /// People reached.
    pub people_reached: i32,
    /// Materials handed out.
    pub materials_handed_out: i32,
    /// Where.
    pub venue_type: VenueType,
}

impl TryFrom<Outreach> for p::Outreach {
    type Error = p::FieldError;

    fn try_from(o: Outreach) -> Result<Self, Self::Error> {
        let count = |field: &str, n: i32| {
            u32::try_from(n).map_err(|_| p::FieldError::new(field, "must not be negative"))
        };
        Ok(p::Outreach {
            people_reached: count("outreach.people_reached", o.people_reached)?,
            materials_handed_out: count("outreach.materials_handed_out", o.materials_handed_out)?,
            venue_type: o.venue_type.into(),
        })
    }
}

impl From<p::Outreach> for Outreach {
    fn from(o: p::Outreach) -> Self {
        Outreach {
            people_reached: i32::try_from(o.people_reached).unwrap_or(i32::MAX),
            materials_handed_out: i32::try_from(o.materials_handed_out).unwrap_or(i32::MAX),
            venue_type: o.venue_type.into(),
        }
    }
}

/// A processed evidence photo, named by the SHA-256 of its JPEG.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhotoRef {
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
}

impl From<p::PhotoRef> for PhotoRef {
    fn from(r: p::PhotoRef) -> Self {
        PhotoRef {
            sha256: r.sha256,
            bytes: signed(r.bytes),
            width: i32::try_from(r.width).unwrap_or(i32::MAX),
            height: i32::try_from(r.height).unwrap_or(i32::MAX),
        }
    }
}

/// Changes to a draft; `null` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct DraftPatch {
    /// New kind.
    #[uniffi(default = None)]
    pub kind: Option<ReportKind>,
    /// New category code.
    #[uniffi(default = None)]
    pub category: Option<String>,
    /// New note.
    #[uniffi(default = None)]
    pub note: Option<String>,
    /// New severity.
    #[uniffi(default = None)]
    pub severity: Option<Severity>,
    /// New location (WGS-84).
    #[uniffi(default = None)]
    pub location: Option<LocationFix>,
    /// Attribute values to set.
    #[uniffi(default)]
    pub set_attributes: HashMap<String, AttrValue>,
    /// Attribute codes to remove.
    #[uniffi(default = [])]
    pub remove_attributes: Vec<String>,
    /// New outreach figures.
    #[uniffi(default = None)]
    pub outreach: Option<Outreach>,
}

impl TryFrom<DraftPatch> for core::DraftPatch {
    type Error = p::FieldError;

    fn try_from(d: DraftPatch) -> Result<Self, Self::Error> {
        Ok(core::DraftPatch {
            kind: d.kind.map(Into::into),
            category: d.category,
            note: d.note,
            severity: d.severity.map(Into::into),
            location: d.location.map(Into::into),
            set_attributes: d
                .set_attributes
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            remove_attributes: d.remove_attributes,
            outreach: d.outreach.map(TryInto::try_into).transpose()?,
        })
    }
}

/// A report as the device keeps it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Report {
    /// UUIDv7 made on the device; the idempotency key.
    pub id: String,
    /// Outbox state.
    pub state: ReportState,
    /// What it is about.
    pub kind: ReportKind,
    /// Category code (empty until chosen).
    pub category: String,
    /// The rider's note.
    pub note: String,
    /// Urgency.
    pub severity: Severity,
    /// Where, once known.
    pub location: Option<LocationFix>,
    /// Location quality warnings raised at submit (`low_accuracy`, `mock_location`, ...).
    pub location_warnings: Vec<String>,
    /// The grid the point lies in.
    pub grid_id: Option<String>,
    /// Category attributes.
    pub attributes: HashMap<String, AttrValue>,
    /// Outreach figures.
    pub outreach: Option<Outreach>,
    /// Attached photos.
    pub photos: Vec<PhotoRef>,
    /// The rider.
    pub reporter: String,
    /// When the draft was created (ms since epoch).
    pub created_at_ms: i64,
    /// Last local change (ms since epoch).
    pub updated_at_ms: i64,
    /// When it was submitted (ms since epoch).
    pub submitted_at_ms: Option<i64>,
    /// The server's ticket, once accepted.
    pub ticket_id: Option<String>,
    /// The ticket's latest status, as last pulled (`submitted`, `accepted`, `resolved`, ...).
    pub ticket_status: Option<TicketStatus>,
    /// The field the server refused, for parked reports.
    pub rejection_field: Option<String>,
    /// The server's reason, for parked reports.
    pub rejection_reason: Option<String>,
}

/// One line of the queue screen, read without the report's payload (see `list_rows`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReportRow {
    /// The report's id.
    pub id: String,
    /// Outbox state.
    pub state: ReportState,
    /// What it is about.
    pub kind: ReportKind,
    /// Category code (empty until chosen).
    pub category: String,
    /// The rider's note.
    pub note: String,
    /// Urgency.
    pub severity: Severity,
    /// The grid the point lies in.
    pub grid_id: Option<String>,
    /// When the draft was created (ms since epoch); the list's order.
    pub created_at_ms: i64,
    /// Last local change (ms since epoch).
    pub updated_at_ms: i64,
    /// When it was submitted (ms since epoch).
    pub submitted_at_ms: Option<i64>,
    /// The server's ticket, once accepted.
    pub ticket_id: Option<String>,
    /// The ticket's latest status, as last pulled.
    pub ticket_status: Option<TicketStatus>,
    /// The field the server refused, for parked reports.
    pub rejection_field: Option<String>,
    /// The server's reason, for parked reports.
    pub rejection_reason: Option<String>,
    /// How many photos are attached.
    pub photo_count: u32,
    /// The first photo's SHA-256, for its thumbnail (`photo_path(sha, thumbnail = true)`).
    pub first_photo: Option<String>,
}

/// Where the next page of `list_rows` starts: the last row's `created_at_ms` and `id`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ListCursor {
    /// The last row's `created_at_ms`.
    pub created_at_ms: i64,
    /// The last row's `id`.
    pub id: String,
}

impl From<gridline_core::ReportRow> for ReportRow {
    fn from(r: gridline_core::ReportRow) -> Self {
        let (rejection_field, rejection_reason) = match r.rejection {
            Some(x) => (x.field, Some(x.reason)),
            None => (None, None),
        };
        ReportRow {
            id: r.id.to_string(),
            state: r.state.into(),
            kind: r.kind.into(),
            category: r.category,
            note: r.note,
            severity: r.severity.into(),
            grid_id: r.grid_id,
            created_at_ms: r.created_at.as_millis(),
            updated_at_ms: r.updated_at.as_millis(),
            submitted_at_ms: r.submitted_at.map(|t| t.as_millis()),
            ticket_id: r.ticket_id,
            ticket_status: parse_status(r.ticket_status.as_deref()),
            rejection_field,
            rejection_reason,
            photo_count: r.photo_count,
            first_photo: r.first_photo,
        }
    }
}

impl From<core::LocalReport> for Report {
    fn from(r: core::LocalReport) -> Self {
        let (rejection_field, rejection_reason) = match r.rejection {
            Some(x) => (x.field, Some(x.reason)),
            None => (None, None),
        };
        Report {
            id: r.id.to_string(),
            state: r.state.into(),
            kind: r.kind.into(),
            category: r.category,
            note: r.note,
            severity: r.severity.into(),
            location: r.location.map(Into::into),
            location_warnings: r.location_warnings,
            grid_id: r.grid_id,
            attributes: r
                .attributes
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            outreach: r.outreach.map(Into::into),
            photos: r.photos.into_iter().map(Into::into).collect(),
            reporter: r.reporter,
            created_at_ms: r.created_at.as_millis(),
            updated_at_ms: r.updated_at.as_millis(),
            submitted_at_ms: r.submitted_at.map(|t| t.as_millis()),
            ticket_id: r.ticket_id,
            ticket_status: parse_status(r.ticket_status.as_deref()),
            rejection_field,
            rejection_reason,
        }
    }
}

/// How many reports are in each state, for a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Counts {
    /// Drafts.
    pub drafts: i64,
    /// Waiting to be sent.
    pub pending: i64,
    /// Accepted by the server.
    pub accepted: i64,
    /// Parked, waiting for the rider.
    pub rejected: i64,
}

impl From<core::Counts> for Counts {
    fn from(c: core::Counts) -> Self {
        Counts {
            drafts: signed(c.drafts),
            pending: signed(c.pending),
            accepted: signed(c.accepted),
            rejected: signed(c.rejected),
        }
    }
}
