//! Offline geo helpers: coordinate conversion for Chinese map SDKs, grid look-up, nearby reports.

use gridline_core::client::NearbyReport as CoreNearby;
use gridline_core::geo;

use crate::error::GridlineError;
use crate::report::{CoordSystem, ReportState};
use crate::supervisor::{TicketStatus, parse_status};

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
    let (lon, lat) =
        geo::convert(point.lon, point.lat, from.into(), to.into()).map_err(|e| match e {
            geo::GeoError::InvalidPoint(f) => GridlineError::from(f),
            other => GridlineError::Validation {
                field: "point".into(),
                reason: other.to_string(),
            },
        })?;
    Ok(Coordinates { lon, lat })
}

/// A city grid (网格) and its parent subdistrict.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GridInfo {
    /// Grid id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Responsible supervisor.
    pub supervisor: Option<String>,
    /// Parent subdistrict.
    pub parent: Option<String>,
}

impl From<geo::GridInfo> for GridInfo {
    fn from(g: geo::GridInfo) -> Self {
        GridInfo {
            id: g.id,
            name: g.name,
            supervisor: g.supervisor,
            parent: g.parent,
        }
    }
}

/// A report near a point that may describe the same problem.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyReport {
    /// Report id.
    pub report_id: String,
    /// Ticket, when known.
    pub ticket_id: Option<String>,
    /// Distance in metres.
    pub distance_m: f64,
    /// Local outbox state, for the device's own reports.
    pub state: Option<ReportState>,
    /// Ticket status, when known.
    pub ticket_status: Option<TicketStatus>,
    /// When it was filed (ms since epoch).
    pub created_at_ms: i64,
    /// Its note.
    pub note: String,
}

impl From<CoreNearby> for NearbyReport {
    fn from(n: CoreNearby) -> Self {
        NearbyReport {
            report_id: n.report_id.to_string(),
            ticket_id: n.ticket_id,
            distance_m: n.distance_m,
            state: n.state.map(Into::into),
            ticket_status: parse_status(n.ticket_status.as_deref()),
            created_at_ms: n.created_at.as_millis(),
            note: n.note,
        }
    }
}
