//! `POST /v1/reports:batch`: validate each report on its own, store the valid ones in one
//! transaction, answer one result per report in request order.
//!
//! Only request-level problems fail the whole request (authentication, content type, size,
//! unreadable JSON envelope, too many reports); a bad report is a `rejected` item and never
//! stops its neighbours.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use gridline_protocol::wire::{BatchResponse, ErrorCode, ItemOutcome, ItemResult, Limits};
use gridline_protocol::{Catalog, FieldError, Report, Timestamp};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Caller, User};
use crate::error::ApiError;
use crate::extract::{self, Encoding};
use crate::state::{AppState, GridSnapshot, blocking};
use crate::store::Submission;

/// The envelope, with reports kept as raw JSON so each can fail on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    reports: Vec<serde_json::Value>,
}

/// The handler.
pub async fn batch(
    State(state): State<AppState>,
    Caller(user): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BatchResponse>, ApiError> {
    extract::require_content_type(&headers, &["application/json"])?;
    let encoding = extract::content_encoding(&headers)?;
    let raw = extract::read_body(&headers, body, state.limits.max_request_bytes).await?;
    let results = blocking(move || process(&state, &user, encoding, raw)).await??;
    Ok(Json(BatchResponse { results }))
}

fn process(
    state: &AppState,
    user: &User,
    encoding: Encoding,
    raw: Bytes,
) -> Result<Vec<ItemOutcome>, ApiError> {
    let bytes = extract::decode(encoding, raw, state.limits.max_request_bytes)?;
    let grids = state.grids.current(&*state.store)?;
    let admissions = admit_batch(&state.catalog, &state.limits, &grids, &bytes)?;
    let mut outcomes: Vec<Option<ItemOutcome>> = Vec::with_capacity(admissions.len());
    let mut submissions = Vec::new();
    let mut positions = Vec::new();
    for admission in admissions {
        match admission {
            Ok(submission) => {
                positions.push(outcomes.len());
                submissions.push(submission);
                outcomes.push(None);
            }
            Err((id, FieldError { field, reason })) => outcomes.push(Some(ItemOutcome {
                id,
                result: ItemResult::Rejected { field, reason },
            })),
        }
    }
    let stored = state.store.submit(user, &submissions, Timestamp::now())?;
    for ((position, submission), result) in positions.into_iter().zip(&submissions).zip(stored) {
        outcomes[position] = Some(ItemOutcome {
            id: Some(submission.report.id),
            result,
        });
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| ApiError::internal("the store skipped a report of the batch")))
        .collect()
}

/// One report of a batch after [`admit_batch`]: ready to store, or rejected (with its id when
/// one could be read).
pub type Admission = Result<Submission, (Option<Uuid>, FieldError)>;

/// The store-free part of `POST /v1/reports:batch`: reads the (already decompressed) envelope,
/// then parses, validates and locates each report on its own. Request-level problems (unreadable
/// envelope, too many reports) are the `Err`; per-report problems are rejected [`Admission`]s,
/// one per report in request order. The fuzz targets (`fuzz/`) drive the handler through it.
pub fn admit_batch(
    catalog: &Catalog,
    limits: &Limits,
    grids: &GridSnapshot,
    bytes: &[u8],
) -> Result<Vec<Admission>, ApiError> {
    let envelope: Envelope = extract::parse_json(bytes)?;
    let max = limits.max_reports_per_batch as usize;
    if envelope.reports.len() > max {
        return Err(ApiError::new(
            ErrorCode::BatchTooLarge,
            format!(
                "{} reports in one batch; at most {max} are accepted",
                envelope.reports.len()
            ),
        )
        .with_field("reports"));
    }
    Ok(envelope
        .reports
        .into_iter()
        .map(|value| {
            let id = value
                .get("id")
                .and_then(serde_json::Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok());
            admit(catalog, limits, grids, value).map_err(|e| (id, e))
        })
        .collect())
}

/// Checks one report and prepares it for storage.
fn admit(
    catalog: &Catalog,
    limits: &Limits,
    grids: &GridSnapshot,
    value: serde_json::Value,
) -> Result<Submission, FieldError> {
    let report: Report = extract::from_value(value)?;
    catalog.validate_report(&report)?;
    let max_photo = limits.max_photo_bytes;
    if let Some((i, p)) = report
        .photos
        .iter()
        .enumerate()
        .find(|(_, p)| p.bytes > max_photo)
    {
        return Err(FieldError::new(
            format!("photos.{i}.bytes"),
            format!("{} bytes; photos may be at most {max_photo} bytes", p.bytes),
        ));
    }
    // The device's grid is kept when the server knows it (device and server then agree); an
    // unknown or missing grid is located from the point.
    let grid_id = match &report.grid_id {
        Some(g) if grids.ids.contains(g) => Some(g.clone()),
        _ => grids
            .locator
            .locate(report.location.lat, report.location.lon),
    };
    let canonical_json = serde_json::to_string(&report)
        .map_err(|e| FieldError::new("report", format!("cannot be stored: {e}")))?;
    let content_hash = Sha256::digest(canonical_json.as_bytes()).into();
    Ok(Submission {
        report,
        canonical_json,
        content_hash,
        grid_id,
    })
}
