//! What the device knows besides a report, for its fraud signals ([`crate::signals`]): the
//! rider's previous submitted report and other local reports that use the same photo.

use gridline_protocol::{LocationFix, Timestamp};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::Store;
use crate::error::{Error, Result};

impl Store {
    /// The location of the latest report submitted before `before`, other than `id`.
    pub fn previous_submitted(&self, id: &Uuid, before: Timestamp) -> Result<Option<LocationFix>> {
        let json: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT location_json FROM reports
                 WHERE id <> ?1 AND submitted_at IS NOT NULL AND submitted_at <= ?2
                 ORDER BY submitted_at DESC, id DESC LIMIT 1",
                params![id.to_string(), before.as_millis()],
                |r| r.get(0),
            )
            .optional()?;
        json.flatten()
            .map(|j| serde_json::from_str(&j).map_err(|e| Error::Corrupt(e.to_string())))
            .transpose()
    }

    /// Another submitted report (not `id`) that uses photo `sha256`, if any.
    pub fn other_report_with_photo(&self, sha256: &str, id: &Uuid) -> Result<Option<Uuid>> {
        let other: Option<String> = self
            .conn
            .query_row(
                "SELECT rp.report_id FROM report_photos rp JOIN reports r ON r.id = rp.report_id
                 WHERE rp.sha256 = ?1 AND rp.report_id <> ?2 AND r.submitted_at IS NOT NULL
                 ORDER BY r.submitted_at LIMIT 1",
                params![sha256, id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        other
            .map(|o| Uuid::parse_str(&o).map_err(|e| Error::Corrupt(e.to_string())))
            .transpose()
    }
}
