//! The HTTP surface of protocol v1: one module per resource, assembled into one router here.

mod account;
mod catalog;
mod changes;
mod device_keys;
mod media;
pub(crate) mod ops;
pub(crate) mod reports;
mod tasks;
mod tickets;

use axum::Router;
use axum::routing::{get, post};
use gridline_protocol::wire::{ErrorCode, paths};

use crate::error::ApiError;
use crate::state::AppState;

/// Every (method, path) the router serves; `docs/openapi.yaml` must list each one (tested),
/// and an integration test checks that each answers something other than the 404 fallback.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", paths::HEALTHZ),
    ("get", paths::READYZ),
    ("get", paths::METRICS),
    ("get", paths::CATALOG),
    ("get", paths::GRIDS),
    ("get", paths::LIMITS),
    ("get", paths::ME),
    ("get", paths::DEPARTMENTS),
    ("post", paths::REPORTS_BATCH),
    ("post", paths::DEVICE_KEYS),
    ("head", paths::MEDIA_TEMPLATE),
    ("patch", paths::MEDIA_TEMPLATE),
    ("get", paths::MEDIA_TEMPLATE),
    ("get", paths::CHANGES),
    ("get", paths::TASKS),
    ("get", paths::TICKETS),
    ("get", paths::TICKET_TEMPLATE),
    ("post", paths::TICKET_ACTIONS_TEMPLATE),
];

/// The routes, without middleware (see [`crate::server`] for the layers).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(paths::HEALTHZ, get(catalog::healthz))
        .route(paths::READYZ, get(ops::readyz))
        .route(paths::METRICS, get(ops::metrics))
        .route(paths::CATALOG, get(catalog::catalog))
        .route(paths::GRIDS, get(catalog::grids))
        .route(paths::LIMITS, get(catalog::limits))
        .route(paths::ME, get(account::me))
        .route(paths::DEPARTMENTS, get(account::departments))
        .route(paths::REPORTS_BATCH, post(reports::batch))
        .route(paths::DEVICE_KEYS, post(device_keys::register))
        .route(
            paths::MEDIA_TEMPLATE,
            get(media::download).head(media::head).patch(media::upload),
        )
        .route(paths::CHANGES, get(changes::changes))
        .route(paths::TASKS, get(tasks::list))
        .route(paths::TICKETS, get(tickets::list))
        .route(paths::TICKET_TEMPLATE, get(tickets::one))
        .route(paths::TICKET_ACTIONS_TEMPLATE, post(tickets::act))
        .route(paths::TICKET_CANDIDATES_TEMPLATE, get(tickets::candidates))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::track,
        ))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "this endpoint does not take that method",
            )
        })
        .with_state(state)
}

/// Clamps a requested page size to 1..=`max` (default 100).
fn page_size(requested: Option<u32>, max: u32) -> u32 {
    requested.unwrap_or(100).clamp(1, max.max(1))
}
