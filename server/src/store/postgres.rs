//! The PostgreSQL backend: one database shared by every server instance of a city.
//!
//! Concurrency model: every write is one READ COMMITTED transaction that locks what it
//! changes (`SELECT … FOR UPDATE` on the ticket for an action, on the account for an upload
//! quota); ingest is idempotent through the unique `report_id` (`INSERT … ON CONFLICT DO
//! NOTHING`, then the stored row decides, exactly as on SQLite). A transaction that loses a
//! deadlock or serialisation race is retried from the start, a few times.
//!
//! The changes feed must never skip an event. A `bigserial` does: transaction A takes seq 5,
//! B takes 6 and commits first, a reader sees 6 and moves its cursor past 5 before A commits.
//! Here each writing transaction takes its sequence numbers last, by incrementing the
//! `meta.feed_seq` row, whose row lock it then holds until it commits. The next writer waits
//! on that row, so numbers are handed out in commit order: once a reader sees seq `n`,
//! everything below `n` has committed (or rolled back and given its numbers back). The price
//! is that writers serialise over the few statements between taking the numbers and
//! committing — inserting their event rows — which at a city's 10^4 reports a day (peaks of a
//! few hundred a minute) is far from a bottleneck; docs/decisions/0025 has the measurements
//! and the alternatives.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use gridline_protocol::wire::{Change, ItemResult, Ticket, TicketEvent, TicketPage, TriageAction};
use gridline_protocol::{Report, Timestamp};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Transaction};

use super::pg_pool::Pool;
use super::rules::{self, EventRow, Existing, TicketRow, TicketUpdate, corrupt, to_i64, to_u64};
use super::{
    ActionOutcome, Coordination, IdCodec, MediaClaim, NewUser, OPEN311_CHANNEL_PREFIX,
    Open311Client, OutboxOutcome, OutboxRow, OutboxState, Store, StoreError, Submission,
    TicketFilter, UploadStart, outbox, postgres_schema,
};
use crate::account::{Role, Scope, User};
use crate::grids::{Geometry, Grid};
use crate::lifecycle::CasePolicy;

/// Connections one instance opens at most.
const MAX_CONNECTIONS: usize = 16;
/// Times a transaction that lost a deadlock or serialisation race is run again.
const RETRIES: usize = 5;

/// The PostgreSQL [`Store`].
pub struct PostgresStore {
    pool: Pool,
    ids: IdCodec,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

type Param<'a> = &'a (dyn ToSql + Sync);

impl PostgresStore {
    /// Connects to `url` and migrates the schema (safe while other instances start too).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let pool = Pool::new(url, MAX_CONNECTIONS, Duration::from_secs(30))?;
        let key = postgres_schema::migrate(&mut *pool.get()?)?;
        Ok(Self {
            pool,
            ids: IdCodec::from_stored_key(key),
        })
    }

    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Runs `f` in a transaction, committing its result; runs it again when PostgreSQL
    /// chose this transaction as the victim of a deadlock or serialisation failure.
    pub(super) fn write<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool.get()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = conn
                .transaction()
                .map_err(StoreError::from)
                .and_then(|mut tx| {
                    let out = f(&mut tx)?;
                    tx.commit()?;
                    Ok(out)
                });
            match result {
                Err(StoreError::Postgres(e)) if attempt < RETRIES && is_retryable(&e) => {
                    tracing::debug!(error = %e, attempt, "retrying a transaction");
                }
                other => return other,
            }
        }
    }

    /// Runs `f` in one transaction (retried like every write): for the SQLite import.
    pub(super) fn transaction<T>(
        &self,
        f: impl FnMut(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write(f)
    }
}

fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED) | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
    )
}

/// The SQL condition on ticket alias `t` for `scope`, using parameter `$n`, and its value.
fn scope_sql(scope: Scope, n: usize) -> (String, i64) {
    match scope {
        Scope::Owner(user) => (format!("t.owner_id = ${n}"), user),
        Scope::Grids(user) => (
            format!("t.grid_id IN (SELECT grid_id FROM user_grids WHERE user_id = ${n})"),
            user,
        ),
        Scope::All => (format!("${n}::BIGINT IS NOT NULL"), 0),
    }
}

/// `cond` (a [`scope_sql`] condition on `t`), widened for supervisors and admins to tickets
/// merged as duplicates into a ticket they can see: merging keeps the duplicate's photos
/// reachable from the surviving ticket. Riders are not widened: another rider's photos merged
/// into their ticket stay that rider's.
fn merged_visibility(scope: Scope, cond: &str) -> String {
    match scope {
        Scope::Owner(_) => cond.to_string(),
        Scope::Grids(_) | Scope::All => {
            format!("({cond} OR t.duplicate_of IN (SELECT t.id FROM tickets t WHERE {cond}))")
        }
    }
}

/// The columns of `tickets` (alias `t`, owner `u`) that [`ticket_row`] reads.
const TICKET_COLUMNS: &str = "t.id, t.report, t.grid_id, t.status, t.version, t.department, \
     t.resolution_note, t.reject_reason, t.duplicate_of, t.received_at, t.updated_at, u.name, \
     t.due_at, t.overdue_at, t.escalations, t.verifies";

