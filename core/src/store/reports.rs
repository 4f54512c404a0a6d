//! Reports and their outbox state: insert, read, edit, queue, list, count, delete.
//! State changes are recorded in `state_changes` in the same transaction as the change.

use std::collections::HashMap;

use gridline_protocol::wire::TicketStatus;
use gridline_protocol::{PhotoExif, PhotoRef, Report, ReportKind, Severity, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::Store;
use super::photos::PhotoPositions;
use crate::error::{Error, Result};
use crate::model::{Counts, DraftPatch, LocalReport, Rejection, ReportState};

/// One recorded move of a report through the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The state before (`None` when the draft was created).
    pub from: Option<ReportState>,
    /// The state after.
    pub to: ReportState,
    /// When.
    pub at: Timestamp,
    /// Why, when there is more to say (the server's reason, "interrupted sync").
    pub detail: Option<String>,
}

/// Which reports to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only these states; empty means all.
    pub states: Vec<ReportState>,
    /// At most this many (newest first); `None` means all.
    pub limit: Option<u32>,
}

impl ListFilter {
    /// Reports in `states` (all when empty), at most `limit` (a negative limit lists none).
    pub fn new(states: Vec<ReportState>, limit: Option<i32>) -> Self {
        let limit = limit.map(|n| u32::try_from(n).unwrap_or(0));
        ListFilter { states, limit }
    }
}

/// Where a page of [`Store::list_rows`] continues: just after this row, newest first. Keyset
/// paging, so reports created or deleted while the rider scrolls neither repeat nor vanish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ListCursor {
    /// The last row's creation time.
    pub created_at: Timestamp,
    /// The last row's id (orders reports created in the same millisecond).
    pub id: Uuid,
}

/// One line of the queue screen: what a list shows, read without decoding the report's JSON
/// columns (location, attributes, outreach) or loading its photos. Open one with `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReportRow {
    /// The report's id.
    pub id: Uuid,
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
    /// The grid the point lies in, once known.
    pub grid_id: Option<String>,
    /// When the draft was created (the list's order).
    pub created_at: Timestamp,
    /// Last local change.
    pub updated_at: Timestamp,
    /// When the rider submitted it.
    pub submitted_at: Option<Timestamp>,
    /// The server's ticket, once accepted.
    pub ticket_id: Option<String>,
    /// The ticket's latest status as last pulled.
    pub ticket_status: Option<TicketStatus>,
    /// Why the server refused it (rejected state only).
    pub rejection: Option<Rejection>,
    /// How many photos are attached.
    pub photo_count: i64,
    /// The first photo's SHA-256 (its thumbnail is the list's picture).
    pub first_photo: Option<String>,
}

impl ReportRow {
    /// The cursor that continues the list after this row.
    pub fn cursor(&self) -> ListCursor {
        ListCursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

const ROW_COLUMNS: &str = "id, state, kind, category, note, severity, grid_id, created_at,
    updated_at, submitted_at, ticket_id, ticket_status, reject_field, reject_reason,
    photo_count, first_photo";

/// `+state`: the state filter must not pick `reports_by_state`, whose order is not the list's;
/// `reports_list` gives the order and the page stops after `limit` rows.
const ROW_FILTER: &str = "(?1 = '[]' OR +state IN (SELECT value FROM json_each(?1)))";

fn decode_list_row(row: &Row<'_>) -> Result<ReportRow> {
    // The short text columns are read in place (no String per column per row): a queue of
    // thousands of rows spends most of its time here, not in SQLite.
    let text = |i: usize| -> rusqlite::Result<&str> {
        row.get_ref(i)?.as_str().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        })
    };
    let id = text(0)?;
    let (state, kind, severity) = (text(1)?, text(2)?, text(5)?);
    let reject_field: Option<String> = row.get(12)?;
    let reject_reason: Option<String> = row.get(13)?;
    let photo_count: i64 = row.get(14)?;
    let (category, note, grid_id) = (row.get(3)?, row.get(4)?, row.get(6)?);
    let (created_at, updated_at, submitted_at): (i64, i64, Option<i64>) =
        (row.get(7)?, row.get(8)?, row.get(9)?);
    let (ticket_id, first_photo) = (row.get(10)?, row.get(15)?);
    let ticket_status = row.get_ref(11)?.as_str_or_null().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(ReportRow {
        id: Uuid::parse_str(id).map_err(|e| corrupt("id", id, e))?,
        state: ReportState::parse(state).ok_or_else(|| corrupt("state", id, state))?,
        kind: ReportKind::parse(kind).ok_or_else(|| corrupt("kind", id, kind))?,
        category,
        note,
        severity: Severity::parse(severity).ok_or_else(|| corrupt("severity", id, severity))?,
        grid_id,
        created_at: Timestamp::from_millis(created_at),
        updated_at: Timestamp::from_millis(updated_at),
        submitted_at: submitted_at.map(Timestamp::from_millis),
        ticket_id,
        ticket_status: ticket_status.and_then(TicketStatus::parse),
        rejection: reject_reason.map(|reason| Rejection {
            field: reject_field,
            reason,
        }),
        photo_count,
        first_photo,
    })
}

