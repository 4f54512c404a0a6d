//! Administration without HTTP: creating users (and their one-time tokens) and importing grids,
//! straight into a data folder. Safe while a server runs on the same folder (SQLite WAL); the
//! server picks up new grids and supervisors on its next request.

use std::path::Path;

use gridline_protocol::FieldError;
use gridline_protocol::Timestamp;
use gridline_protocol::report::{MAX_ID_CHARS, check_text};

pub use crate::store::NewUser;

use crate::auth::{Role, User, new_token, token_hash};
use crate::config::db_path;
use crate::error::ServerError;
use crate::grids::parse_geojson;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

/// A user just created, with the only copy of their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUser {
    /// The stored user.
    pub user: User,
    /// The bearer token; the server keeps only its hash, so show it once.
    pub token: String,
}

fn open(data_dir: &Path) -> Result<SqliteStore, ServerError> {
    std::fs::create_dir_all(data_dir)?;
    Ok(SqliteStore::open(&db_path(data_dir))?)
}

/// Creates a user in the data folder and returns their new token.
pub fn add_user(data_dir: &Path, user: &NewUser) -> Result<CreatedUser, ServerError> {
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
    let stored = open(data_dir)?.add_user(user, &token_hash(&token), Timestamp::now())?;
    Ok(CreatedUser {
        user: stored,
        token,
    })
}

/// Replaces the data folder's grids with those of a GeoJSON FeatureCollection; returns how
/// many were imported. Nothing changes if any feature is invalid.
pub fn import_grids(data_dir: &Path, geojson: &str) -> Result<usize, ServerError> {
    let grids = parse_geojson(geojson).map_err(ServerError::Invalid)?;
    open(data_dir)?.replace_grids(&grids)?;
    Ok(grids.len())
}
