//! The embedded SQLite backend: one database file in the data folder.
//!
//! Concurrency model: SQLite allows one writer at a time, so writes go through a single
//! connection behind a mutex (callers queue in-process instead of spinning on `SQLITE_BUSY`),
//! while reads use a small pool of read-only connections that WAL lets run alongside the writer.
//! Every write is one `BEGIN IMMEDIATE` transaction; `synchronous=FULL` makes a commit durable
//! before the server answers, because a device deletes nothing but does stop resending what the
//! server said it accepted.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use gridline_protocol::wire::{Change, ItemResult, Ticket, TicketEvent, TicketPage, TriageAction};
use gridline_protocol::{Report, Timestamp};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use super::rules::{self, EventRow, Existing, TicketRow, TicketUpdate, corrupt, to_i64, to_u64};
use super::{
    ActionOutcome, IdCodec, MediaClaim, NewUser, OPEN311_CHANNEL_PREFIX, Open311Client,
    OutboxOutcome, OutboxRow, OutboxState, Store, StoreError, Submission, TicketFilter,
    UploadStart, outbox, sqlite_schema as schema,
};
use crate::account::{Role, Scope, User};
use crate::grids::{Geometry, Grid};
use crate::lifecycle::CasePolicy;

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// The SQLite [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    ids: IdCodec,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Locks a mutex, recovering from poisoning: a panicking holder's transaction was rolled back
/// when its `Transaction` dropped during unwinding, so the connection is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "FULL")?;
        configure(&writer)?;
        schema::migrate(&mut writer)?;
        let ids = id_codec(&mut writer)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            ids,
        })
    }

    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&conn)?;
                conn
            }
        };
        let result = f(&conn);
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// The district's id key: made (randomly, never 0) with a new database; a database that has
/// tickets from before opaque ids gets 0, so the ids its devices hold stay valid.
fn id_codec(conn: &mut Connection) -> Result<IdCodec, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored: Option<i64> = tx
        .query_row("SELECT value FROM meta WHERE key = 'id_key'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let key = match stored {
        Some(key) => key,
        None => {
            let has_tickets = tx.prepare("SELECT 1 FROM tickets LIMIT 1")?.exists([])?;
            let key = if has_tickets {
                0
            } else {
                rand::random_range(1..=i64::MAX)
            };
            tx.execute("INSERT INTO meta (key, value) VALUES ('id_key', ?1)", [key])?;
            key
        }
    };
    tx.commit()?;
    Ok(IdCodec::from_stored_key(key))
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// The SQL condition (on ticket alias `t`) and its one parameter for a scope.
fn scope_sql(scope: Scope) -> (&'static str, i64) {
    match scope {
        Scope::Owner(user) => ("t.owner_id = ?", user),
        Scope::Grids(user) => (
            "t.grid_id IN (SELECT grid_id FROM user_grids WHERE user_id = ?)",
            user,
        ),
        // Takes its parameter too, so every scope binds exactly one value.
        Scope::All => ("? IS NOT NULL", 0),
    }
}

/// The first conflict between the photo sizes `report` declares and what is known of them
/// (the account's own earlier reports, then the verified bytes): see
/// [`rules::photo_length_conflict`].
fn photo_length_conflict(
    tx: &rusqlite::Transaction<'_>,
    user_id: i64,
    report: &Report,
) -> Result<Option<ItemResult>, StoreError> {
    let mut own = tx.prepare_cached(
        "SELECT p.bytes FROM photos p JOIN tickets t ON t.id = p.ticket_id \
         WHERE p.sha256 = ?1 AND t.owner_id = ?2 LIMIT 1",
    )?;
    let mut stored = tx.prepare_cached("SELECT bytes FROM media WHERE sha256 = ?1")?;
    for (i, p) in report.photos.iter().enumerate() {
        let earlier: Option<i64> = own
            .query_row(params![p.sha256, user_id], |r| r.get(0))
            .optional()?;
        let verified: Option<i64> = stored.query_row([&p.sha256], |r| r.get(0)).optional()?;
        if let Some(known) = earlier.or(verified).map(to_u64)
            && let Some(conflict) = rules::photo_length_conflict(i, p.bytes, known)
        {
            return Ok(Some(conflict));
        }
    }
    Ok(None)
}

/// The columns of `tickets` (alias `t`, owner `u`) that [`TicketRow::read`] expects.
const TICKET_COLUMNS: &str = "t.id, t.report, t.grid_id, t.status, t.version, t.department, \
     t.resolution_note, t.reject_reason, t.duplicate_of, t.received_at, t.updated_at, u.name, \
     t.due_at, t.overdue_at, t.escalations, t.verifies";

fn read_ticket_row(row: &Row<'_>) -> rusqlite::Result<TicketRow> {
    Ok(TicketRow {
        id: row.get(0)?,
        report: row.get(1)?,
        grid_id: row.get(2)?,
        status: row.get(3)?,
        version: row.get(4)?,
        department: row.get(5)?,
        resolution_note: row.get(6)?,
        reject_reason: row.get(7)?,
        duplicate_of: row.get(8)?,
        received_at: row.get(9)?,
        updated_at: row.get(10)?,
        owner: row.get(11)?,
        due_at: row.get(12)?,
        overdue_at: row.get(13)?,
        escalations: row.get(14)?,
        verifies: row.get(15)?,
    })
}