const COLUMNS: &str =
    "id, state, kind, category, note, severity, location_json, attributes_json, outreach_json,
    location_warnings_json, grid_id, reporter, app_version, created_at, updated_at, submitted_at,
    ticket_id, ticket_status, reject_field, reject_reason";

fn corrupt(what: &str, id: &str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("{what} of report {id}: {e}"))
}

fn decode_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: row.get(0)?,
        state: row.get(1)?,
        kind: row.get(2)?,
        category: row.get(3)?,
        note: row.get(4)?,
        severity: row.get(5)?,
        location_json: row.get(6)?,
        attributes_json: row.get(7)?,
        outreach_json: row.get(8)?,
        warnings_json: row.get(9)?,
        grid_id: row.get(10)?,
        reporter: row.get(11)?,
        app_version: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
        submitted_at: row.get(15)?,
        ticket_id: row.get(16)?,
        ticket_status: row.get(17)?,
        reject_field: row.get(18)?,
        reject_reason: row.get(19)?,
    })
}

/// A row as stored, before its JSON columns are decoded.
struct RawRow {
    id: String,
    state: String,
    kind: String,
    category: String,
    note: String,
    severity: String,
    location_json: Option<String>,
    attributes_json: String,
    outreach_json: Option<String>,
    warnings_json: String,
    grid_id: Option<String>,
    reporter: String,
    app_version: String,
    created_at: i64,
    updated_at: i64,
    submitted_at: Option<i64>,
    ticket_id: Option<String>,
    ticket_status: Option<String>,
    reject_field: Option<String>,
    reject_reason: Option<String>,
}

impl RawRow {
    fn into_report(self, photos: Vec<PhotoRef>) -> Result<LocalReport> {
        let id = &self.id;
        let json = |what: &str, text: &str| -> Result<serde_json::Value> {
            serde_json::from_str(text).map_err(|e| corrupt(what, id, e))
        };
        let location = match &self.location_json {
            Some(text) => Some(
                serde_json::from_value(json("location", text)?)
                    .map_err(|e| corrupt("location", id, e))?,
            ),
            None => None,
        };
        let outreach = match &self.outreach_json {
            Some(text) => Some(
                serde_json::from_value(json("outreach", text)?)
                    .map_err(|e| corrupt("outreach", id, e))?,
            ),
            None => None,
        };
        Ok(LocalReport {
            id: Uuid::parse_str(id).map_err(|e| corrupt("id", id, e))?,
            state: ReportState::parse(&self.state)
                .ok_or_else(|| corrupt("state", id, &self.state))?,
            kind: ReportKind::parse(&self.kind).ok_or_else(|| corrupt("kind", id, &self.kind))?,
            category: self.category,
            note: self.note,
            severity: Severity::parse(&self.severity)
                .ok_or_else(|| corrupt("severity", id, &self.severity))?,
            location,
            location_warnings: serde_json::from_str(&self.warnings_json)
                .map_err(|e| corrupt("warnings", id, e))?,
            grid_id: self.grid_id,
            attributes: serde_json::from_str(&self.attributes_json)
                .map_err(|e| corrupt("attributes", id, e))?,
            outreach,
            photos,
            reporter: self.reporter,
            app_version: self.app_version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
            submitted_at: self.submitted_at.map(Timestamp::from_millis),
            ticket_id: self.ticket_id,
            ticket_status: self.ticket_status.as_deref().and_then(TicketStatus::parse),
            rejection: self.reject_reason.map(|reason| Rejection {
                field: self.reject_field,
                reason,
            }),
        })
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt(format!("cannot encode: {e}")))
}

