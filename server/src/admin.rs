//! Administration without HTTP: creating users (and their one-time tokens) and importing grids,
//! straight into a server's storage (a data folder, or a city's PostgreSQL database). Safe
//! while servers run on it (SQLite WAL, PostgreSQL transactions); they pick up new grids and
//! supervisors on their next request.

use gridline_protocol::FieldError;
use gridline_protocol::Timestamp;
use gridline_protocol::report::{MAX_ID_CHARS, check_text};

pub use crate::store::NewUser;

use crate::account::{OPEN311_KEY_PREFIX, Role, User, new_secret, new_token, token_hash};
use crate::backends::open_store;
use crate::config::Storage;
use crate::error::ServerError;
use crate::grids::parse_geojson;

/// A user just created, with the only copy of their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUser {
    /// The stored user.
    pub user: User,
    /// The bearer token; the server keeps only its hash, so show it once.
    pub token: String,
}

/// Creates a user in `storage` (a data folder converts) and returns their new token.
pub fn add_user(storage: impl Into<Storage>, user: &NewUser) -> Result<CreatedUser, ServerError> {
    let invalid = ServerError::Invalid;
    if user.name.trim().is_empty() {
        return Err(invalid(FieldError::new("name", "must not be empty")));
    }
    check_text("name", &user.name, MAX_ID_CHARS, false).map_err(invalid)?;
    for (i, g) in user.grids.iter().enumerate() {
        check_text(&format!("grids.{i}"), g, MAX_ID_CHARS, false).map_err(invalid)?;
    }
    if user.role == Role::Supervisor && user.grids.is_empty() {
        return Err(invalid(FieldError::new(
            "grids",
            "a supervisor needs at least one grid",
        )));
    }
    let token = new_token();
    let stored =
        open_store(&storage.into())?.add_user(user, &token_hash(&token), Timestamp::now())?;
    Ok(CreatedUser {
        user: stored,
        token,
    })
}

/// An Open311 client just created, with the only copy of its API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOpen311Client {
    /// The stored client.
    pub client: crate::store::Open311Client,
    /// The API key; the server keeps only its hash, so show it once.
    pub api_key: String,
}

/// Issues an API key to a new Open311 client system named `name` (its tickets are submitted
/// by the account `open311:<name>`).
pub fn add_open311_client(
    storage: impl Into<Storage>,
    name: &str,
) -> Result<CreatedOpen311Client, ServerError> {
    let invalid = ServerError::Invalid;
    if name.trim().is_empty() || name.trim() != name {
        return Err(invalid(FieldError::new(
            "name",
            "must not be empty or start or end with spaces",
        )));
    }
    check_text("name", name, MAX_ID_CHARS - 8, false).map_err(invalid)?;
    let api_key = new_secret(OPEN311_KEY_PREFIX);
    let client = open_store(&storage.into())?.add_open311_client(
        name,
        &token_hash(&api_key),
        Timestamp::now(),
    )?;
    Ok(CreatedOpen311Client { client, api_key })
}

/// Every Open311 client of `storage`, by name.
pub fn open311_clients(
    storage: impl Into<Storage>,
) -> Result<Vec<crate::store::Open311Client>, ServerError> {
    Ok(open_store(&storage.into())?.open311_clients()?)
}

/// What `gridline server upstream status` shows: outbox rows per state, and the parked
/// tickets with their error.
#[derive(Debug, Clone)]
pub struct UpstreamStatus {
    /// Rows per state (every state, zero included).
    pub counts: Vec<(crate::store::OutboxState, u64)>,
    /// Up to 1,000 parked rows, oldest first, with their public ticket id.
    pub parked: Vec<(String, crate::store::OutboxRow)>,
}

/// The upstream outbox of `storage`.
pub fn upstream_status(storage: impl Into<Storage>) -> Result<UpstreamStatus, ServerError> {
    use crate::store::OutboxState;
    let store = open_store(&storage.into())?;
    let (found, parked) = store.outbox_status(OutboxState::Parked, 1000)?;
    let counts = OutboxState::ALL
        .into_iter()
        .map(|state| {
            let n = found
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            (state, n)
        })
        .collect();
    let parked = parked
        .into_iter()
        .map(|row| (store.ids().ticket_id(row.ticket_id), row))
        .collect();
    Ok(UpstreamStatus { counts, parked })
}

/// Replaces the grids in `storage` with those of a GeoJSON FeatureCollection; returns how
/// many were imported. Nothing changes if any feature is invalid.
pub fn import_grids(storage: impl Into<Storage>, geojson: &str) -> Result<usize, ServerError> {
    let grids = parse_geojson(geojson).map_err(ServerError::Invalid)?;
    open_store(&storage.into())?.replace_grids(&grids)?;
    Ok(grids.len())
}

