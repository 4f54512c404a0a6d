//! `GET /v1/tickets`, `GET /v1/tickets/{id}`, `POST /v1/tickets/{id}/actions` (triage with
//! optimistic concurrency: `If-Match: "<version>"`) and `GET /v1/tickets/{id}/candidates`
//! (duplicate candidates, supervisors).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use gridline_protocol::wire::TriageAction;
use gridline_protocol::wire::{
    CandidateList, ErrorCode, Ticket, TicketPage, TicketQuery, TicketSort,
};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{self, query};
use crate::state::AppState;
use crate::store::{ActionOutcome, TicketFilter};
use crate::task::blocking;

/// `GET /v1/tickets`.
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
    uri: Uri,
) -> Result<Json<TicketPage>, ApiError> {
    let q: TicketQuery = query(&uri)?;
    let statuses = q
        .statuses()
        .map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let after_id = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => state
            .store
            .ids()
            .parse_ticket_id(c)
            .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this server issued"))?,
    };
    // A signal name is snake_case (`mock_location`, or `any`); empty means no filter.
    let signal = q.signal.filter(|s| !s.is_empty());
    if let Some(signal) = &signal {
        let mut chars = signal.chars();
        let well_formed = signal.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            return Err(ApiError::invalid(
                "signal",
                "must be a signal name such as mock_location, or any",
            ));
        }
    }
    let filter = TicketFilter {
        signature: q.signature,
        signal,
        statuses,
        kind: q.kind,
        grid: q.grid,
        since: q.since,
        until: q.until,
        overdue: q.overdue,
        by_due: q.sort == Some(TicketSort::DueAt),
        after_id,
        limit: super::page_size(q.limit, state.limits.max_page_size),
        ..TicketFilter::default()
    };
    let scope = user.scope();
    Ok(Json(
        blocking(move || state.store.tickets(scope, &filter)).await??,
    ))
}

fn with_etag(ticket: &Ticket, response: impl IntoResponse) -> Response {
    ([(ETAG, format!("\"{}\"", ticket.version))], response).into_response()
}

/// `GET /v1/tickets/{id}`, with the version as `ETag`.
pub async fn one(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = ticket_row(&state, &id)?;
    let scope = user.scope();
    // Supervisors and admins also see the evidence of tickets merged into this one.
    let merged = user.role.can_triage();
    let ticket = blocking(move || {
        let store = state.store.as_ref();
        match store.ticket(scope, id)? {
            Some(t) if merged => crate::duplicates::with_merged(store, t, id).map(Some),
            other => Ok(other),
        }
    })
    .await??
    .ok_or_else(|| ApiError::not_found("ticket"))?;
    Ok(with_etag(&ticket, Json(&ticket)))
}

/// The row of the ticket named by a path's `{id}`; an id that is not one is a 404, like a
/// ticket the caller cannot see.
fn ticket_row(state: &AppState, id: &str) -> Result<i64, ApiError> {
    state
        .store
        .ids()
        .parse_ticket_id(id)
        .ok_or_else(|| ApiError::not_found("ticket"))
}

/// `GET /v1/tickets/{id}/candidates`: open tickets nearby that may report the same problem,
/// best first, with score, photo similarity and reason. Same visibility as
/// `GET /v1/tickets/{id}` (a ticket the caller cannot see is 404); riders get 403 on their
/// own tickets, since candidates come from other riders' reports.
pub async fn candidates(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<CandidateList>, ApiError> {
    let id = ticket_row(&state, &id)?;
    let scope = user.scope();
    let triage = user.role.can_triage();
    let found = blocking(move || {
        let store = state.store.as_ref();
        if triage {
            crate::duplicates::candidates(store, scope, id).map(|c| c.ok_or(false))
        } else {
            // 403 only for what the caller can see; anything else stays a 404.
            Ok(Err(store.ticket(scope, id)?.is_some()))
        }
    })
    .await??;
    match found {
        Ok(list) => Ok(Json(list)),
        Err(true) => Err(ApiError::new(
            ErrorCode::Forbidden,
            "only supervisors and admins see duplicate candidates",
        )),
        Err(false) => Err(ApiError::not_found("ticket")),
    }
}

/// Reads `If-Match`: `"3"`, `W/"3"` or a bare `3`.
fn if_match(headers: &HeaderMap) -> Result<u64, ApiError> {
    let value = headers.get(IF_MATCH).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PreconditionRequired,
            "send the ticket version you saw as If-Match: \"<version>\"",
        )
        .with_field("If-Match")
    })?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::invalid("If-Match", "If-Match must be a ticket version, e.g. \"3\"")
        })
}

/// `POST /v1/tickets/{id}/actions`.
pub async fn act(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = ticket_row(&state, &id)?;
    let scope = user.scope();
    if !user.role.can_triage() {
        // 403 only for what the caller can see; anything else stays a 404.
        let store = state.store.clone();
        let visible = blocking(move || store.ticket(scope, id)).await??.is_some();
        return Err(if visible {
            ApiError::new(
                ErrorCode::Forbidden,
                "only supervisors and admins triage tickets",
            )
        } else {
            ApiError::not_found("ticket")
        });
    }
    let version = if_match(&headers)?;
    extract::require_content_type(&headers, &["application/json"])?;
    let raw = extract::read_body(&headers, body, state.limits.max_request_bytes).await?;
    let action: TriageAction = extract::parse_json(&raw)?;
    action.validate().map_err(ApiError::validation)?;
    let outcome = blocking(move || {
        state.store.act(
            &user,
            scope,
            id,
            version,
            &action,
            &state.policy,
            state.clock.now(),
        )
    })
    .await??;
    match outcome {
        ActionOutcome::Applied(ticket) => Ok(with_etag(&ticket, Json(&ticket))),
        ActionOutcome::NotFound => Err(ApiError::not_found("ticket")),
        ActionOutcome::Stale(ticket) => Err(ApiError::new(
            ErrorCode::VersionConflict,
            format!(
                "the ticket is at version {} now, not {version}; review it and retry",
                ticket.version
            ),
        )
        .with_field("If-Match")
        .with_header("etag", format!("\"{}\"", ticket.version))
        .with_ticket(ticket)),
        ActionOutcome::Invalid(ticket, e) => {
            Err(ApiError::new(ErrorCode::InvalidTransition, e.to_string())
                .with_field("action")
                .with_header("etag", format!("\"{}\"", ticket.version))
                .with_ticket(ticket))
        }
        ActionOutcome::BadField(e) => Err(ApiError::validation(e)),
    }
}