/// Photos of the given reports, grouped by report id, in attachment order.
fn photos_of(conn: &Connection, ids: Option<&str>) -> Result<HashMap<String, Vec<PhotoRef>>> {
    let sql = "SELECT rp.report_id, p.sha256, p.bytes, p.width, p.height, p.captured_at, p.camera
               FROM report_photos rp JOIN photos p ON p.sha256 = rp.sha256
               WHERE ?1 IS NULL OR rp.report_id = ?1
               ORDER BY rp.report_id, rp.position";
    let mut stmt = conn.prepare_cached(sql)?;
    let mut out: HashMap<String, Vec<PhotoRef>> = HashMap::new();
    let rows = stmt.query_map([ids], |r| {
        let captured_at = r.get::<_, Option<i64>>(5)?.map(Timestamp::from_millis);
        Ok((
            r.get::<_, String>(0)?,
            PhotoRef {
                sha256: r.get(1)?,
                bytes: r.get::<_, i64>(2)? as u64,
                width: r.get(3)?,
                height: r.get(4)?,
                // The distance is filled in when the report is frozen (it needs the final fix).
                exif: r.get::<_, Option<bool>>(6)?.map(|camera| PhotoExif {
                    captured_at,
                    gps_distance_m: None,
                    camera,
                }),
            },
        ))
    })?;
    for row in rows {
        let (id, photo) = row?;
        out.entry(id).or_default().push(photo);
    }
    Ok(out)
}

fn record_change(
    conn: &Connection,
    id: &str,
    from: Option<ReportState>,
    to: ReportState,
    at: i64,
    detail: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO state_changes (report_id, from_state, to_state, at, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, from.map(|s| s.as_str()), to.as_str(), at, detail])?;
    Ok(())
}

fn load(conn: &Connection, id: &Uuid) -> Result<Option<LocalReport>> {
    let key = id.to_string();
    let raw = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM reports WHERE id = ?1"))?
        .query_row([&key], decode_row)
        .optional()?;
    match raw {
        None => Ok(None),
        Some(raw) => {
            let photos = photos_of(conn, Some(&key))?
                .remove(&key)
                .unwrap_or_default();
            Ok(Some(raw.into_report(photos)?))
        }
    }
}

fn require(conn: &Connection, id: &Uuid) -> Result<LocalReport> {
    load(conn, id)?.ok_or_else(|| Error::NotFound(format!("report {id}")))
}