fn ticket_row(row: &Row) -> TicketRow {
    TicketRow {
        id: row.get(0),
        report: row.get(1),
        grid_id: row.get(2),
        status: row.get(3),
        version: row.get(4),
        department: row.get(5),
        resolution_note: row.get(6),
        reject_reason: row.get(7),
        duplicate_of: row.get(8),
        received_at: row.get(9),
        updated_at: row.get(10),
        owner: row.get(11),
        due_at: row.get(12),
        overdue_at: row.get(13),
        escalations: row.get(14),
        verifies: row.get(15),
    }
}

/// The 11 event columns from `at` on (status, version, at, by, reason, department, note,
/// duplicate_of, action, due_at, verification).
fn event_row(row: &Row, at: usize) -> EventRow {
    EventRow {
        status: row.get(at),
        version: row.get(at + 1),
        at: row.get(at + 2),
        by: row.get(at + 3),
        reason: row.get(at + 4),
        department: row.get(at + 5),
        note: row.get(at + 6),
        duplicate_of: row.get(at + 7),
        action: row.get(at + 8),
        due_at: row.get(at + 9),
        verification: row.get(at + 10),
    }
}

/// Builds wire tickets for `rows` with two more queries in all (photo holders, histories).
fn assemble_all(
    conn: &mut impl GenericClient,
    ids: &IdCodec,
    rows: Vec<TicketRow>,
) -> Result<Vec<Ticket>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<i64> = rows.iter().map(|r| r.id).collect();
    // "Uploaded" means the ticket's own reporter holds verified bytes of the photo.
    let mut held: HashSet<(i64, String)> = HashSet::new();
    for row in conn.query(
        "SELECT p.ticket_id, p.sha256 FROM photos p JOIN tickets t ON t.id = p.ticket_id \
         JOIN media_holders h ON h.sha256 = p.sha256 AND h.user_id = t.owner_id \
         WHERE p.ticket_id = ANY($1)",
        &[&keys],
    )? {
        held.insert((row.get(0), row.get(1)));
    }
    let mut history: HashMap<i64, Vec<TicketEvent>> = HashMap::new();
    for row in conn.query(
        "SELECT ticket_id, status, version, at, by_user, reason, department, note, duplicate_of, \
         action, due_at, verification FROM events WHERE ticket_id = ANY($1) ORDER BY seq",
        &[&keys],
    )? {
        let ticket: i64 = row.get(0);
        history
            .entry(ticket)
            .or_default()
            .push(event_row(&row, 1).into_event(ids)?);
    }
    let mut evidence = super::postgres_evidence::load_evidence(conn, &keys)?;
    rows.into_iter()
        .map(|row| {
            let report = row.parse_report()?;
            let id = row.id;
            let events = history.remove(&id).unwrap_or_default();
            let mut ticket = row.assemble(
                report,
                |sha| held.contains(&(id, sha.to_string())),
                events,
                ids,
            )?;
            ticket.evidence = evidence.remove(&id);
            Ok(ticket)
        })
        .collect()
}

fn load_ticket(
    conn: &mut impl GenericClient,
    ids: &IdCodec,
    scope: Scope,
    id: i64,
) -> Result<Option<Ticket>, StoreError> {
    let (cond, param) = scope_sql(scope, 2);
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t JOIN users u ON u.id = t.owner_id \
         WHERE t.id = $1 AND {cond}"
    );
    let Some(row) = conn.query_opt(&sql, &[&id, &param])? else {
        return Ok(None);
    };
    Ok(assemble_all(conn, ids, vec![ticket_row(&row)])?.pop())
}

/// The columns [`open311_client_from`] reads.
const OPEN311_CLIENT_SELECT: &str = "SELECT c.id, c.name, c.created_at, u.id, u.name, u.role \
     FROM open311_clients c JOIN users u ON u.id = c.user_id";

fn open311_client_from(
    conn: &mut impl GenericClient,
    row: &Row,
) -> Result<Open311Client, StoreError> {
    let role: String = row.get(5);
    Ok(Open311Client {
        id: row.get(0),
        name: row.get(1),
        user: load_user(conn, row.get(3), row.get(4), &role)?,
        created_at: Timestamp::from_millis(row.get(2)),
    })
}

fn load_user(
    conn: &mut impl GenericClient,
    id: i64,
    name: String,
    role: &str,
) -> Result<User, StoreError> {
    let role = Role::parse(role).ok_or_else(|| corrupt(format!("unknown role {role:?}")))?;
    let grids = conn
        .query(
            "SELECT grid_id FROM user_grids WHERE user_id = $1 ORDER BY grid_id",
            &[&id],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(User {
        id,
        name,
        role,
        grids,
    })
}

fn bump_grids_revision(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'grids_revision'",
        &[],
    )?;
    Ok(())
}

/// An event to append: ticket row, event, duplicate-of row, verification row.
type NewEvent = (i64, TicketEvent, Option<i64>, Option<i64>);

