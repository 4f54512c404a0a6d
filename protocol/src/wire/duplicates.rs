//! Duplicate candidates and merged evidence (issue 17): `GET /v1/tickets/{id}/candidates`
//! and the `merged` list of a ticket that others were marked duplicates of.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ticket::{TicketPhoto, TicketStatus};
use crate::evidence::TicketEvidence;
use crate::{LocationFix, Timestamp};

/// A ticket that may report the same problem as the one asked about, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateCandidate {
    /// The candidate ticket.
    pub ticket_id: String,
    /// Its report's device-born id.
    pub report_id: Uuid,
    /// Its status (candidates are open tickets).
    pub status: TicketStatus,
    /// Its category code.
    pub category: String,
    /// Metres between the two locations.
    pub distance_m: f64,
    /// How likely it is the same problem, 0..=1; candidates are sorted by it.
    pub score: f64,
    /// Best similarity between the two tickets' photos (server-computed perceptual hashes),
    /// 0..=1; absent when either has no verified photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Whether it has the same category.
    pub same_category: bool,
    /// E.g. "photo 94 % similar, 12 m away, same category, 2 days ago".
    pub reason: String,
    /// When the rider submitted it.
    pub submitted_at: Timestamp,
}

/// `GET /v1/tickets/{id}/candidates`: the best candidates first, at most the server's bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateList {
    /// The ticket asked about.
    pub ticket_id: String,
    /// Best first.
    pub candidates: Vec<DuplicateCandidate>,
}

/// The evidence of a ticket merged into this one (marked its duplicate): the report's place,
/// photos, signature record and fraud signals stay reachable from the surviving ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedReport {
    /// The duplicate ticket (still readable itself).
    pub ticket_id: String,
    /// Its report's device-born id.
    pub report_id: Uuid,
    /// The rider id its report names.
    pub reporter: String,
    /// When the rider submitted it.
    pub submitted_at: Timestamp,
    /// Where it was reported.
    pub location: LocationFix,
    /// The rider's note.
    pub note: String,
    /// Its photos (`GET /v1/media/{sha256}` serves them to whoever sees the surviving ticket).
    #[serde(default)]
    pub photos: Vec<TicketPhoto>,
    /// Its signature check and fraud signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<TicketEvidence>,
}