impl Store {
    /// Stores a new draft.
    pub fn insert_draft(&mut self, report: &LocalReport) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = report.id.to_string();
        tx.execute(
            "INSERT INTO reports (id, state, kind, category, note, severity, reporter, app_version, created_at, updated_at)
             VALUES (?1, 'draft', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![
                id,
                report.kind.as_str(),
                report.category,
                report.note,
                report.severity.as_str(),
                report.reporter,
                report.app_version,
                report.created_at.as_millis()
            ],
        )?;
        record_change(
            &tx,
            &id,
            None,
            ReportState::Draft,
            report.created_at.as_millis(),
            None,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The report with this id, if any.
    pub fn get(&self, id: &Uuid) -> Result<Option<LocalReport>> {
        load(&self.conn, id)
    }

    /// Applies `patch` to an editable report (draft or rejected) and returns it as stored.
    /// `check` sees the patched report before it is written and may refuse it.
    pub fn update_draft(
        &mut self,
        id: &Uuid,
        patch: &DraftPatch,
        now: Timestamp,
        check: impl FnOnce(&LocalReport) -> Result<()>,
    ) -> Result<LocalReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut r = require(&tx, id)?;
        if !r.state.is_editable() {
            return Err(Error::InvalidState(format!(
                "report {id} is {} and can no longer be edited",
                r.state.as_str()
            )));
        }
        if let Some(kind) = patch.kind {
            r.kind = kind;
        }
        if let Some(category) = &patch.category {
            r.category = category.clone();
        }
        if let Some(note) = &patch.note {
            r.note = note.clone();
        }
        if let Some(severity) = patch.severity {
            r.severity = severity;
        }
        if let Some(location) = &patch.location {
            r.location = Some(location.clone());
        }
        for code in &patch.remove_attributes {
            r.attributes.remove(code);
        }
        r.attributes.extend(
            patch
                .set_attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if let Some(outreach) = &patch.outreach {
            r.outreach = Some(outreach.clone());
        }
        r.updated_at = now;
        check(&r)?;
        let location_json = r.location.as_ref().map(to_json).transpose()?;
        let outreach_json = r.outreach.as_ref().map(to_json).transpose()?;
        tx.execute(
            "UPDATE reports SET kind = ?2, category = ?3, note = ?4, severity = ?5, location_json = ?6,
                lat = ?7, lon = ?8, attributes_json = ?9, outreach_json = ?10, updated_at = ?11
             WHERE id = ?1",
            params![
                id.to_string(),
                r.kind.as_str(),
                r.category,
                r.note,
                r.severity.as_str(),
                location_json,
                r.location.as_ref().map(|l| l.lat),
                r.location.as_ref().map(|l| l.lon),
                to_json(&r.attributes)?,
                outreach_json,
                now.as_millis()
            ],
        )?;
        tx.commit()?;
        Ok(r)
    }

    /// Moves an editable report to `queued` with the frozen wire payload that will be sent.
    /// `prepare` builds (and validates) the payload from the stored report inside the
    /// transaction, so what is validated is exactly what is queued.
    pub fn queue(
        &mut self,
        id: &Uuid,
        now: Timestamp,
        prepare: impl FnOnce(&LocalReport, &PhotoPositions) -> Result<Report>,
    ) -> Result<LocalReport> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut r = require(&tx, id)?;
        if !r.state.is_editable() {
            return Err(Error::InvalidState(format!(
                "report {id} is already {}",
                r.state.as_str()
            )));
        }
        let positions = super::photos::positions_of(&tx, id)?;
        let payload = prepare(&r, &positions)?;
        let from = r.state;
        tx.execute(
            "UPDATE reports SET state = 'queued', submitted_at = ?2, updated_at = ?2,
                location_warnings_json = ?3, grid_id = ?4, reject_field = NULL, reject_reason = NULL
             WHERE id = ?1",
            params![
                id.to_string(),
                now.as_millis(),
                to_json(&payload.location_warnings)?,
                payload.grid_id
            ],
        )?;
        tx.execute(
            "INSERT INTO payloads (report_id, json) VALUES (?1, ?2)
             ON CONFLICT (report_id) DO UPDATE SET json = excluded.json",
            params![id.to_string(), to_json(&payload)?],
        )?;
        record_change(
            &tx,
            &id.to_string(),
            Some(from),
            ReportState::Queued,
            now.as_millis(),
            None,
        )?;
        tx.commit()?;
        r.state = ReportState::Queued;
        r.submitted_at = Some(now);
        r.updated_at = now;
        r.location_warnings = payload.location_warnings;
        r.grid_id = payload.grid_id;
        r.rejection = None;
        Ok(r)
    }

    /// Deletes a draft (only drafts: a submitted report belongs to the outbox). Returns photo
    /// files no other report uses, for the caller to delete after the commit.
    pub fn delete_draft(&mut self, id: &Uuid) -> Result<super::OrphanFiles> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let r = require(&tx, id)?;
        if r.state != ReportState::Draft {
            return Err(Error::InvalidState(format!(
                "report {id} is {}; only drafts can be deleted",
                r.state.as_str()
            )));
        }
        tx.execute("DELETE FROM reports WHERE id = ?1", [id.to_string()])?;
        let orphans = super::photos::remove_unused_photos(&tx)?;
        tx.commit()?;
        Ok(orphans)
    }

