//! The cacheable reference documents — catalog, grids, limits — and the health probe.

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gridline_protocol::wire::Limits;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::if_none_match;
use crate::state::{AppState, Published};
use crate::task::blocking;

/// `GET /healthz`: 200 when the database answers, no authentication.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store.clone();
    blocking(move || store.grids_revision()).await??;
    Ok(Json(json!({"status": "ok"})))
}

/// `GET /v1/catalog`.
pub async fn catalog(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
) -> Response {
    published(&state.catalog_doc, &headers, "application/json")
}

/// `GET /v1/grids`: GeoJSON FeatureCollection.
pub async fn grids(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = blocking(move || state.grids.current(&*state.store)).await??;
    Ok(published(&snapshot.doc, &headers, "application/geo+json"))
}

/// `GET /v1/limits`.
pub async fn limits(State(state): State<AppState>, _caller: Caller) -> Json<Limits> {
    Json(state.limits)
}

/// Answers `304` when the client's copy is current, else the document; both with the `ETag`.
/// `no-cache`: clients may keep it but must revalidate, which costs one small round trip.
fn published(doc: &Published, headers: &HeaderMap, content_type: &'static str) -> Response {
    let tags = [
        (ETAG, doc.etag.clone()),
        (CACHE_CONTROL, "no-cache".to_string()),
    ];
    if if_none_match(headers, &doc.etag) {
        return (StatusCode::NOT_MODIFIED, tags).into_response();
    }
    (tags, [(CONTENT_TYPE, content_type)], doc.body.clone()).into_response()
}
