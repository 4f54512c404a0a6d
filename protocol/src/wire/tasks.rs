//! `GET /v1/tasks`: verification tasks (核查) offered to riders. A task is a ticket whose fix
//! waits for someone to look on the spot; it tells a rider where to go and what to look for,
//! and nothing about who reported it.

use serde::{Deserialize, Serialize};

use crate::{ReportKind, Timestamp};

/// One ticket awaiting verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VerificationTask {
    /// The ticket to verify: the `ticket` attribute of the verification report.
    pub ticket_id: String,
    /// The ticket's kind.
    pub kind: ReportKind,
    /// The ticket's category code.
    pub category: String,
    /// Its grid.
    pub grid_id: Option<String>,
    /// Where the problem was reported, WGS-84 longitude.
    pub lon: f64,
    /// Where the problem was reported, WGS-84 latitude.
    pub lat: f64,
    /// What the department says it did.
    pub resolution_note: Option<String>,
    /// When the department resolved it.
    pub resolved_at: Timestamp,
    /// A verification must be filed within this many metres of the ticket's location.
    pub radius_m: f64,
}

/// The answer of `GET /v1/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskPage {
    /// Open tasks, oldest resolution first.
    pub tasks: Vec<VerificationTask>,
}
