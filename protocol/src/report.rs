//! A rider's report as it travels to the grid server: what was seen, where, when, by whom,
//! with which photos. The id is born on the device and is the idempotency key end to end.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldError, LocationFix, MAX_NOTE_CHARS, Timestamp};

/// What a report is about; each kind has its own categories in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ReportKind {
    /// Potholes, cracks, missing manhole covers, waterlogging.
    RoadDamage,
    /// Overflowing or mixed bins, illegal dumping.
    GarbageSorting,
    /// Anti-fraud outreach the rider carried out (talks, leaflets, visits).
    AntiFraudOutreach,
    /// Anything the catalog has no better kind for.
    Other,
    /// A rider's on-the-spot check (核查) that a resolved ticket's problem is really gone:
    /// attributes `ticket` (the ticket id) and `result` (`fixed` or `not_fixed`).
    Verification,
}

impl ReportKind {
    /// Every kind, in catalog order.
    pub const ALL: [ReportKind; 5] = [
        Self::RoadDamage,
        Self::GarbageSorting,
        Self::AntiFraudOutreach,
        Self::Other,
        Self::Verification,
    ];

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoadDamage => "road_damage",
            Self::GarbageSorting => "garbage_sorting",
            Self::AntiFraudOutreach => "anti_fraud_outreach",
            Self::Other => "other",
            Self::Verification => "verification",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// How urgent the rider judges the problem.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Severity {
    /// Cosmetic; fix when convenient.
    Low,
    /// The default.
    #[default]
    Medium,
    /// A hazard; fix soon.
    High,
    /// Danger to people now (open manhole, collapsed road).
    Urgent,
}

impl Severity {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Low, Self::Medium, Self::High, Self::Urgent]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Where an outreach session took place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum VenueType {
    /// On the street or a square.
    Street,
    /// In a shop or restaurant.
    Shop,
    /// A residential community (小区) or its committee.
    Community,
    /// A school.
    School,
    /// An office or workplace.
    Office,
    /// A market.
    Market,
    /// Somewhere else.
    Other,
}

impl VenueType {
    /// Every venue type.
    pub const ALL: [VenueType; 7] = [
        Self::Street,
        Self::Shop,
        Self::Community,
        Self::School,
        Self::Office,
        Self::Market,
        Self::Other,
    ];

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Street => "street",
            Self::Shop => "shop",
            Self::Community => "community",
            Self::School => "school",
            Self::Office => "office",
            Self::Market => "market",
            Self::Other => "other",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

/// What an anti-fraud outreach session achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outreach {
    /// People who listened or were spoken to.
    pub people_reached: u32,
    /// Leaflets, posters or cards handed out.
    pub materials_handed_out: u32,
    /// Where it happened.
    pub venue_type: VenueType,
}

/// Most people one outreach session can plausibly reach; beyond this it is a typo.
pub const MAX_PEOPLE_REACHED: u32 = 100_000;
/// Most materials one session can plausibly hand out.
pub const MAX_MATERIALS: u32 = 1_000_000;
/// Most photos one report may carry.
pub const MAX_PHOTOS: usize = 9;

/// A processed evidence photo, addressed by the SHA-256 of its JPEG bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoRef {
    /// Lowercase hex SHA-256 of the processed JPEG: its id and its integrity check.
    pub sha256: String,
    /// Size of the processed JPEG in bytes.
    pub bytes: u64,
    /// Pixel width after orientation was applied.
    pub width: u32,
    /// Pixel height after orientation was applied.
    pub height: u32,
    /// What the original's EXIF said before the device stripped it; absent from devices that
    /// predate it (and then no EXIF signal is raised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exif: Option<PhotoExif>,
}

/// The EXIF facts of a photo's original that fraud checks need, read on the device before the
/// pipeline threw the metadata away. Never the position itself: a gallery photo taken at
/// home must not tell the city where home is (decision 0041), so only its distance travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoExif {
    /// When EXIF says the photo was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<Timestamp>,
    /// Whole metres between EXIF's GPS position and the report's location fix, when EXIF had
    /// a position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps_distance_m: Option<i64>,
    /// EXIF named the camera (`Make` or `Model`); false for screenshots, downloads and
    /// photos whose metadata was stripped before the app saw them.
    pub camera: bool,
}

