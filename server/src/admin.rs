//! Administration without HTTP: creating users (and their one-time tokens) and importing grids,
//! straight into a server's storage (a data folder, or a city's PostgreSQL database). Safe
//! while servers run on it (SQLite WAL, PostgreSQL transactions); they pick up new grids and
//! supervisors on their next request.

use gridline_protocol::FieldError;
use gridline_protocol::Timestamp;
use gridline_protocol::report::{MAX_ID_CHARS, check_text};

pub use crate::store::NewUser;

use crate::account::{Role, User, new_token, token_hash};
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

/// Replaces the grids in `storage` with those of a GeoJSON FeatureCollection; returns how
/// many were imported. Nothing changes if any feature is invalid.
pub fn import_grids(storage: impl Into<Storage>, geojson: &str) -> Result<usize, ServerError> {
    let grids = parse_geojson(geojson).map_err(ServerError::Invalid)?;
    open_store(&storage.into())?.replace_grids(&grids)?;
    Ok(grids.len())
}