/// Builds the wire ticket: the stored report, photo upload state and full history.
fn assemble(conn: &Connection, ids: &IdCodec, row: TicketRow) -> Result<Ticket, StoreError> {
    let report = row.parse_report()?;
    // "Uploaded" means the ticket's own reporter uploaded verified bytes, not merely that
    // someone did: another account listing the same hash proves nothing.
    let mut uploaded = conn.prepare_cached(
        "SELECT 1 FROM media_holders h JOIN tickets t ON t.owner_id = h.user_id \
         WHERE t.id = ?1 AND h.sha256 = ?2",
    )?;
    let mut held = std::collections::HashSet::new();
    for p in &report.photos {
        if uploaded.exists(params![row.id, &p.sha256])? {
            held.insert(p.sha256.clone());
        }
    }
    let mut events = conn.prepare_cached(
        "SELECT status, version, at, by_user, reason, department, note, duplicate_of, action, \
         due_at, verification FROM events WHERE ticket_id = ?1 ORDER BY seq",
    )?;
    let history = events
        .query_map([row.id], |r| read_event(r, 0))?
        .map(|r| r.map_err(StoreError::from).and_then(|e| e.into_event(ids)))
        .collect::<Result<Vec<_>, _>>()?;
    let evidence = super::sqlite_evidence::load_evidence(conn, row.id)?;
    let mut ticket = row.assemble(report, |sha| held.contains(sha), history, ids)?;
    ticket.evidence = evidence;
    Ok(ticket)
}

/// Reads the 11 event columns starting at `at` (status, version, at, by, reason, department,
/// note, duplicate_of, action, due_at, verification).
fn read_event(row: &Row<'_>, at: usize) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        status: row.get(at)?,
        version: row.get(at + 1)?,
        at: row.get(at + 2)?,
        by: row.get(at + 3)?,
        reason: row.get(at + 4)?,
        department: row.get(at + 5)?,
        note: row.get(at + 6)?,
        duplicate_of: row.get(at + 7)?,
        action: row.get(at + 8)?,
        due_at: row.get(at + 9)?,
        verification: row.get(at + 10)?,
    })
}

fn load_ticket(
    conn: &Connection,
    ids: &IdCodec,
    scope: Scope,
    id: i64,
) -> Result<Option<Ticket>, StoreError> {
    let (cond, param) = scope_sql(scope);
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t JOIN users u ON u.id = t.owner_id \
         WHERE t.id = ? AND {cond}"
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row(params![id, param], read_ticket_row)
        .optional()?;
    row.map(|r| assemble(conn, ids, r)).transpose()
}

fn load_user(conn: &Connection, id: i64, name: String, role: &str) -> Result<User, StoreError> {
    let role = Role::parse(role).ok_or_else(|| corrupt(format!("unknown role {role:?}")))?;
    let grids = conn
        .prepare_cached("SELECT grid_id FROM user_grids WHERE user_id = ?1 ORDER BY grid_id")?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(User {
        id,
        name,
        role,
        grids,
    })
}

/// The columns [`read_open311_client`] reads.
const OPEN311_CLIENT_SELECT: &str = "SELECT c.id, c.name, c.created_at, u.id, u.name, u.role \
     FROM open311_clients c JOIN users u ON u.id = c.user_id";

/// One row of [`OPEN311_CLIENT_SELECT`].
type Open311ClientRow = (i64, String, i64, i64, String, String);

fn read_open311_client(r: &Row<'_>) -> rusqlite::Result<Open311ClientRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn open311_client_from(
    conn: &Connection,
    (id, name, created_at, user_id, user_name, role): Open311ClientRow,
) -> Result<Open311Client, StoreError> {
    Ok(Open311Client {
        id,
        name,
        user: load_user(conn, user_id, user_name, &role)?,
        created_at: Timestamp::from_millis(created_at),
    })
}

fn bump_grids_revision(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'grids_revision'",
        [],
    )?;
    Ok(())
}

fn insert_event(
    conn: &Connection,
    ticket: i64,
    event: &TicketEvent,
    duplicate_of: Option<i64>,
    verification: Option<i64>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO events (ticket_id, status, version, at, by_user, reason, department, note, \
         duplicate_of, action, due_at, verification) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        ticket,
        event.status.as_str(),
        to_i64(event.version),
        event.at.as_millis(),
        event.by,
        event.reason,
        event.department,
        event.note,
        duplicate_of,
        event.action.map(rules::action_name),
        event.due_at.map(Timestamp::as_millis),
        verification,
    ])?;
    Ok(())
}