/// Half the Earth's circumference, rounded up: no two points are further apart.
const MAX_SURFACE_DISTANCE_M: i64 = 20_040_000;

impl PhotoRef {
    /// Checks the hash's shape and that the sizes are plausible.
    pub fn validate(&self, field: &str) -> Result<(), FieldError> {
        if !is_sha256_hex(&self.sha256) {
            return Err(FieldError::new(
                format!("{field}.sha256"),
                "must be 64 lowercase hex digits",
            ));
        }
        if self.bytes == 0 || self.width == 0 || self.height == 0 {
            return Err(FieldError::new(field, "an empty photo cannot be evidence"));
        }
        if let Some(d) = self.exif.and_then(|e| e.gps_distance_m)
            && !(0..=MAX_SURFACE_DISTANCE_M).contains(&d)
        {
            return Err(FieldError::new(
                format!("{field}.exif.gps_distance_m"),
                format!("must be 0 to {MAX_SURFACE_DISTANCE_M} metres"),
            ));
        }
        Ok(())
    }
}

/// True for exactly 64 lowercase hexadecimal digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One attribute value, in the Open311 service-definition spirit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AttrValue {
    /// For `number` attributes.
    Number(f64),
    /// For `string`, `text`, `datetime` (RFC 3339) and `singlevaluelist` (the value's key).
    Text(String),
    /// For `multivaluelist`: the chosen values' keys (`Choices` in Kotlin and Swift, where
    /// `List` would shadow the language's own list type).
    #[cfg_attr(feature = "uniffi", uniffi(name = "Choices"))]
    List(Vec<String>),
}

/// A report as filed by a rider and sent to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// UUIDv7 made on the device when the draft was created; the idempotency key.
    pub id: Uuid,
    /// What the report is about.
    pub kind: ReportKind,
    /// A category code of that kind in the catalog.
    pub category: String,
    /// The rider's free-text note (may be empty).
    #[serde(default)]
    pub note: String,
    /// How urgent it is.
    #[serde(default)]
    pub severity: Severity,
    /// Where it was seen, in WGS-84.
    pub location: LocationFix,
    /// Quality warnings raised about the location at submit time (`low_accuracy`, `mock_location`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location_warnings: Vec<String>,
    /// The grid the point falls in, when the device knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_id: Option<String>,
    /// Category-specific attributes, keyed by attribute code.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttrValue>,
    /// Required for `anti_fraud_outreach`, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outreach: Option<Outreach>,
    /// Evidence photos.
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
    /// The rider's id as the host app knows it.
    pub reporter: String,
    /// When the draft was created.
    pub created_at: Timestamp,
    /// When the rider tapped submit.
    pub submitted_at: Timestamp,
    /// The host app's version string, for support.
    #[serde(default)]
    pub app_version: String,
    /// The device key's signature over [`crate::evidence::canonical_digest`]; absent from
    /// devices that predate signing (the server records such reports as unsigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::evidence::ReportSignature>,
}

/// True for characters that change how text reads without being seen: bidirectional
/// controls and marks, zero-width spaces and joiners' lookalikes, the BOM, TAG characters,
/// interlinear annotation, and the Unicode line and paragraph separators (which break logs
/// and JavaScript string literals). A note keeps ZWJ/ZWNJ (emoji and some scripts need them).
fn is_invisible_format(c: char, multiline: bool) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        | '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}'
        | '\u{2028}' | '\u{2029}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
        || (!multiline && matches!(c, '\u{200C}' | '\u{200D}' | '\u{00AD}'))
}

