//! Query strings of the list endpoints, shared so a client builds exactly what the server parses.

use serde::{Deserialize, Serialize};

use super::TicketStatus;
use crate::{FieldError, ReportKind, Timestamp};

/// `GET /v1/changes?cursor=&limit=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Continue after this cursor; absent means from the beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size (default 100, clamped to `Limits::max_page_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `GET /v1/tickets?status=&kind=&grid=&since=&until=&signature=&signal=&limit=&cursor=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Comma-separated statuses, e.g. `submitted,accepted`; any of them matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only this report kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ReportKind>,
    /// Only this grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
    /// Only tickets received at or after this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// Only tickets received before this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// Only tickets that are (`true`) or are not (`false`) overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    /// Order of the page: `id` (default, oldest first) or `due_at` (earliest deadline first,
    /// tickets without one last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<TicketSort>,
    /// Page size (default 100, clamped to `Limits::max_page_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only tickets whose signature check found this (`mismatch`, `unsigned`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::evidence::SignatureCheck>,
    /// Only tickets with this fraud signal (`mock_location`, ...), or with any signal (`any`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
}

/// How `GET /v1/tickets` orders a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSort {
    /// By ticket id: creation order.
    #[default]
    Id,
    /// By deadline, earliest first; tickets without a deadline last, by id.
    DueAt,
}

/// `GET /v1/tasks?near=&radius_m=`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TasksQuery {
    /// `lon,lat` (WGS-84): tasks within `radius_m` of this point, in any grid. Without it, the
    /// tasks of the caller's grids (assigned, or where they filed reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near: Option<String>,
    /// Radius around `near`, metres (default 2,000, at most 20,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<f64>,
}

impl TasksQuery {
    /// Largest `radius_m`.
    pub const MAX_RADIUS_M: f64 = 20_000.0;
    /// `radius_m` when absent.
    pub const DEFAULT_RADIUS_M: f64 = 2_000.0;

    /// The point and radius asked for, if any; an error names the bad field.
    pub fn area(&self) -> Result<Option<(f64, f64, f64)>, FieldError> {
        let radius = self.radius_m.unwrap_or(Self::DEFAULT_RADIUS_M);
        if !(radius.is_finite() && radius > 0.0 && radius <= Self::MAX_RADIUS_M) {
            return Err(FieldError::new(
                "radius_m",
                format!("must be above 0 and at most {}", Self::MAX_RADIUS_M),
            ));
        }
        let Some(near) = &self.near else {
            return Ok(None);
        };
        let bad = || FieldError::new("near", "must be lon,lat in degrees (WGS-84)");
        let (lon, lat) = near.split_once(',').ok_or_else(bad)?;
        let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
        let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
        if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
            return Err(bad());
        }
        Ok(Some((lon, lat, radius)))
    }
}

impl TicketQuery {
    /// The `status` filter as a list (empty: any status).
    pub fn statuses(&self) -> Result<Vec<TicketStatus>, FieldError> {
        let Some(text) = &self.status else {
            return Ok(Vec::new());
        };
        text.split(',')
            .map(|s| {
                TicketStatus::parse(s.trim()).ok_or_else(|| {
                    let shown: String = s.chars().take(40).collect();
                    FieldError::new("status", format!("{shown:?} is not a ticket status"))
                })
            })
            .collect()
    }
}

impl TicketQuery {
    /// Tickets in any of `statuses` (all tickets when empty).
    pub fn with_statuses(statuses: &[super::TicketStatus]) -> Self {
        let names: Vec<_> = statuses.iter().map(|s| s.as_str()).collect();
        TicketQuery {
            status: (!names.is_empty()).then(|| names.join(",")),
            ..Default::default()
        }
    }
}