/// Writes `update` to ticket `id`: its columns, then its event.
fn apply_update(conn: &Connection, id: i64, update: &TicketUpdate) -> Result<(), StoreError> {
    let event = &update.event;
    let mark = update.mark_overdue.then(|| event.at.as_millis());
    conn.prepare_cached(
        "UPDATE tickets SET status = ?2, version = ?3, updated_at = ?4, \
         department = coalesce(?5, department), \
         resolution_note = coalesce(?6, resolution_note), \
         reject_reason = coalesce(?7, reject_reason), \
         duplicate_of = coalesce(?8, duplicate_of), due_at = coalesce(?9, due_at), \
         overdue_at = CASE WHEN ?10 IS NOT NULL THEN ?10 WHEN ?11 THEN NULL ELSE overdue_at END, \
         escalations = escalations + ?12 WHERE id = ?1",
    )?
    .execute(params![
        id,
        event.status.as_str(),
        to_i64(event.version),
        event.at.as_millis(),
        event.department,
        update.resolution_note(),
        update.reject_reason(),
        update.duplicate_of,
        update.due_at.map(Timestamp::as_millis),
        mark,
        update.clear_overdue,
        i64::from(update.escalate),
    ])?;
    insert_event(conn, id, event, update.duplicate_of, update.verification)
}

/// Columns of an outbox row, in [`read_outbox_row`]'s order.
const OUTBOX_COLUMNS: &str =
    "ticket_id, state, attempts, next_at, upstream_id, token, last_error, updated_at";

fn read_outbox_row(r: &Row<'_>) -> rusqlite::Result<(OutboxRow, String)> {
    let state: String = r.get(1)?;
    Ok((
        OutboxRow {
            ticket_id: r.get(0)?,
            state: OutboxState::Pending,
            attempts: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(u32::MAX),
            next_at: Timestamp::from_millis(r.get(3)?),
            upstream_id: r.get(4)?,
            token: r.get(5)?,
            last_error: r.get(6)?,
            updated_at: Timestamp::from_millis(r.get(7)?),
        },
        state,
    ))
}

fn outbox_row((mut row, state): (OutboxRow, String)) -> Result<OutboxRow, StoreError> {
    row.state =
        OutboxState::parse(&state).ok_or_else(|| corrupt(format!("outbox state {state:?}")))?;
    Ok(row)
}

