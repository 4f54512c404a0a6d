//! `GET /v1/changes?cursor=&limit=`: the caller's slice of the ticket transition feed.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use gridline_protocol::wire::{ChangesPage, ChangesQuery};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::query;
use crate::state::AppState;
use crate::task::blocking;

/// The handler. An empty or absent cursor starts from the beginning.
pub async fn changes(
    State(state): State<AppState>,
    Caller(user): Caller,
    uri: Uri,
) -> Result<Json<ChangesPage>, ApiError> {
    let q: ChangesQuery = query(&uri)?;
    let after = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => state
            .store
            .ids()
            .parse_cursor(c)
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this server issued"))?,
    };
    let limit = super::page_size(q.limit, state.limits.max_page_size);
    let scope = user.scope();
    let store = state.store.clone();
    let (changes, has_more) = blocking(move || store.changes(scope, after, limit)).await??;
    let next_cursor = changes
        .last()
        .map_or_else(|| state.store.ids().cursor(after), |c| c.cursor.clone());
    Ok(Json(ChangesPage {
        changes,
        next_cursor,
        has_more,
    }))
}
