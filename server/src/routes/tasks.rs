//! `GET /v1/tasks`: tickets awaiting a rider's on-the-spot verification (核查), as tasks.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use gridline_protocol::wire::{TaskPage, TasksQuery};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::query;
use crate::state::AppState;
use crate::store::rules;
use crate::task::blocking;

/// Most tasks one answer lists.
const MAX_TASKS: u32 = 200;
/// Candidates read when filtering by distance (a city rarely has this many waiting at once).
const MAX_CANDIDATES: u32 = 5_000;

/// `GET /v1/tasks?near=&radius_m=`.
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
    uri: Uri,
) -> Result<Json<TaskPage>, ApiError> {
    let q: TasksQuery = query(&uri)?;
    let area = q.area().map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let store = state.store.clone();
    let limit = if area.is_some() {
        MAX_CANDIDATES
    } else {
        MAX_TASKS
    };
    let tickets =
        blocking(move || store.awaiting_verification(&user, area.is_some(), limit)).await??;
    let tasks = tickets
        .iter()
        .filter(|t| area.is_none_or(|(lon, lat, radius)| rules::within(t, lon, lat, radius)))
        .take(MAX_TASKS as usize)
        .map(|t| rules::task_of(t, &state.policy))
        .collect();
    Ok(Json(TaskPage { tasks }))
}