    /// Reports matching `filter`, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<LocalReport>> {
        let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
        let states_json = to_json(&states)?;
        let limit = filter.limit.map_or(-1, i64::from);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM reports WHERE {ROW_FILTER}
             ORDER BY created_at DESC, id DESC LIMIT ?2"
        ))?;
        let raws: Vec<RawRow> = stmt
            .query_map(params![states_json, limit], decode_row)?
            .collect::<Result<_, _>>()?;
        let mut photos = if raws.is_empty() {
            HashMap::new()
        } else {
            photos_of(&self.conn, None)?
        };
        raws.into_iter()
            .map(|raw| {
                let p = photos.remove(&raw.id).unwrap_or_default();
                raw.into_report(p)
            })
            .collect()
    }

    /// One page of the list screen: rows matching `filter` (its `limit` is the page size),
    /// newest first, starting after `after` (from the start when `None`). Reads only the
    /// columns a list shows, along the `(created_at, id)` index.
    pub fn list_rows(
        &self,
        filter: &ListFilter,
        after: Option<&ListCursor>,
    ) -> Result<Vec<ReportRow>> {
        let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
        let states_json = to_json(&states)?;
        let limit = filter.limit.map_or(-1, i64::from);
        let capacity = usize::try_from(limit).unwrap_or(0).min(1_000);
        let mut out = Vec::with_capacity(capacity);
        let mut collect = |mut rows: rusqlite::Rows<'_>| -> Result<()> {
            while let Some(row) = rows.next()? {
                out.push(decode_list_row(row)?);
            }
            Ok(())
        };
        match after {
            None => {
                let mut stmt = self.conn.prepare_cached(&format!(
                    "SELECT {ROW_COLUMNS} FROM reports WHERE {ROW_FILTER}
                     ORDER BY created_at DESC, id DESC LIMIT ?2"
                ))?;
                collect(stmt.query(params![states_json, limit])?)?;
            }
            Some(cursor) => {
                let mut stmt = self.conn.prepare_cached(&format!(
                    "SELECT {ROW_COLUMNS} FROM reports WHERE {ROW_FILTER}
                     AND (created_at, id) < (?3, ?4)
                     ORDER BY created_at DESC, id DESC LIMIT ?2"
                ))?;
                collect(stmt.query(params![
                    states_json,
                    limit,
                    cursor.created_at.as_millis(),
                    cursor.id.to_string()
                ])?)?;
            }
        }
        Ok(out)
    }

    /// Reports of `category` (any category for `None`) whose location lies in `bbox`, created
    /// since `since`.
    pub fn reports_in_box(
        &self,
        category: Option<&str>,
        bbox: &crate::geo::BoundingBox,
        since: Timestamp,
    ) -> Result<Vec<LocalReport>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM reports WHERE (?1 IS NULL OR category = ?1) AND lat BETWEEN ?2 AND ?3 AND lon BETWEEN ?4 AND ?5
             AND created_at >= ?6"
        ))?;
        let raws: Vec<RawRow> = stmt
            .query_map(
                params![
                    category,
                    bbox.min_lat,
                    bbox.max_lat,
                    bbox.min_lon,
                    bbox.max_lon,
                    since.as_millis()
                ],
                decode_row,
            )?
            .collect::<Result<_, _>>()?;
        raws.into_iter()
            .map(|raw| raw.into_report(Vec::new()))
            .collect()
    }

    /// How many reports are in each state.
    pub fn counts(&self) -> Result<Counts> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM reports GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut counts = Counts::default();
        for row in rows {
            let (state, n) = row?;
            match ReportState::parse(&state) {
                Some(ReportState::Draft) => counts.drafts += n,
                Some(ReportState::Queued | ReportState::Sending) => counts.pending += n,
                Some(ReportState::Accepted) => counts.accepted += n,
                Some(ReportState::Rejected) => counts.rejected += n,
                None => return Err(Error::Corrupt(format!("unknown report state {state:?}"))),
            }
        }
        Ok(counts)
    }

    /// The frozen wire payload of a queued (or later) report.
    pub fn payload(&self, id: &Uuid) -> Result<Option<Report>> {
        let text: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT json FROM payloads WHERE report_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match text.flatten() {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| corrupt("payload", &id.to_string(), e)),
        }
    }

    /// The recorded state transitions of a report, oldest first.
    pub fn history(&self, id: &Uuid) -> Result<Vec<StateChange>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT from_state, to_state, at, detail FROM state_changes WHERE report_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (from, to, at, detail) = row?;
            let parse = |s: &str| {
                ReportState::parse(s).ok_or_else(|| Error::Corrupt(format!("state {s:?}")))
            };
            out.push(StateChange {
                from: from.as_deref().map(parse).transpose()?,
                to: parse(&to)?,
                at: Timestamp::from_millis(at),
                detail,
            });
        }
        Ok(out)
    }
}