impl Store for SqliteStore {
    fn ids(&self) -> &IdCodec {
        &self.ids
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    fn pending_uploads(&self) -> Result<(u64, u64), StoreError> {
        self.read(|conn| {
            let (n, bytes): (i64, i64) = conn.query_row(
                "SELECT COUNT(*), COALESCE(SUM(length), 0) FROM uploads",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok((to_u64(n), to_u64(bytes)))
        })
    }

    fn user_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(User, Option<Timestamp>)>, StoreError> {
        self.read(|conn| {
            let found = conn
                .prepare_cached(
                    "SELECT u.id, u.name, u.role, k.expires_at FROM tokens k \
                     JOIN users u ON u.id = k.user_id WHERE k.hash = ?1",
                )?
                .query_row([&token_hash[..]], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                })
                .optional()?;
            let Some((id, name, role, expires)) = found else {
                return Ok(None);
            };
            let user = load_user(conn, id, name, &role)?;
            Ok(Some((user, expires.map(Timestamp::from_millis))))
        })
    }

    fn add_user(
        &self,
        user: &NewUser,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<User, StoreError> {
        self.write(|tx| {
            let taken = tx
                .prepare_cached("SELECT 1 FROM users WHERE name = ?1")?
                .exists([&user.name])?;
            if taken {
                return Err(StoreError::UserExists(user.name.clone()));
            }
            tx.execute(
                "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)",
                params![user.name, user.role.as_str(), now.as_millis()],
            )?;
            let id = tx.last_insert_rowid();
            for grid in &user.grids {
                tx.execute(
                    "INSERT OR IGNORE INTO user_grids (user_id, grid_id) VALUES (?1, ?2)",
                    params![id, grid],
                )?;
            }
            tx.execute(
                "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    &token_hash[..],
                    id,
                    now.as_millis(),
                    user.expires_at.map(Timestamp::as_millis)
                ],
            )?;
            if !user.grids.is_empty() {
                bump_grids_revision(tx)?;
            }
            load_user(tx, id, user.name.clone(), user.role.as_str())
        })
    }

    fn add_open311_client(
        &self,
        name: &str,
        key_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Open311Client, StoreError> {
        let account = format!("{OPEN311_CHANNEL_PREFIX}{name}");
        self.write(|tx| {
            let taken = tx
                .prepare_cached(
                    "SELECT 1 FROM users WHERE name = ?1 \
                     UNION ALL SELECT 1 FROM open311_clients WHERE name = ?2",
                )?
                .exists(params![account, name])?;
            if taken {
                return Err(StoreError::UserExists(account.clone()));
            }
            tx.execute(
                "INSERT INTO users (name, role, created_at) VALUES (?1, 'rider', ?2)",
                params![account, now.as_millis()],
            )?;
            let user_id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO open311_clients (name, user_id, key_hash, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![name, user_id, &key_hash[..], now.as_millis()],
            )?;
            Ok(Open311Client {
                id: tx.last_insert_rowid(),
                name: name.to_string(),
                user: load_user(tx, user_id, account.clone(), "rider")?,
                created_at: now,
            })
        })
    }

    fn open311_client_by_key(
        &self,
        key_hash: &[u8; 32],
    ) -> Result<Option<Open311Client>, StoreError> {
        self.read(|conn| {
            let found = conn
                .prepare_cached(&format!("{OPEN311_CLIENT_SELECT} WHERE c.key_hash = ?1"))?
                .query_row([&key_hash[..]], read_open311_client)
                .optional()?;
            found.map(|row| open311_client_from(conn, row)).transpose()
        })
    }

    fn open311_clients(&self) -> Result<Vec<Open311Client>, StoreError> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(&format!("{OPEN311_CLIENT_SELECT} ORDER BY c.name"))?
                .query_map([], read_open311_client)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|row| open311_client_from(conn, row))
                .collect()
        })
    }

    fn replace_grids(&self, grids: &[Grid]) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM grids", [])?;
            let mut insert =
                tx.prepare_cached("INSERT INTO grids (id, name, geometry) VALUES (?1, ?2, ?3)")?;
            for g in grids {
                let geometry = serde_json::to_string(&g.geometry).map_err(corrupt)?;
                insert.execute(params![g.id, g.name, geometry])?;
            }
            bump_grids_revision(tx)
        })
    }

    fn grids(&self) -> Result<Vec<Grid>, StoreError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, name, geometry FROM grids ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut grids = Vec::new();
            for row in rows {
                let (id, name, geometry) = row?;
                let geometry: Geometry = serde_json::from_str(&geometry).map_err(corrupt)?;
                grids.push(Grid { id, name, geometry });
            }
            Ok(grids)
        })
    }

    fn supervisors(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT g.grid_id, u.name FROM user_grids g JOIN users u ON u.id = g.user_id \
                 WHERE u.role = 'supervisor' ORDER BY g.grid_id, u.name",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn grids_revision(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM meta WHERE key = 'grids_revision'")?
                .query_row([], |r| r.get(0))?)
        })
    }

    fn submit(
        &self,
        user: &User,
        items: &[Submission],
        policy: &CasePolicy,
        now: Timestamp,
    ) -> Result<Vec<ItemResult>, StoreError> {
        self.write(|tx| {
            let mut find = tx.prepare_cached(
                "SELECT id, owner_id, content_hash FROM tickets WHERE report_id = ?1",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO tickets (report_id, owner_id, content_hash, report, kind, category, \
                 grid_id, status, version, received_at, updated_at, verifies) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9, ?10)",
            )?;
            let mut photo = tx.prepare_cached(
                "INSERT INTO photos (ticket_id, position, sha256, bytes) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                let report_id = item.report.id.to_string();
                let existing = find
                    .query_row([&report_id], |r| {
                        Ok(Existing {
                            id: r.get(0)?,
                            owner: r.get(1)?,
                            content_hash: r.get(2)?,
                        })
                    })
                    .optional()?;
                let result = match existing {
                    Some(existing) => rules::resubmission(
                        &self.ids,
                        user,
                        &report_id,
                        &existing,
                        &item.content_hash,
                    ),
                    None if let Some(conflict) =
                        photo_length_conflict(tx, user.id, &item.report)? =>
                    {
                        conflict
                    }
                    None => {
                        // A verification's target, locked by the single writer until commit.
                        let target = match &item.verification {
                            Some(claim) => {
                                let row = self.ids.parse_ticket_id(&claim.ticket_id);
                                let ticket = match row {
                                    Some(row) => load_ticket(tx, &self.ids, Scope::All, row)?,
                                    None => None,
                                };
                                if let Some(refusal) = rules::verification_refusal(
                                    ticket.as_ref(),
                                    claim,
                                    user,
                                    &item.report,
                                    policy,
                                ) {
                                    results.push(refusal);
                                    continue;
                                }
                                ticket.map(|t| (t, claim.fixed))
                            }
                            None => None,
                        };
                        let (status, grid_id, event) = rules::first_state(
                            target.as_ref().map(|(t, _)| t),
                            item.grid_id.clone(),
                            user,
                            now,
                        );
                        let verifies = target
                            .as_ref()
                            .and_then(|(t, _)| self.ids.parse_ticket_id(&t.id));
                        insert.execute(params![
                            report_id,
                            user.id,
                            &item.content_hash[..],
                            item.canonical_json,
                            item.report.kind.as_str(),
                            item.report.category,
                            grid_id,
                            status,
                            now.as_millis(),
                            verifies,
                        ])?;
                        let id = tx.last_insert_rowid();
                        for (i, p) in item.report.photos.iter().enumerate() {
                            photo.execute(params![id, i, p.sha256, to_i64(p.bytes)])?;
                        }
                        insert_event(tx, id, &event, None, None)?;
                        if let Some(evidence) = &item.evidence {
                            super::sqlite_evidence::insert_evidence(tx, id, evidence)?;
                        }
                        if let (Some((t, fixed)), Some(row)) = (&target, verifies) {
                            let update = rules::verification_update(
                                t,
                                *fixed,
                                user,
                                &item.report.note,
                                id,
                                policy,
                                &self.ids,
                                now,
                            );
                            apply_update(tx, row, &update)?;
                        }
                        ItemResult::Accepted {
                            ticket_id: self.ids.ticket_id(id),
                        }
                    }
                };
                results.push(result);
            }
            Ok(results)
        })
    }

    fn reports_since(&self, user: &User, since: Timestamp) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM tickets WHERE owner_id = ?1 AND received_at >= ?2",
                )?
                .query_row(params![user.id, since.as_millis()], |r| r.get(0))?;
            Ok(to_u64(n))
        })
    }

    fn media_claim(&self, user: &User, sha256: &str) -> Result<Option<MediaClaim>, StoreError> {
        self.read(|conn| {
            let declared: Option<i64> = conn
                .prepare_cached(
                    "SELECT p.bytes FROM photos p JOIN tickets t ON t.id = p.ticket_id \
                     WHERE p.sha256 = ?1 AND t.owner_id = ?2 ORDER BY t.id, p.position LIMIT 1",
                )?
                .query_row(params![sha256, user.id], |r| r.get(0))
                .optional()?;
            let Some(declared) = declared else {
                return Ok(None);
            };
            let held = conn
                .prepare_cached("SELECT 1 FROM media_holders WHERE sha256 = ?1 AND user_id = ?2")?
                .exists(params![sha256, user.id])?;
            Ok(Some(MediaClaim {
                declared_bytes: to_u64(declared),
                held,
            }))
        })
    }

    fn media_visible(&self, scope: Scope, sha256: &str) -> Result<bool, StoreError> {
        self.read(|conn| {
            let (cond, param) = scope_sql(scope);
            // Supervisors and admins also see the photos of tickets merged as duplicates into
            // a ticket they can see (merging keeps every report's evidence reachable);
            // riders do not see other riders' photos merged into their ticket.
            let widened = !matches!(scope, Scope::Owner(_));
            let visible = if widened {
                format!("({cond} OR t.duplicate_of IN (SELECT t.id FROM tickets t WHERE {cond}))")
            } else {
                format!("({cond} AND ? IS NOT NULL)")
            };
            let sql = format!(
                "SELECT 1 FROM photos p JOIN tickets t ON t.id = p.ticket_id \
                 JOIN media_holders h ON h.sha256 = p.sha256 AND h.user_id = t.owner_id \
                 WHERE p.sha256 = ? AND {visible} LIMIT 1"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .exists(params![sha256, param, param])?)
        })
    }

    fn media_stored(
        &self,
        user: &User,
        sha256: &str,
        bytes: u64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO media (sha256, bytes, stored_at) VALUES (?1, ?2, ?3)",
                params![sha256, to_i64(bytes), now.as_millis()],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO media_holders (sha256, user_id, at) VALUES (?1, ?2, ?3)",
                params![sha256, user.id, now.as_millis()],
            )?;
            tx.execute(
                "DELETE FROM uploads WHERE user_id = ?1 AND sha256 = ?2",
                params![user.id, sha256],
            )?;
            Ok(())
        })
    }

    fn upload_open(
        &self,
        user: &User,
        sha256: &str,
        length: u64,
        quota: u64,
        now: Timestamp,
    ) -> Result<UploadStart, StoreError> {
        self.write(|tx| {
            let open = tx
                .prepare_cached("SELECT 1 FROM uploads WHERE user_id = ?1 AND sha256 = ?2")?
                .exists(params![user.id, sha256])?;
            if open {
                return Ok(UploadStart::Open);
            }
            let pending: i64 = tx
                .prepare_cached("SELECT COALESCE(SUM(length), 0) FROM uploads WHERE user_id = ?1")?
                .query_row([user.id], |r| r.get(0))?;
            let pending = to_u64(pending);
            if pending.saturating_add(length) > quota {
                return Ok(UploadStart::OverQuota { pending });
            }
            tx.execute(
                "INSERT INTO uploads (user_id, sha256, length, started_at, touched_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![user.id, sha256, to_i64(length), now.as_millis()],
            )?;
            Ok(UploadStart::Open)
        })
    }

    fn upload_touch(&self, user: &User, sha256: &str, now: Timestamp) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE uploads SET touched_at = ?3 WHERE user_id = ?1 AND sha256 = ?2",
                params![user.id, sha256, now.as_millis()],
            )?;
            Ok(())
        })
    }

    fn upload_close(&self, user_id: i64, sha256: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM uploads WHERE user_id = ?1 AND sha256 = ?2",
                params![user_id, sha256],
            )?;
            Ok(())
        })
    }

    fn uploads_expired(&self, before: Timestamp) -> Result<Vec<(i64, String)>, StoreError> {
        self.write(|tx| {
            let expired = tx
                .prepare_cached(
                    "DELETE FROM uploads WHERE touched_at < ?1 RETURNING user_id, sha256",
                )?
                .query_map([before.as_millis()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(expired)
        })
    }

    fn changes(
        &self,
        scope: Scope,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<Change>, bool), StoreError> {
        self.read(|conn| {
            let (cond, param) = scope_sql(scope);
            let sql = format!(
                "SELECT e.seq, e.ticket_id, t.report_id, e.status, e.version, e.at, e.by_user, \
                 e.reason, e.department, e.note, e.duplicate_of, e.action, e.due_at, \
                 e.verification FROM events e JOIN tickets t ON t.id = e.ticket_id \
                 WHERE e.seq > ? AND {cond} ORDER BY e.seq LIMIT ?"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![after, param, i64::from(limit) + 1], |row| {
                let seq: i64 = row.get(0)?;
                let ticket: i64 = row.get(1)?;
                let report_id: String = row.get(2)?;
                let event = read_event(row, 3)?;
                Ok((seq, ticket, report_id, event))
            })?;
            let mut changes = Vec::new();
            for row in rows {
                let (seq, ticket, report_id, event) = row?;
                changes.push(Change {
                    cursor: self.ids.cursor(seq),
                    ticket_id: self.ids.ticket_id(ticket),
                    report_id: report_id.parse().map_err(corrupt)?,
                    event: event.into_event(&self.ids)?,
                });
            }
            let has_more = changes.len() > limit as usize;
            changes.truncate(limit as usize);
            Ok((changes, has_more))
        })
    }

    fn tickets(&self, scope: Scope, filter: &TicketFilter) -> Result<TicketPage, StoreError> {
        self.read(|conn| {
            let (cond, param) = scope_sql(scope);
            // Keyset paging: after the cursor's ticket in the page order.
            let after = if filter.by_due && filter.after_id > 0 {
                format!(
                    "(coalesce(t.due_at, {NO_DUE}), t.id) > \
                     (SELECT coalesce(due_at, {NO_DUE}), id FROM tickets WHERE id = ?)"
                )
            } else {
                "t.id > ?".to_string()
            };
            let mut sql = format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t JOIN users u ON u.id = t.owner_id \
                 WHERE {after} AND {cond}"
            );
            let mut args: Vec<Value> = vec![filter.after_id.into(), param.into()];
            match filter.overdue {
                Some(true) => {
                    sql.push_str(" AND t.overdue_at IS NOT NULL AND t.status = 'dispatched'")
                }
                Some(false) => {
                    sql.push_str(" AND (t.overdue_at IS NULL OR t.status <> 'dispatched')")
                }
                None => {}
            }
            if !filter.statuses.is_empty() {
                let marks = vec!["?"; filter.statuses.len()].join(", ");
                sql.push_str(&format!(" AND t.status IN ({marks})"));
                args.extend(
                    filter
                        .statuses
                        .iter()
                        .map(|s| Value::from(s.as_str().to_string())),
                );
            }
            if let Some(kind) = filter.kind {
                sql.push_str(" AND t.kind = ?");
                args.push(kind.as_str().to_string().into());
            }
            if let Some(grid) = &filter.grid {
                sql.push_str(" AND t.grid_id = ?");
                args.push(grid.clone().into());
            }
            if let Some(since) = filter.since {
                sql.push_str(" AND t.received_at >= ?");
                args.push(since.as_millis().into());
            }
            if let Some(until) = filter.until {
                sql.push_str(" AND t.received_at < ?");
                args.push(until.as_millis().into());
            }
            if let Some(check) = filter.signature {
                sql.push_str(
                    " AND t.id IN (SELECT ticket_id FROM ticket_evidence WHERE signature = ?)",
                );
                args.push(check.as_str().to_string().into());
            }
            match filter.signal.as_deref() {
                None => {}
                Some(super::evidence::ANY_SIGNAL) => {
                    sql.push_str(
                        " AND t.id IN (SELECT ticket_id FROM ticket_evidence WHERE signals <> ?)",
                    );
                    args.push("[]".to_string().into());
                }
                Some(name) => {
                    sql.push_str(
                        " AND t.id IN (SELECT e.ticket_id FROM ticket_evidence e, \
                         json_each(e.signals) j WHERE json_extract(j.value, '$.name') = ?)",
                    );
                    args.push(name.to_string().into());
                }
            }
            if let Some(category) = &filter.category {
                sql.push_str(" AND t.category = ?");
                args.push(category.clone().into());
            }
            if !filter.ids.is_empty() {
                let marks = vec!["?"; filter.ids.len()].join(", ");
                sql.push_str(&format!(" AND t.id IN ({marks})"));
                args.extend(filter.ids.iter().map(|&id| Value::from(id)));
            }
            if filter.service_kinds_only {
                sql.push_str(" AND t.kind NOT IN ('anti_fraud_outreach', 'verification')");
            }
            if filter.by_due {
                sql.push_str(&format!(
                    " ORDER BY coalesce(t.due_at, {NO_DUE}), t.id LIMIT ? OFFSET ?"
                ));
            } else {
                let order = if filter.newest_first { "DESC" } else { "ASC" };
                sql.push_str(&format!(" ORDER BY t.id {order} LIMIT ? OFFSET ?"));
            }
            args.push((i64::from(filter.limit) + 1).into());
            args.push(i64::try_from(filter.offset).unwrap_or(i64::MAX).into());
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(rusqlite::params_from_iter(args), read_ticket_row)?
                .collect::<Result<Vec<_>, _>>()?;
            let has_more = rows.len() > filter.limit as usize;
            let mut tickets = Vec::with_capacity(rows.len());
            for row in rows.into_iter().take(filter.limit as usize) {
                tickets.push(assemble(conn, &self.ids, row)?);
            }
            let next = match (has_more, tickets.last()) {
                (true, Some(last)) => Some(last.id.clone()),
                _ => None,
            };
            Ok(TicketPage { tickets, next })
        })
    }

    fn ticket(&self, scope: Scope, id: i64) -> Result<Option<Ticket>, StoreError> {
        self.read(|conn| load_ticket(conn, &self.ids, scope, id))
    }

    fn act(
        &self,
        user: &User,
        scope: Scope,
        id: i64,
        expected_version: u64,
        action: &TriageAction,
        policy: &CasePolicy,
        now: Timestamp,
    ) -> Result<ActionOutcome, StoreError> {
        self.write(|tx| {
            let Some(ticket) = load_ticket(tx, &self.ids, scope, id)? else {
                return Ok(ActionOutcome::NotFound);
            };
            let plan = rules::transition(
                &ticket,
                user,
                expected_version,
                action,
                policy,
                now,
                &self.ids,
                |row| load_ticket(tx, &self.ids, scope, row),
            )?;
            let update = match plan {
                Ok(update) => update,
                Err(refusal) => return Ok(refusal.outcome(ticket)),
            };
            apply_update(tx, id, &update)?;
            let updated = load_ticket(tx, &self.ids, Scope::All, id)?
                .ok_or_else(|| corrupt(format!("ticket {id} vanished inside its transaction")))?;
            Ok(ActionOutcome::Applied(Box::new(updated)))
        })
    }

    fn mark_overdue(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError> {
        self.write(|tx| {
            let due: Vec<(i64, i64)> = tx
                .prepare_cached(
                    "SELECT id, due_at FROM tickets WHERE due_at <= ?1 AND overdue_at IS NULL \
                     AND status = 'dispatched' ORDER BY due_at, id LIMIT ?2",
                )?
                .query_map(params![now.as_millis(), i64::from(limit)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?;
            for (id, due_at) in &due {
                let ticket = load_ticket(tx, &self.ids, Scope::All, *id)?
                    .ok_or_else(|| corrupt(format!("ticket {id} vanished")))?;
                let update = rules::overdue_update(&ticket, Timestamp::from_millis(*due_at), now);
                apply_update(tx, *id, &update)?;
            }
            Ok(u32::try_from(due.len()).unwrap_or(u32::MAX))
        })
    }

    fn awaiting_verification(
        &self,
        user: &User,
        anywhere: bool,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError> {
        self.read(|conn| {
            let cond = match (anywhere, user.role) {
                (true, _) | (false, Role::Admin) => "?1 IS NOT NULL",
                (false, Role::Supervisor) => {
                    "t.grid_id IN (SELECT grid_id FROM user_grids WHERE user_id = ?1)"
                }
                (false, Role::Rider) => {
                    "(t.grid_id IN (SELECT grid_id FROM user_grids WHERE user_id = ?1) \
                     OR t.grid_id IN (SELECT grid_id FROM tickets WHERE owner_id = ?1))"
                }
            };
            let sql = format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t JOIN users u ON u.id = t.owner_id \
                 WHERE t.status = 'awaiting_verification' AND t.owner_id <> ?1 AND {cond} \
                 ORDER BY t.updated_at, t.id LIMIT ?2"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(params![user.id, i64::from(limit)], read_ticket_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|row| assemble(conn, &self.ids, row))
                .collect()
        })
    }

    fn outbox_fill(
        &self,
        categories: &[String],
        now: Timestamp,
        limit: u32,
    ) -> Result<u32, StoreError> {
        if categories.is_empty() {
            return Ok(0);
        }
        let statuses: Vec<Value> = outbox::FORWARDED_STATUSES
            .iter()
            .map(|s| Value::Text(s.as_str().into()))
            .collect();
        self.write(|tx| {
            let mut values: Vec<Value> = vec![now.as_millis().into(), i64::from(limit).into()];
            let status_marks = (0..statuses.len())
                .map(|i| format!("?{}", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            values.extend(statuses.iter().cloned());
            let category_marks = (0..categories.len())
                .map(|i| format!("?{}", i + 3 + statuses.len()))
                .collect::<Vec<_>>()
                .join(", ");
            values.extend(categories.iter().map(|c| Value::Text(c.clone())));
            let added = tx.execute(
                &format!(
                    "INSERT INTO upstream_outbox (ticket_id, state, next_at, created_at, updated_at) \
                     SELECT t.id, 'pending', ?1, ?1, ?1 FROM tickets t \
                     WHERE t.status IN ({status_marks}) AND t.category IN ({category_marks}) \
                     AND NOT EXISTS (SELECT 1 FROM upstream_outbox o WHERE o.ticket_id = t.id) \
                     ORDER BY t.id LIMIT ?2"
                ),
                rusqlite::params_from_iter(values),
            )?;
            Ok(u32::try_from(added).unwrap_or(u32::MAX))
        })
    }

    fn outbox_take(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.write(|tx| {
            let rows = tx
                .prepare_cached(&format!(
                    "SELECT {OUTBOX_COLUMNS} FROM upstream_outbox \
                     WHERE state IN ('pending', 'token') AND next_at <= ?1 \
                     ORDER BY next_at, ticket_id LIMIT ?2"
                ))?
                .query_map(params![now.as_millis(), i64::from(limit)], read_outbox_row)?
                .collect::<Result<Vec<_>, _>>()?;
            let mut taken = Vec::with_capacity(rows.len());
            for row in rows {
                let mut row = outbox_row(row)?;
                tx.prepare_cached(
                    "UPDATE upstream_outbox SET attempts = attempts + 1, next_at = ?2, \
                     updated_at = ?3 WHERE ticket_id = ?1",
                )?
                .execute(params![
                    row.ticket_id,
                    lease_until.as_millis(),
                    now.as_millis()
                ])?;
                row.attempts = row.attempts.saturating_add(1);
                row.next_at = lease_until;
                taken.push(row);
            }
            Ok(taken)
        })
    }

    fn outbox_record(
        &self,
        ticket_id: i64,
        outcome: &OutboxOutcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let token: Option<Option<String>> = tx
                .prepare_cached(
                    "SELECT token FROM upstream_outbox WHERE ticket_id = ?1 \
                     AND state IN ('pending', 'token')",
                )?
                .query_row([ticket_id], |r| r.get(0))
                .optional()?;
            let Some(token) = token else {
                return Ok(());
            };
            let (state, upstream_id, token, error, next_at) =
                outbox::recorded(outcome, token.as_deref(), now);
            tx.prepare_cached(
                "UPDATE upstream_outbox SET state = ?2, upstream_id = ?3, token = ?4, \
                 last_error = ?5, next_at = ?6, updated_at = ?7 WHERE ticket_id = ?1",
            )?
            .execute(params![
                ticket_id,
                state.as_str(),
                upstream_id,
                token,
                error,
                next_at.as_millis(),
                now.as_millis()
            ])?;
            Ok(())
        })
    }

    fn outbox_status(
        &self,
        state: OutboxState,
        limit: u32,
    ) -> Result<outbox::OutboxStatus, StoreError> {
        self.read(|conn| {
            let counted = conn
                .prepare_cached("SELECT state, count(*) FROM upstream_outbox GROUP BY state")?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let mut counts = Vec::new();
            for (name, n) in counted {
                let state = OutboxState::parse(&name)
                    .ok_or_else(|| corrupt(format!("outbox state {name:?}")))?;
                counts.push((state, to_u64(n)));
            }
            counts.sort();
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {OUTBOX_COLUMNS} FROM upstream_outbox WHERE state = ?1 \
                     ORDER BY updated_at, ticket_id LIMIT ?2"
                ))?
                .query_map(params![state.as_str(), i64::from(limit)], read_outbox_row)?
                .collect::<Result<Vec<_>, _>>()?;
            let rows = rows.into_iter().map(outbox_row).collect::<Result<_, _>>()?;
            Ok((counts, rows))
        })
    }

    fn outbox_ticket(&self, upstream_id: &str) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT ticket_id FROM upstream_outbox WHERE upstream_id = ?1 \
                     ORDER BY ticket_id LIMIT 1",
                )?
                .query_row([upstream_id], |r| r.get(0))
                .optional()?)
        })
    }

    fn upstream_update_seen(
        &self,
        update_id: &str,
        ticket_id: Option<i64>,
        updated_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let added = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO upstream_updates (update_id, ticket_id, updated_at, \
                     seen_at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    update_id,
                    ticket_id,
                    updated_at.as_millis(),
                    now.as_millis()
                ])?;
            Ok(added > 0)
        })
    }

    fn upstream_updates_known(
        &self,
        update_id: &str,
    ) -> Result<(bool, Option<Timestamp>), StoreError> {
        self.read(|conn| {
            let seen = conn
                .prepare_cached("SELECT 1 FROM upstream_updates WHERE update_id = ?1")?
                .exists([update_id])?;
            let latest: Option<i64> = conn
                .prepare_cached("SELECT max(updated_at) FROM upstream_updates")?
                .query_row([], |r| r.get(0))?;
            Ok((seen, latest.map(Timestamp::from_millis)))
        })
    }
}

