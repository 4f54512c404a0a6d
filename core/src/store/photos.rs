//! Photo records: which processed photos exist in the media folder and which reports use
//! them. A photo is stored once however many reports attach it; when the last report using it
//! goes, its record goes too and the caller deletes its files.

use gridline_protocol::report::MAX_PHOTOS;
use gridline_protocol::{FieldError, PhotoRef, Timestamp};
use rusqlite::{TransactionBehavior, params};
use uuid::Uuid;

use super::Store;
use crate::error::{Error, Result};
use crate::photo::PerceptualHash;

/// A processed photo to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPhoto {
    /// Size, dimensions and content address.
    pub photo: PhotoRef,
    /// File name of the photo in the media folder.
    pub file_name: String,
    /// File name of its thumbnail.
    pub thumb_name: String,
    /// When it was taken, from EXIF.
    pub captured_at: Option<Timestamp>,
    /// Where it was taken (WGS-84 latitude, longitude), from EXIF; kept on the device.
    pub gps: Option<(f64, f64)>,
    /// EXIF named a camera.
    pub camera: bool,
    /// Its perceptual hash, for duplicate candidates.
    pub phash: Option<PerceptualHash>,
}

/// Where each photo of a report was taken, by SHA-256, for those whose EXIF said.
pub type PhotoPositions = std::collections::HashMap<String, (f64, f64)>;

/// Where the photos of report `id` were taken, for those whose EXIF had a position.
pub(super) fn positions_of(conn: &rusqlite::Connection, id: &Uuid) -> Result<PhotoPositions> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.sha256, p.gps_lat, p.gps_lon FROM report_photos rp JOIN photos p ON p.sha256 = rp.sha256
         WHERE rp.report_id = ?1 AND p.gps_lat IS NOT NULL AND p.gps_lon IS NOT NULL",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Files to delete from the media folder after a transaction removed their last use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrphanFiles(pub Vec<String>);

impl Store {
    /// Attaches a processed photo to an editable report (recording the photo if new).
    /// Attaching the same photo to the same report twice changes nothing.
    pub fn attach_photo(&mut self, report: &Uuid, photo: &NewPhoto, now: Timestamp) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = report.to_string();
        let state: Option<String> = tx
            .query_row("SELECT state FROM reports WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .map(Some)
            .or_else(|e| {
                if e == rusqlite::Error::QueryReturnedNoRows {
                    Ok(None)
                } else {
                    Err(e)
                }
            })?;
        match state.as_deref() {
            None => return Err(Error::NotFound(format!("report {report}"))),
            Some("draft" | "rejected") => {}
            Some(other) => {
                return Err(Error::InvalidState(format!(
                    "report {report} is {other}; photos can no longer change"
                )));
            }
        }
        let (count, already): (i64, i64) = tx.query_row(
            "SELECT count(*), coalesce(sum(sha256 = ?2), 0) FROM report_photos WHERE report_id = ?1",
            params![id, photo.photo.sha256],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if already > 0 {
            return Ok(());
        }
        if count as usize >= MAX_PHOTOS {
            return Err(FieldError::new(
                "photos",
                format!("at most {MAX_PHOTOS} photos per report"),
            )
            .into());
        }
        tx.execute(
            "INSERT OR IGNORE INTO photos (sha256, bytes, width, height, file_name, thumb_name, captured_at, created_at,
                                           gps_lat, gps_lon, camera, phash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                photo.photo.sha256,
                photo.photo.bytes as i64,
                photo.photo.width,
                photo.photo.height,
                photo.file_name,
                photo.thumb_name,
                photo.captured_at.map(|t| t.as_millis()),
                now.as_millis(),
                photo.gps.map(|g| g.0),
                photo.gps.map(|g| g.1),
                photo.camera,
                photo.phash.map(PerceptualHash::to_i64)
            ],
        )?;
        tx.execute(
            "INSERT INTO report_photos (report_id, position, sha256)
             VALUES (?1, (SELECT coalesce(max(position), -1) + 1 FROM report_photos WHERE report_id = ?1), ?2)",
            params![id, photo.photo.sha256],
        )?;
        tx.execute(
            "UPDATE reports SET updated_at = ?2 WHERE id = ?1",
            params![id, now.as_millis()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The perceptual hashes of a report's photos, in attach order; photos recorded before
    /// hashes existed are skipped.
    pub fn report_phashes(&self, report: &Uuid) -> Result<Vec<PerceptualHash>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.phash FROM report_photos rp JOIN photos p ON p.sha256 = rp.sha256
             WHERE rp.report_id = ?1 AND p.phash IS NOT NULL ORDER BY rp.position",
        )?;
        let rows = stmt.query_map([report.to_string()], |r| r.get::<_, i64>(0))?;
        rows.map(|r| Ok(PerceptualHash::from_i64(r?))).collect()
    }

    /// The perceptual hashes of whichever of the photos `sha256s` this device has recorded.
    pub fn phashes_of(&self, sha256s: &[String]) -> Result<Vec<PerceptualHash>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT phash FROM photos WHERE sha256 = ?1 AND phash IS NOT NULL")?;
        let mut out = Vec::new();
        for sha in sha256s {
            let mut rows = stmt.query_map([sha], |r| r.get::<_, i64>(0))?;
            if let Some(v) = rows.next() {
                out.push(PerceptualHash::from_i64(v?));
            }
        }
        Ok(out)
    }

    /// Detaches a photo from an editable report; returns files no report uses any more.
    pub fn detach_photo(&mut self, report: &Uuid, sha256: &str) -> Result<OrphanFiles> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = report.to_string();
        let state: String = tx
            .query_row("SELECT state FROM reports WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .map_err(|e| {
                if e == rusqlite::Error::QueryReturnedNoRows {
                    Error::NotFound(format!("report {report}"))
                } else {
                    e.into()
                }
            })?;
        if !matches!(state.as_str(), "draft" | "rejected") {
            return Err(Error::InvalidState(format!(
                "report {report} is {state}; photos can no longer change"
            )));
        }
        let n = tx.execute(
            "DELETE FROM report_photos WHERE report_id = ?1 AND sha256 = ?2",
            params![id, sha256],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!(
                "photo {sha256} on report {report}"
            )));
        }
        let orphans = remove_unused_photos(&tx)?;
        tx.commit()?;
        Ok(orphans)
    }

    /// File names of a photo and its thumbnail, if recorded.
    pub fn photo_files(&self, sha256: &str) -> Result<Option<(String, Option<String>)>> {
        match self.conn.query_row(
            "SELECT file_name, thumb_name FROM photos WHERE sha256 = ?1",
            [sha256],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ) {
            Ok(v) => Ok(Some(v)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every file name the photo records point at (for sweeping stray files).
    pub fn all_photo_files(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT file_name, thumb_name FROM photos")?;
        let mut out = Vec::new();
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })? {
            let (f, t) = row?;
            out.push(f);
            out.extend(t);
        }
        Ok(out)
    }
}

/// Deletes photo records no report uses, returning their files (inside the caller's transaction).
pub(super) fn remove_unused_photos(tx: &rusqlite::Transaction<'_>) -> Result<OrphanFiles> {
    let mut files = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT file_name, thumb_name FROM photos WHERE sha256 NOT IN (SELECT sha256 FROM report_photos)",
        )?;
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })? {
            let (f, t) = row?;
            files.push(f);
            files.extend(t);
        }
    }
    tx.execute(
        "DELETE FROM photos WHERE sha256 NOT IN (SELECT sha256 FROM report_photos)",
        [],
    )?;
    Ok(OrphanFiles(files))
}