/// Appends `events` to the feed. Takes the sequence numbers now, holding the feed row's lock
/// until the transaction ends: call it last.
fn append_events(tx: &mut Transaction<'_>, events: &[NewEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let last: i64 = tx
        .query_one(
            "UPDATE meta SET value = value + $1 WHERE key = 'feed_seq' RETURNING value",
            &[&n],
        )?
        .get(0);
    let insert = tx.prepare(
        "INSERT INTO events (seq, ticket_id, status, version, at, by_user, reason, department, \
         note, duplicate_of, action, due_at, verification) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )?;
    for (i, (ticket, event, duplicate_of, verification)) in events.iter().enumerate() {
        let seq = last - n + 1 + i64::try_from(i).unwrap_or(0);
        tx.execute(
            &insert,
            &[
                &seq,
                ticket,
                &event.status.as_str(),
                &to_i64(event.version),
                &event.at.as_millis(),
                &event.by,
                &event.reason,
                &event.department,
                &event.note,
                duplicate_of,
                &event.action.map(rules::action_name),
                &event.due_at.map(Timestamp::as_millis),
                verification,
            ],
        )?;
    }
    Ok(())
}

/// Writes `update`'s columns to ticket `id` and returns its event for [`append_events`].
fn apply_update(
    tx: &mut Transaction<'_>,
    id: i64,
    update: TicketUpdate,
) -> Result<NewEvent, StoreError> {
    let event = &update.event;
    let mark = update.mark_overdue.then(|| event.at.as_millis());
    tx.execute(
        "UPDATE tickets SET status = $2, version = $3, updated_at = $4, \
         department = coalesce($5, department), \
         resolution_note = coalesce($6, resolution_note), \
         reject_reason = coalesce($7, reject_reason), \
         duplicate_of = coalesce($8, duplicate_of), due_at = coalesce($9, due_at), \
         overdue_at = CASE WHEN $10::BIGINT IS NOT NULL THEN $10 WHEN $11 THEN NULL \
         ELSE overdue_at END, escalations = escalations + $12 WHERE id = $1",
        &[
            &id,
            &event.status.as_str(),
            &to_i64(event.version),
            &event.at.as_millis(),
            &event.department,
            &update.resolution_note(),
            &update.reject_reason(),
            &update.duplicate_of,
            &update.due_at.map(Timestamp::as_millis),
            &mark,
            &update.clear_overdue,
            &i64::from(update.escalate),
        ],
    )?;
    Ok((id, update.event, update.duplicate_of, update.verification))
}

/// See `sqlite.rs`: the account's earlier reports, then the verified bytes, fix a photo's
/// size.
fn photo_length_conflict(
    tx: &mut Transaction<'_>,
    user_id: i64,
    report: &Report,
) -> Result<Option<ItemResult>, StoreError> {
    for (i, p) in report.photos.iter().enumerate() {
        let earlier: Option<i64> = tx
            .query_opt(
                "SELECT p.bytes FROM photos p JOIN tickets t ON t.id = p.ticket_id \
                 WHERE p.sha256 = $1 AND t.owner_id = $2 LIMIT 1",
                &[&p.sha256, &user_id],
            )?
            .map(|r| r.get(0));
        let verified: Option<i64> = match earlier {
            Some(_) => None,
            None => tx
                .query_opt("SELECT bytes FROM media WHERE sha256 = $1", &[&p.sha256])?
                .map(|r| r.get(0)),
        };
        if let Some(known) = earlier.or(verified).map(to_u64)
            && let Some(conflict) = rules::photo_length_conflict(i, p.bytes, known)
        {
            return Ok(Some(conflict));
        }
    }
    Ok(None)
}

fn find_existing(
    tx: &mut Transaction<'_>,
    report_id: &str,
) -> Result<Option<Existing>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT id, owner_id, content_hash FROM tickets WHERE report_id = $1",
            &[&report_id],
        )?
        .map(|r| Existing {
            id: r.get(0),
            owner: r.get(1),
            content_hash: r.get(2),
        }))
}

/// Columns of an outbox row, in [`outbox_row`]'s order.
const OUTBOX_COLUMNS: &str =
    "ticket_id, state, attempts, next_at, upstream_id, token, last_error, updated_at";

fn outbox_row(r: &Row) -> Result<OutboxRow, StoreError> {
    let state: String = r.get(1);
    Ok(OutboxRow {
        ticket_id: r.get(0),
        state: OutboxState::parse(&state)
            .ok_or_else(|| corrupt(format!("outbox state {state:?}")))?,
        attempts: u32::try_from(r.get::<_, i64>(2)).unwrap_or(u32::MAX),
        next_at: Timestamp::from_millis(r.get(3)),
        upstream_id: r.get(4),
        token: r.get(5),
        last_error: r.get(6),
        updated_at: Timestamp::from_millis(r.get(7)),
    })
}