/// Sorts tickets without a deadline after every real one.
const NO_DUE: i64 = i64::MAX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_databases_get_opaque_ids_and_old_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = SqliteStore::open(&dir.path().join("new.db")).unwrap();
        let id = fresh.ids().ticket_id(1);
        assert_ne!(
            id, "T1",
            "a new district's first ticket does not say it is the first"
        );
        assert_eq!(fresh.ids().parse_ticket_id(&id), Some(1));
        let other = SqliteStore::open(&dir.path().join("other.db")).unwrap();
        assert_ne!(
            other.ids().ticket_id(1),
            id,
            "every district has a key of its own (a key shared by all would make ids countable)"
        );
        drop(fresh);
        let again = SqliteStore::open(&dir.path().join("new.db")).unwrap();
        assert_eq!(again.ids().ticket_id(1), id, "the key is kept");

        // A database with tickets from before opaque ids (no key stored) keeps plain ids.
        let path = dir.path().join("old.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "DELETE FROM meta WHERE key = 'id_key';
             INSERT INTO users (id, name, role, created_at) VALUES (1, 'li', 'rider', 0);
             INSERT INTO tickets (report_id, owner_id, content_hash, report, kind, category,
               status, version, received_at, updated_at)
             VALUES ('r', 1, x'00', '{}', 'other', 'general', 'submitted', 1, 0, 0);",
        )
        .unwrap();
        drop(conn);
        let old = SqliteStore::open(&path).unwrap();
        assert_eq!(old.ids().ticket_id(1), "T1");
        assert_eq!(old.ids().cursor(5), "5");
    }
}
