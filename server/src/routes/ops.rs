//! What operations teams and load balancers ask an instance: is it ready (`/readyz`), and its
//! metrics (`/metrics`). `/healthz` (liveness) lives with the reference documents.

use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gridline_protocol::wire::ErrorCode;
use serde_json::json;

use crate::account::Role;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::metrics::Gauges;
use crate::state::AppState;
use crate::task::blocking;

/// `GET /readyz`: 200 when this instance's database and photo store both answer, else 503
/// with which one did not (details go to the log, not to the unauthenticated caller).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let database = match blocking(move || store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            false
        }
        Err(_) => false,
    };
    let media = match state.media.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the photo store does not answer");
            false
        }
    };
    let ready = database && media;
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": { "backend": state.store.backend(), "status": word(database) },
        "media": { "backend": state.media.backend(), "status": word(media) },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// `GET /metrics`: the Prometheus exposition of this instance (admins only: the counts say
/// how busy the city is).
pub async fn metrics(State(state): State<AppState>, Caller(user): Caller) -> Response {
    if user.role != Role::Admin {
        return ApiError::new(ErrorCode::Forbidden, "metrics are for admin tokens").into_response();
    }
    let store = state.store.clone();
    let pending = match blocking(move || store.pending_uploads()).await {
        Ok(Ok(pending)) => pending,
        Ok(Err(e)) => return ApiError::from(e).into_response(),
        Err(e) => return e.into_response(),
    };
    let text = state.metrics.render(
        (state.store.backend(), state.media.backend()),
        Gauges {
            pending_uploads: pending.0,
            pending_upload_bytes: pending.1,
        },
    );
    (
        [
            (CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// Middleware: counts every routed request and its latency under its route template.
pub async fn track(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| format!("{} {}", request.method(), p.as_str()))
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .request(&route, response.status().as_u16(), started.elapsed());
    response
}