impl Store for PostgresStore {
    fn ids(&self) -> &IdCodec {
        &self.ids
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            c.simple_query("SELECT 1")?;
            Ok(())
        })
    }

    fn coordination(&self) -> Option<&dyn Coordination> {
        Some(self)
    }

    fn user_by_token(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(User, Option<Timestamp>)>, StoreError> {
        self.read(|conn| {
            let hash: &[u8] = token_hash;
            let Some(row) = conn.query_opt(
                "SELECT u.id, u.name, u.role, k.expires_at FROM tokens k \
                 JOIN users u ON u.id = k.user_id WHERE k.hash = $1",
                &[&hash],
            )?
            else {
                return Ok(None);
            };
            let (id, name, role, expires): (i64, String, String, Option<i64>) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
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
            let id: Option<i64> = tx
                .query_opt(
                    "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                    &[&user.name, &user.role.as_str(), &now.as_millis()],
                )?
                .map(|r| r.get(0));
            let Some(id) = id else {
                return Err(StoreError::UserExists(user.name.clone()));
            };
            for grid in &user.grids {
                tx.execute(
                    "INSERT INTO user_grids (user_id, grid_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                    &[&id, grid],
                )?;
            }
            let hash: &[u8] = token_hash;
            tx.execute(
                "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    &hash,
                    &id,
                    &now.as_millis(),
                    &user.expires_at.map(Timestamp::as_millis),
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
        let hash: &[u8] = key_hash;
        self.write(|tx| {
            let taken = tx
                .query_opt("SELECT 1 FROM open311_clients WHERE name = $1", &[&name])?
                .is_some();
            let user_id: Option<i64> = if taken {
                None
            } else {
                tx.query_opt(
                    "INSERT INTO users (name, role, created_at) VALUES ($1, 'rider', $2) \
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                    &[&account, &now.as_millis()],
                )?
                .map(|r| r.get(0))
            };
            let Some(user_id) = user_id else {
                return Err(StoreError::UserExists(account.clone()));
            };
            let id: i64 = tx
                .query_one(
                    "INSERT INTO open311_clients (name, user_id, key_hash, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&name, &user_id, &hash, &now.as_millis()],
                )?
                .get(0);
            Ok(Open311Client {
                id,
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
        let hash: &[u8] = key_hash;
        self.read(|conn| {
            let row = conn.query_opt(
                &format!("{OPEN311_CLIENT_SELECT} WHERE c.key_hash = $1"),
                &[&hash],
            )?;
            row.map(|row| open311_client_from(conn, &row)).transpose()
        })
    }

    fn open311_clients(&self) -> Result<Vec<Open311Client>, StoreError> {
        self.read(|conn| {
            let rows = conn.query(&format!("{OPEN311_CLIENT_SELECT} ORDER BY c.name"), &[])?;
            rows.iter()
                .map(|row| open311_client_from(conn, row))
                .collect()
        })
    }

    fn replace_grids(&self, grids: &[Grid]) -> Result<(), StoreError> {
        let rows = grids
            .iter()
            .map(|g| Ok((g, serde_json::to_string(&g.geometry).map_err(corrupt)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.write(|tx| {
            tx.execute("DELETE FROM grids", &[])?;
            let insert =
                tx.prepare("INSERT INTO grids (id, name, geometry) VALUES ($1, $2, $3)")?;
            for (g, geometry) in &rows {
                tx.execute(&insert, &[&g.id, &g.name, geometry])?;
            }
            bump_grids_revision(tx)
        })
    }

    fn grids(&self) -> Result<Vec<Grid>, StoreError> {
        self.read(|conn| {
            conn.query("SELECT id, name, geometry FROM grids ORDER BY id", &[])?
                .iter()
                .map(|r| {
                    let geometry: String = r.get(2);
                    let geometry: Geometry = serde_json::from_str(&geometry).map_err(corrupt)?;
                    Ok(Grid {
                        id: r.get(0),
                        name: r.get(1),
                        geometry,
                    })
                })
                .collect()
        })
    }

    fn supervisors(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query(
                    "SELECT g.grid_id, u.name FROM user_grids g JOIN users u ON u.id = g.user_id \
                     WHERE u.role = 'supervisor' ORDER BY g.grid_id, u.name",
                    &[],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect())
        })
    }

    fn grids_revision(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_one("SELECT value FROM meta WHERE key = 'grids_revision'", &[])?
                .get(0))
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
            let insert = tx.prepare(
                "INSERT INTO tickets (report_id, owner_id, content_hash, report, kind, category, \
                 grid_id, status, version, received_at, updated_at, verifies) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10) \
                 ON CONFLICT (report_id) DO NOTHING RETURNING id",
            )?;
            let photo = tx.prepare(
                "INSERT INTO photos (ticket_id, position, sha256, bytes) VALUES ($1, $2, $3, $4)",
            )?;
            let mut results = Vec::with_capacity(items.len());
            let mut events = Vec::new();
            for item in items {
                let report_id = item.report.id.to_string();
                if let Some(existing) = find_existing(tx, &report_id)? {
                    results.push(rules::resubmission(
                        &self.ids,
                        user,
                        &report_id,
                        &existing,
                        &item.content_hash,
                    ));
                    continue;
                }
                if let Some(conflict) = photo_length_conflict(tx, user.id, &item.report)? {
                    results.push(conflict);
                    continue;
                }
                // A verification's target, row-locked so concurrent verifications and triage
                // actions on it are ordered.
                let target = match &item.verification {
                    Some(claim) => {
                        let row = self.ids.parse_ticket_id(&claim.ticket_id);
                        let ticket = match row {
                            Some(row) => {
                                tx.query_opt(
                                    "SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE",
                                    &[&row],
                                )?;
                                load_ticket(tx, &self.ids, Scope::All, row)?
                            }
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
                        ticket.and_then(|t| Some((row?, t, claim.fixed)))
                    }
                    None => None,
                };
                let (status, grid_id, event) = rules::first_state(
                    target.as_ref().map(|(_, t, _)| t),
                    item.grid_id.clone(),
                    user,
                    now,
                );
                let verifies = target.as_ref().map(|(row, _, _)| *row);
                let hash: &[u8] = &item.content_hash;
                let inserted = tx.query_opt(
                    &insert,
                    &[
                        &report_id,
                        &user.id,
                        &hash,
                        &item.canonical_json,
                        &item.report.kind.as_str(),
                        &item.report.category,
                        &grid_id,
                        &status,
                        &now.as_millis(),
                        &verifies,
                    ],
                )?;
                let Some(inserted) = inserted else {
                    // Another instance stored the same report id a moment ago (we waited for
                    // its commit): its row decides, as for any resubmission.
                    let existing = find_existing(tx, &report_id)?.ok_or_else(|| {
                        corrupt(format!("report {report_id} conflicted but is not stored"))
                    })?;
                    results.push(rules::resubmission(
                        &self.ids,
                        user,
                        &report_id,
                        &existing,
                        &item.content_hash,
                    ));
                    continue;
                };
                let id: i64 = inserted.get(0);
                for (i, p) in item.report.photos.iter().enumerate() {
                    let position = i32::try_from(i).unwrap_or(i32::MAX);
                    tx.execute(&photo, &[&id, &position, &p.sha256, &to_i64(p.bytes)])?;
                }
                if let Some(evidence) = &item.evidence {
                    super::postgres_evidence::insert_evidence(tx, id, evidence)?;
                }
                events.push((id, event, None, None));
                if let Some((row, t, fixed)) = &target {
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
                    events.push(apply_update(tx, *row, update)?);
                }
                results.push(ItemResult::Accepted {
                    ticket_id: self.ids.ticket_id(id),
                });
            }
            append_events(tx, &events)?;
            Ok(results)
        })
    }

    fn reports_since(&self, user: &User, since: Timestamp) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .query_one(
                    "SELECT COUNT(*) FROM tickets WHERE owner_id = $1 AND received_at >= $2",
                    &[&user.id, &since.as_millis()],
                )?
                .get(0);
            Ok(to_u64(n))
        })
    }

    fn media_claim(&self, user: &User, sha256: &str) -> Result<Option<MediaClaim>, StoreError> {
        self.read(|conn| {
            let Some(row) = conn.query_opt(
                "SELECT p.bytes FROM photos p JOIN tickets t ON t.id = p.ticket_id \
                 WHERE p.sha256 = $1 AND t.owner_id = $2 ORDER BY t.id, p.position LIMIT 1",
                &[&sha256, &user.id],
            )?
            else {
                return Ok(None);
            };
            let declared: i64 = row.get(0);
            let held = conn
                .query_opt(
                    "SELECT 1 FROM media_holders WHERE sha256 = $1 AND user_id = $2",
                    &[&sha256, &user.id],
                )?
                .is_some();
            Ok(Some(MediaClaim {
                declared_bytes: to_u64(declared),
                held,
            }))
        })
    }

    fn media_visible(&self, scope: Scope, sha256: &str) -> Result<bool, StoreError> {
        self.read(|conn| {
            let (cond, param) = scope_sql(scope, 2);
            let visible = merged_visibility(scope, &cond);
            let sql = format!(
                "SELECT 1 FROM photos p JOIN tickets t ON t.id = p.ticket_id \
                 JOIN media_holders h ON h.sha256 = p.sha256 AND h.user_id = t.owner_id \
                 WHERE p.sha256 = $1 AND {visible} LIMIT 1"
            );
            Ok(conn.query_opt(&sql, &[&sha256, &param])?.is_some())
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
                "INSERT INTO media (sha256, bytes, stored_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&sha256, &to_i64(bytes), &now.as_millis()],
            )?;
            tx.execute(
                "INSERT INTO media_holders (sha256, user_id, at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&sha256, &user.id, &now.as_millis()],
            )?;
            tx.execute(
                "DELETE FROM uploads WHERE user_id = $1 AND sha256 = $2",
                &[&user.id, &sha256],
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
            // One account's quota is decided one upload at a time, whichever instance asks.
            tx.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&user.id])?;
            let open = tx
                .query_opt(
                    "SELECT 1 FROM uploads WHERE user_id = $1 AND sha256 = $2",
                    &[&user.id, &sha256],
                )?
                .is_some();
            if open {
                return Ok(UploadStart::Open);
            }
            let pending: i64 = tx
                .query_one(
                    "SELECT COALESCE(SUM(length), 0)::BIGINT FROM uploads WHERE user_id = $1",
                    &[&user.id],
                )?
                .get(0);
            let pending = to_u64(pending);
            if pending.saturating_add(length) > quota {
                return Ok(UploadStart::OverQuota { pending });
            }
            tx.execute(
                "INSERT INTO uploads (user_id, sha256, length, started_at, touched_at) \
                 VALUES ($1, $2, $3, $4, $4)",
                &[&user.id, &sha256, &to_i64(length), &now.as_millis()],
            )?;
            Ok(UploadStart::Open)
        })
    }

    fn upload_touch(&self, user: &User, sha256: &str, now: Timestamp) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.execute(
                "UPDATE uploads SET touched_at = $3 WHERE user_id = $1 AND sha256 = $2",
                &[&user.id, &sha256, &now.as_millis()],
            )?;
            Ok(())
        })
    }

    fn upload_close(&self, user_id: i64, sha256: &str) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.execute(
                "DELETE FROM uploads WHERE user_id = $1 AND sha256 = $2",
                &[&user_id, &sha256],
            )?;
            Ok(())
        })
    }

    fn uploads_expired(&self, before: Timestamp) -> Result<Vec<(i64, String)>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query(
                    "DELETE FROM uploads WHERE touched_at < $1 RETURNING user_id, sha256",
                    &[&before.as_millis()],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect())
        })
    }

    fn pending_uploads(&self) -> Result<(u64, u64), StoreError> {
        self.read(|conn| {
            let row = conn.query_one(
                "SELECT COUNT(*), COALESCE(SUM(length), 0)::BIGINT FROM uploads",
                &[],
            )?;
            Ok((to_u64(row.get(0)), to_u64(row.get(1))))
        })
    }

    fn changes(
        &self,
        scope: Scope,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<Change>, bool), StoreError> {
        self.read(|conn| {
            let (cond, param) = scope_sql(scope, 2);
            let sql = format!(
                "SELECT e.seq, e.ticket_id, t.report_id, e.status, e.version, e.at, e.by_user, \
                 e.reason, e.department, e.note, e.duplicate_of, e.action, e.due_at, \
                 e.verification FROM events e JOIN tickets t ON t.id = e.ticket_id \
                 WHERE e.seq > $1 AND {cond} ORDER BY e.seq LIMIT $3"
            );
            let rows = conn.query(&sql, &[&after, &param, &(i64::from(limit) + 1)])?;
            let has_more = rows.len() > limit as usize;
            let mut changes = Vec::with_capacity(rows.len());
            for row in rows.iter().take(limit as usize) {
                let seq: i64 = row.get(0);
                let ticket: i64 = row.get(1);
                let report_id: String = row.get(2);
                changes.push(Change {
                    cursor: self.ids.cursor(seq),
                    ticket_id: self.ids.ticket_id(ticket),
                    report_id: report_id.parse().map_err(corrupt)?,
                    event: event_row(row, 3).into_event(&self.ids)?,
                });
            }
            Ok((changes, has_more))
        })
    }

    fn tickets(&self, scope: Scope, filter: &TicketFilter) -> Result<TicketPage, StoreError> {
        self.read(|conn| {
            let (cond, scope_param) = scope_sql(scope, 2);
            // Keyset paging: after the cursor's ticket in the page order.
            let after = if filter.by_due && filter.after_id > 0 {
                format!(
                    "(coalesce(t.due_at, {NO_DUE}), t.id) > \
                     (SELECT coalesce(due_at, {NO_DUE}), id FROM tickets WHERE id = $1)"
                )
            } else {
                "t.id > $1".to_string()
            };
            let mut sql = format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t JOIN users u ON u.id = t.owner_id \
                 WHERE {after} AND {cond}"
            );
            match filter.overdue {
                Some(true) => {
                    sql.push_str(" AND t.overdue_at IS NOT NULL AND t.status = 'dispatched'")
                }
                Some(false) => {
                    sql.push_str(" AND (t.overdue_at IS NULL OR t.status <> 'dispatched')")
                }
                None => {}
            }
            let statuses: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| s.as_str().to_string())
                .collect();
            let kind = filter.kind.map(|k| k.as_str().to_string());
            let since = filter.since.map(Timestamp::as_millis);
            let until = filter.until.map(Timestamp::as_millis);
            let limit = i64::from(filter.limit) + 1;
            let mut params: Vec<Param<'_>> = vec![&filter.after_id, &scope_param];
            // Each clause binds the next parameter, written `?` here.
            let mut clauses: Vec<(&str, Param<'_>)> = Vec::new();
            if !statuses.is_empty() {
                clauses.push((" AND t.status = ANY(?)", &statuses));
            }
            if let Some(kind) = &kind {
                clauses.push((" AND t.kind = ?", kind));
            }
            if let Some(grid) = &filter.grid {
                clauses.push((" AND t.grid_id = ?", grid));
            }
            if let Some(since) = &since {
                clauses.push((" AND t.received_at >= ?", since));
            }
            if let Some(until) = &until {
                clauses.push((" AND t.received_at < ?", until));
            }
            let check = filter.signature.map(|c| c.as_str().to_string());
            if let Some(check) = &check {
                clauses.push((
                    " AND t.id IN (SELECT ticket_id FROM ticket_evidence WHERE signature = ?)",
                    check,
                ));
            }
            let no_signals = "[]".to_string();
            match &filter.signal {
                None => {}
                Some(any) if any == super::evidence::ANY_SIGNAL => clauses.push((
                    " AND t.id IN (SELECT ticket_id FROM ticket_evidence WHERE signals <> ?)",
                    &no_signals,
                )),
                Some(name) => clauses.push((
                    " AND t.id IN (SELECT ticket_id FROM ticket_evidence WHERE signals::jsonb @> \
                     jsonb_build_array(jsonb_build_object('name', ?::TEXT)))",
                    name,
                )),
            }
            if let Some(category) = &filter.category {
                clauses.push((" AND t.category = ?", category));
            }
            if !filter.ids.is_empty() {
                clauses.push((" AND t.id = ANY(?)", &filter.ids));
            }
            if filter.service_kinds_only {
                sql.push_str(" AND t.kind NOT IN ('anti_fraud_outreach', 'verification')");
            }
            let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
            let order = if filter.by_due {
                format!(" ORDER BY coalesce(t.due_at, {NO_DUE}), t.id LIMIT ?")
            } else if filter.newest_first {
                " ORDER BY t.id DESC LIMIT ?".to_string()
            } else {
                " ORDER BY t.id LIMIT ?".to_string()
            };
            clauses.push((&order, &limit));
            clauses.push((" OFFSET ?", &offset));
            for (clause, value) in clauses {
                params.push(value);
                sql.push_str(&clause.replace('?', &format!("${}", params.len())));
            }
            let rows: Vec<TicketRow> = conn.query(&sql, &params)?.iter().map(ticket_row).collect();
            let has_more = rows.len() > filter.limit as usize;
            let rows = rows.into_iter().take(filter.limit as usize).collect();
            let tickets = assemble_all(conn, &self.ids, rows)?;
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
            // The ticket's row lock orders concurrent actions on it, whichever instance runs
            // them: the second sees the first's version and is answered 409.
            if tx
                .query_opt("SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE", &[&id])?
                .is_none()
            {
                return Ok(ActionOutcome::NotFound);
            }
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
            let event = apply_update(tx, id, update)?;
            append_events(tx, &[event])?;
            let updated = load_ticket(tx, &self.ids, Scope::All, id)?
                .ok_or_else(|| corrupt(format!("ticket {id} vanished inside its transaction")))?;
            Ok(ActionOutcome::Applied(Box::new(updated)))
        })
    }

    fn mark_overdue(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError> {
        self.write(|tx| {
            // SKIP LOCKED: another instance sweeping at the same moment takes other rows;
            // `overdue_at IS NULL` under the row lock makes each mark happen once.
            let due: Vec<(i64, i64)> = tx
                .query(
                    "SELECT id, due_at FROM tickets WHERE due_at <= $1 AND overdue_at IS NULL \
                     AND status = 'dispatched' ORDER BY due_at, id LIMIT $2 \
                     FOR UPDATE SKIP LOCKED",
                    &[&now.as_millis(), &i64::from(limit)],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let mut events = Vec::with_capacity(due.len());
            for (id, due_at) in &due {
                let ticket = load_ticket(tx, &self.ids, Scope::All, *id)?
                    .ok_or_else(|| corrupt(format!("ticket {id} vanished")))?;
                let update = rules::overdue_update(&ticket, Timestamp::from_millis(*due_at), now);
                events.push(apply_update(tx, *id, update)?);
            }
            append_events(tx, &events)?;
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
                (true, _) | (false, Role::Admin) => "TRUE",
                (false, Role::Supervisor) => {
                    "t.grid_id IN (SELECT grid_id FROM user_grids WHERE user_id = $1)"
                }
                (false, Role::Rider) => {
                    "(t.grid_id IN (SELECT grid_id FROM user_grids WHERE user_id = $1) \
                     OR t.grid_id IN (SELECT grid_id FROM tickets WHERE owner_id = $1))"
                }
            };
            let sql = format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t JOIN users u ON u.id = t.owner_id \
                 WHERE t.status = 'awaiting_verification' AND t.owner_id <> $1 AND {cond} \
                 ORDER BY t.updated_at, t.id LIMIT $2"
            );
            let rows: Vec<TicketRow> = conn
                .query(&sql, &[&user.id, &i64::from(limit)])?
                .iter()
                .map(ticket_row)
                .collect();
            assemble_all(conn, &self.ids, rows)
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
        let statuses: Vec<String> = outbox::FORWARDED_STATUSES
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        let categories = categories.to_vec();
        self.write(|tx| {
            let added = tx.execute(
                "INSERT INTO upstream_outbox (ticket_id, state, next_at, created_at, updated_at) \
                 SELECT t.id, 'pending', $1, $1, $1 FROM tickets t \
                 WHERE t.status = ANY($3) AND t.category = ANY($4) \
                 AND NOT EXISTS (SELECT 1 FROM upstream_outbox o WHERE o.ticket_id = t.id) \
                 ORDER BY t.id LIMIT $2 ON CONFLICT (ticket_id) DO NOTHING",
                &[&now.as_millis(), &i64::from(limit), &statuses, &categories],
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
            // SKIP LOCKED: another instance's worker takes other rows.
            let rows = tx.query(
                &format!(
                    "UPDATE upstream_outbox SET attempts = attempts + 1, next_at = $2, \
                     updated_at = $1 WHERE ticket_id IN (SELECT ticket_id FROM upstream_outbox \
                     WHERE state IN ('pending', 'token') AND next_at <= $1 \
                     ORDER BY next_at, ticket_id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                     RETURNING {OUTBOX_COLUMNS}"
                ),
                &[
                    &now.as_millis(),
                    &lease_until.as_millis(),
                    &i64::from(limit),
                ],
            )?;
            let mut taken = rows.iter().map(outbox_row).collect::<Result<Vec<_>, _>>()?;
            taken.sort_by_key(|r| r.ticket_id);
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
            let Some(row) = tx.query_opt(
                "SELECT token FROM upstream_outbox WHERE ticket_id = $1 \
                 AND state IN ('pending', 'token') FOR UPDATE",
                &[&ticket_id],
            )?
            else {
                return Ok(());
            };
            let token: Option<String> = row.get(0);
            let (state, upstream_id, token, error, next_at) =
                outbox::recorded(outcome, token.as_deref(), now);
            tx.execute(
                "UPDATE upstream_outbox SET state = $2, upstream_id = $3, token = $4, \
                 last_error = $5, next_at = $6, updated_at = $7 WHERE ticket_id = $1",
                &[
                    &ticket_id,
                    &state.as_str(),
                    &upstream_id,
                    &token,
                    &error,
                    &next_at.as_millis(),
                    &now.as_millis(),
                ],
            )?;
            Ok(())
        })
    }

    fn outbox_status(
        &self,
        state: OutboxState,
        limit: u32,
    ) -> Result<outbox::OutboxStatus, StoreError> {
        self.read(|conn| {
            let mut counts = Vec::new();
            for row in conn.query(
                "SELECT state, count(*) FROM upstream_outbox GROUP BY state",
                &[],
            )? {
                let name: String = row.get(0);
                let state = OutboxState::parse(&name)
                    .ok_or_else(|| corrupt(format!("outbox state {name:?}")))?;
                counts.push((state, to_u64(row.get::<_, i64>(1))));
            }
            counts.sort();
            let rows = conn
                .query(
                    &format!(
                        "SELECT {OUTBOX_COLUMNS} FROM upstream_outbox WHERE state = $1 \
                         ORDER BY updated_at, ticket_id LIMIT $2"
                    ),
                    &[&state.as_str(), &i64::from(limit)],
                )?
                .iter()
                .map(outbox_row)
                .collect::<Result<_, _>>()?;
            Ok((counts, rows))
        })
    }

    fn outbox_ticket(&self, upstream_id: &str) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_opt(
                    "SELECT ticket_id FROM upstream_outbox WHERE upstream_id = $1 \
                     ORDER BY ticket_id LIMIT 1",
                    &[&upstream_id],
                )?
                .map(|r| r.get(0)))
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
            let added = tx.execute(
                "INSERT INTO upstream_updates (update_id, ticket_id, updated_at, seen_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (update_id) DO NOTHING",
                &[
                    &update_id,
                    &ticket_id,
                    &updated_at.as_millis(),
                    &now.as_millis(),
                ],
            )?;
            Ok(added > 0)
        })
    }

    fn upstream_updates_known(
        &self,
        update_id: &str,
    ) -> Result<(bool, Option<Timestamp>), StoreError> {
        self.read(|conn| {
            let seen = conn
                .query_opt(
                    "SELECT 1 FROM upstream_updates WHERE update_id = $1",
                    &[&update_id],
                )?
                .is_some();
            let latest: Option<i64> = conn
                .query_one("SELECT max(updated_at) FROM upstream_updates", &[])?
                .get(0);
            Ok((seen, latest.map(Timestamp::from_millis)))
        })
    }
}