/// Marks every dispatched ticket whose deadline passed by `at` as overdue (once per deadline,
/// as the running server does); returns how many it marked.
pub fn check_deadlines(storage: impl Into<Storage>, at: Timestamp) -> Result<u64, ServerError> {
    let store = open_store(&storage.into())?;
    let mut total = 0u64;
    // Bounded: every round marks tickets that are then no longer candidates.
    for _ in 0..100_000 {
        let marked = store.mark_overdue(at, 500)?;
        total += u64::from(marked);
        if marked < 500 {
            break;
        }
    }
    Ok(total)
}

/// The device signing keys registered in `storage` (of the account `account` only, when
/// named), oldest first.
pub fn device_keys(
    storage: impl Into<Storage>,
    account: Option<&str>,
) -> Result<Vec<gridline_protocol::evidence::DeviceKey>, ServerError> {
    Ok(open_store(&storage.into())?.device_keys(account)?)
}

/// Revokes the device key `key_id`: reports signed with it that arrive from now on are
/// recorded as `revoked_key`; tickets received before keep what their check found. Revoking a
/// revoked key changes nothing. Returns the key as it now is.
pub fn revoke_device_key(
    storage: impl Into<Storage>,
    key_id: &str,
) -> Result<gridline_protocol::evidence::DeviceKey, ServerError> {
    if !gridline_protocol::evidence::is_key_id(key_id) {
        return Err(ServerError::Invalid(FieldError::new(
            "key_id",
            "must be 32 lowercase hex digits (see `gridline server device-keys`)",
        )));
    }
    open_store(&storage.into())?
        .revoke_device_key(key_id, Timestamp::now())?
        .ok_or_else(|| {
            ServerError::Invalid(FieldError::new(
                "key_id",
                format!("no device key {key_id} is registered"),
            ))
        })
}

/// What [`migrate_from_sqlite`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MigrationSummary {
    /// Rows copied into the database (0 for rows a previous run copied).
    pub records: crate::store::migrate::ImportSummary,
    /// Photos now in the city's store (copied, or found there already).
    pub photos_stored: u64,
    /// Photos the district's database records but whose file is missing or damaged (their
    /// tickets keep them listed as not uploaded yet; the device re-uploads on its next sync).
    pub photos_missing: u64,
}

/// Moves a district's data folder into a city deployment (`city.database` must be
/// PostgreSQL): photos first (verified by hash, created only if absent), then every record
/// in one transaction, keeping row numbers, sequence numbers and the id key, so ticket ids and
/// cursors on the district's devices stay valid and nothing is duplicated. Safe to run again.
/// `progress` is told what happens, line by line.
pub fn migrate_from_sqlite(
    district: &std::path::Path,
    city: &Storage,
    mut progress: impl FnMut(&str),
) -> Result<MigrationSummary, ServerError> {
    use crate::config::Database;
    use sha2::{Digest, Sha256};

    let Database::Postgres(url) = &city.database else {
        return Err(ServerError::Invalid(FieldError::new(
            "database",
            "the city deployment's database must be PostgreSQL (--database postgres://…)",
        )));
    };
    let sqlite = district.join(crate::store::SQLITE_FILE);
    let names = crate::store::migrate::stored_photos(&sqlite)?;
    let source = crate::media::MediaDir::open(district.join("media"))?;
    let target = crate::backends::open_media(city)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut summary = MigrationSummary::default();
    progress(&format!(
        "copying {} photos to the city's {} store",
        names.len(),
        target.backend()
    ));
    for (i, name) in names.iter().enumerate() {
        let bytes = runtime.block_on(crate::media::MediaStore::read(&source, name))?;
        match bytes {
            Some(bytes) if crate::account::hex(&Sha256::digest(&bytes)) == *name => {
                runtime.block_on(target.put_verified(name, bytes))?;
                summary.photos_stored += 1;
            }
            _ => {
                progress(&format!(
                    "photo {name} is missing or damaged in the district"
                ));
                summary.photos_missing += 1;
            }
        }
        if (i + 1) % 500 == 0 {
            progress(&format!("{} of {} photos", i + 1, names.len()));
        }
    }
    progress("copying records");
    let store = crate::store::postgres::PostgresStore::open(url.expose())?;
    summary.records = crate::store::migrate::copy_sqlite_into(&store, &sqlite)?;
    Ok(summary)
}