/// Why a piece of text is unacceptable, if it is.
///
/// `multiline` allows newlines and tabs (notes); single-line fields allow neither.
/// Bidirectional controls and other invisible format characters are refused everywhere:
/// they make a supervisor's screen lie (see [`is_invisible_format`]).
pub fn check_text(
    field: &str,
    text: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<(), FieldError> {
    let count = text.chars().count();
    if count > max_chars {
        return Err(FieldError::new(
            field,
            format!("is {count} characters long; at most {max_chars} are allowed"),
        ));
    }
    for c in text.chars() {
        let allowed_ws = multiline && matches!(c, '\n' | '\t' | '\r');
        if c.is_control() && !allowed_ws {
            return Err(FieldError::new(
                field,
                format!("contains the control character U+{:04X}", c as u32),
            ));
        }
        if is_invisible_format(c, multiline) {
            return Err(FieldError::new(
                field,
                format!(
                    "contains the invisible formatting character U+{:04X}",
                    c as u32
                ),
            ));
        }
    }
    Ok(())
}

/// Earliest time a report may carry: 2015-01-01T00:00:00Z (before any Gridline device).
pub const EARLIEST_TIME: Timestamp = Timestamp::from_millis(1_420_070_400_000);
/// Times from here on are refused: 2100-01-01T00:00:00Z.
pub const LATEST_TIME: Timestamp = Timestamp::from_millis(4_102_444_800_000);

/// Refuses a time outside [`EARLIEST_TIME`]..[`LATEST_TIME`] (year 1 and 9999 are typos or
/// attacks, never a rider's clock).
pub fn check_time(field: &str, at: Timestamp) -> Result<(), FieldError> {
    if at < EARLIEST_TIME || at >= LATEST_TIME {
        return Err(FieldError::new(
            field,
            format!("{at} is not a plausible time (2015 to 2099)"),
        ));
    }
    Ok(())
}

/// Longest reporter id or category code accepted.
pub const MAX_ID_CHARS: usize = 128;

impl Report {
    /// Checks everything that does not need the catalog: ids, text, location, outreach, photos.
    /// `Catalog::validate_report` adds the catalog's rules on top.
    pub fn validate_shape(&self) -> Result<(), FieldError> {
        if self.id.get_version_num() != 7 {
            return Err(FieldError::new("id", "must be a UUIDv7 made on the device"));
        }
        check_text("category", &self.category, MAX_ID_CHARS, false)?;
        check_text("note", &self.note, MAX_NOTE_CHARS, true)?;
        self.location.validate()?;
        if self.reporter.trim().is_empty() {
            return Err(FieldError::new("reporter", "must name the rider"));
        }
        check_text("reporter", &self.reporter, MAX_ID_CHARS, false)?;
        check_text("app_version", &self.app_version, MAX_ID_CHARS, false)?;
        if let Some(grid) = &self.grid_id {
            check_text("grid_id", grid, MAX_ID_CHARS, false)?;
        }
        for (i, w) in self.location_warnings.iter().enumerate() {
            check_text(&format!("location_warnings.{i}"), w, MAX_ID_CHARS, false)?;
        }
        match (&self.outreach, self.kind) {
            (None, ReportKind::AntiFraudOutreach) => {
                return Err(FieldError::new(
                    "outreach",
                    "is required for anti_fraud_outreach reports",
                ));
            }
            (Some(_), kind) if kind != ReportKind::AntiFraudOutreach => {
                return Err(FieldError::new(
                    "outreach",
                    "is only for anti_fraud_outreach reports",
                ));
            }
            (Some(o), _) => {
                if o.people_reached == 0 || o.people_reached > MAX_PEOPLE_REACHED {
                    return Err(FieldError::new(
                        "outreach.people_reached",
                        format!("must be between 1 and {MAX_PEOPLE_REACHED}"),
                    ));
                }
                if o.materials_handed_out > MAX_MATERIALS {
                    return Err(FieldError::new(
                        "outreach.materials_handed_out",
                        format!("must be at most {MAX_MATERIALS}"),
                    ));
                }
            }
            (None, _) => {}
        }
        if self.photos.len() > MAX_PHOTOS {
            return Err(FieldError::new(
                "photos",
                format!("at most {MAX_PHOTOS} photos per report"),
            ));
        }
        for (i, p) in self.photos.iter().enumerate() {
            p.validate(&format!("photos.{i}"))?;
        }
        check_time("created_at", self.created_at)?;
        check_time("submitted_at", self.submitted_at)?;
        check_time("location.fix_time", self.location.fix_time)?;
        if self.submitted_at < self.created_at {
            return Err(FieldError::new(
                "submitted_at",
                "is earlier than created_at",
            ));
        }
        Ok(())
    }
}