/// Sorts tickets without a deadline after every real one.
const NO_DUE: i64 = i64::MAX;

impl Coordination for PostgresStore {
    fn lease_upload(
        &self,
        user_id: i64,
        sha256: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_opt(
                    "INSERT INTO upload_leases AS l (user_id, sha256, holder, until) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, sha256) DO UPDATE \
                     SET holder = EXCLUDED.holder, until = EXCLUDED.until \
                     WHERE l.until < $5 OR l.holder = EXCLUDED.holder RETURNING 1",
                    &[
                        &user_id,
                        &sha256,
                        &holder,
                        &until.as_millis(),
                        &now.as_millis(),
                    ],
                )?
                .is_some())
        })
    }

    fn release_upload(&self, user_id: i64, sha256: &str, holder: &str) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.execute(
                "DELETE FROM upload_leases WHERE user_id = $1 AND sha256 = $2 AND holder = $3",
                &[&user_id, &sha256, &holder],
            )?;
            Ok(())
        })
    }

    fn take_rate(
        &self,
        key: &str,
        per_second: f64,
        burst: f64,
        cost: f64,
        now: Timestamp,
    ) -> Result<Option<Duration>, StoreError> {
        self.write(|tx| {
            let now_ms = now.as_millis();
            tx.execute(
                "INSERT INTO rate_buckets (key, tokens, at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO NOTHING",
                &[&key, &burst, &now_ms],
            )?;
            let row = tx.query_one(
                "SELECT tokens, at FROM rate_buckets WHERE key = $1 FOR UPDATE",
                &[&key],
            )?;
            let (tokens, at): (f64, i64) = (row.get(0), row.get(1));
            let elapsed = (now_ms.saturating_sub(at).max(0) as f64) / 1000.0;
            let tokens = (tokens + elapsed * per_second).min(burst);
            let needed = cost.max(1.0);
            if tokens >= needed {
                tx.execute(
                    "UPDATE rate_buckets SET tokens = $2, at = $3 WHERE key = $1",
                    &[&key, &(tokens - cost), &now_ms.max(at)],
                )?;
                return Ok(None);
            }
            let wait = if per_second > 0.0 {
                Duration::from_secs_f64((needed - tokens) / per_second)
            } else {
                Duration::from_secs(3600)
            };
            Ok(Some(wait))
        })
    }

    fn forget_rates(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.read(|conn| {
            Ok(conn.execute(
                "DELETE FROM rate_buckets WHERE at < $1",
                &[&before.as_millis()],
            )?)
        })
    }
}
