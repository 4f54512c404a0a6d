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
use gridline_protocol::evidence::TicketEvidence;
use gridline_protocol::verification::VerificationClaim;
use gridline_protocol::wire::{BatchResponse, ErrorCode, ItemOutcome, ItemResult, Limits};
use gridline_protocol::{Catalog, FieldError, Report, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::account::User;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{self, Encoding};
use crate::state::{AppState, GridSnapshot};
use crate::store::Submission;
use crate::task::blocking;

/// The envelope, with reports kept as unparsed JSON text so each can fail on its own (a
/// number out of range in one report must not fail its neighbours).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    reports: Vec<Box<RawValue>>,
}

/// Just the id of a report, read from text that may not parse as a whole.
#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// How far ahead of the server's clock a report's times may be (a phone whose clock runs a
/// little fast); beyond it the report is refused, naming the field.
const MAX_CLOCK_AHEAD_MS: i64 = 2 * 24 * 3600 * 1000;

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
    let metrics = state.metrics.clone();
    let results = blocking(move || process(&state, &user, encoding, raw)).await??;
    for result in &results {
        metrics.ingested(result_name(&result.result), 1);
    }
    Ok(Json(BatchResponse { results }))
}

fn process(
    state: &AppState,
    user: &User,
    encoding: Encoding,
    raw: Bytes,
) -> Result<Vec<ItemOutcome>, ApiError> {
    let bytes = extract::decode(encoding, raw, state.limits.max_request_bytes)?;
    let now = state.clock.now();
    let grids = state.grids.current(&*state.store)?;
    let admissions = admit_batch(&state.catalog, &state.limits, &grids, &bytes, now)?;
    check_write_quota(state, user, admissions.len() as u64, now)?;
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
    check_evidence(state, user, &mut submissions, now)?;
    let stored = state.store.submit(user, &submissions, &state.policy, now)?;
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

/// Refuses `adding` more reports when `user` would exceed the server's write quota as of
/// `now` (`429 quota_exceeded`). Blocking.
pub fn check_write_quota(
    state: &AppState,
    user: &User,
    adding: u64,
    now: Timestamp,
) -> Result<(), ApiError> {
    let Some(quota) = state.write_quota else {
        return Ok(());
    };
    let since = Timestamp::from_millis(now.as_millis() - quota.per_ms);
    let recent = state.store.reports_since(user, since)?;
    if recent.saturating_add(adding) > quota.reports {
        return Err(ApiError::new(
            ErrorCode::QuotaExceeded,
            format!(
                "this account filed {recent} reports in the last {} h; at most {} are \
                 accepted in that time",
                quota.per_ms / 3_600_000,
                quota.reports
            ),
        )
        .with_header("retry-after", "3600"));
    }
    Ok(())
}

/// One report of a batch after [`admit_batch`]: ready to store, or rejected (with its id when
/// one could be read).
pub type Admission = Result<Submission, (Option<Uuid>, FieldError)>;

/// The store-free part of `POST /v1/reports:batch`: reads the (already decompressed) envelope,
/// then parses, validates and locates each report on its own, as of `now`. Request-level
/// problems (unreadable envelope, too many reports) are the `Err`; per-report problems are
/// rejected [`Admission`]s, one per report in request order. The fuzz targets (`fuzz/`) drive
/// the handler through it.
pub fn admit_batch(
    catalog: &Catalog,
    limits: &Limits,
    grids: &GridSnapshot,
    bytes: &[u8],
    now: Timestamp,
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
        .map(|raw| {
            let id = serde_json::from_str::<IdOnly>(raw.get())
                .ok()
                .and_then(|r| r.id)
                .and_then(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()));
            admit(catalog, limits, grids, &raw, now).map_err(|e| (id, e))
        })
        .collect())
}

/// Checks one report and prepares it for storage.
fn admit(
    catalog: &Catalog,
    limits: &Limits,
    grids: &GridSnapshot,
    raw: &RawValue,
    now: Timestamp,
) -> Result<Submission, FieldError> {
    let value: serde_json::Value = serde_json::from_str(raw.get())
        .map_err(|e| FieldError::new("report", format!("is not valid JSON: {e}")))?;
    let report: Report = extract::from_value(value)?;
    admit_report(catalog, limits, grids, report, now)
}

/// Checks one parsed report as of `now` (the catalog, times, photo sizes) and locates it
/// into a grid: what every channel does before [`Store::submit`](crate::store::Store::submit)
/// (a device's batch here, an Open311 request in `crate::open311`).
pub fn admit_report(
    catalog: &Catalog,
    limits: &Limits,
    grids: &GridSnapshot,
    report: Report,
    now: Timestamp,
) -> Result<Submission, FieldError> {
    catalog.validate_report(&report)?;
    let latest = Timestamp::from_millis(now.as_millis() + MAX_CLOCK_AHEAD_MS);
    for (field, at) in [
        ("created_at", report.created_at),
        ("submitted_at", report.submitted_at),
        ("location.fix_time", report.location.fix_time),
    ] {
        if at > latest {
            return Err(FieldError::new(
                field,
                format!("{at} is in the future (the server's clock says {now})"),
            ));
        }
    }
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
    // The server decides the grid from the point, with the same shared-edge rule as the
    // device; the device's grid id is only a hint, and a wrong or stale one (or a claim of a
    // grid the point is not in) never moves a ticket into another supervisor's worklist.
    let grid_id = grids
        .locator
        .locate(report.location.lat, report.location.lon);
    if report.grid_id.is_some() && report.grid_id != grid_id {
        tracing::debug!(
            report = %report.id,
            device = ?report.grid_id,
            server = ?grid_id,
            "the device's grid differs from the point's; using the point's"
        );
    }
    let canonical_json = serde_json::to_string(&report)
        .map_err(|e| FieldError::new("report", format!("cannot be stored: {e}")))?;
    let content_hash = Sha256::digest(canonical_json.as_bytes()).into();
    let verification = VerificationClaim::of(&report)?;
    Ok(Submission {
        report,
        canonical_json,
        content_hash,
        grid_id,
        verification,
        evidence: None,
    })
}

/// Checks each report's device signature ([`crate::evidence::check`]), looking each key up
/// once per batch (a device signs a whole batch with one key), and computes its fraud signals.
fn check_evidence(
    state: &AppState,
    user: &User,
    submissions: &mut [Submission],
    now: Timestamp,
) -> Result<(), ApiError> {
    let reports: Vec<&Report> = submissions.iter().map(|s| &s.report).collect();
    let inputs =
        crate::evidence::batch_signal_inputs(&*state.store, state.store.ids(), user, &reports)?;
    let mut keys = std::collections::HashMap::new();
    for s in submissions.iter() {
        if let Some(sig) = &s.report.signature
            && !keys.contains_key(&sig.key_id)
        {
            let found = state.store.device_key(&sig.key_id)?;
            keys.insert(
                sig.key_id.clone(),
                found.map(crate::evidence::KnownKey::new),
            );
        }
    }
    let check = |s: &Submission| {
        let key = s
            .report
            .signature
            .as_ref()
            .and_then(|sig| keys.get(&sig.key_id)?.as_ref());
        crate::evidence::check(&s.report, user, key, now)
    };
    // Signature checks are most of a batch's CPU time and independent: they run on the
    // cores there are, in chunks, the last one on this thread.
    let mut records: Vec<TicketEvidence> = Vec::with_capacity(submissions.len());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(submissions.len().div_ceil(MIN_CHECKS_PER_THREAD))
        .max(1);
    let chunk = submissions.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let mut chunks = submissions.chunks(chunk);
        let last = chunks.next_back();
        let workers: Vec<_> = chunks
            .map(|c| scope.spawn(|| c.iter().map(check).collect::<Vec<_>>()))
            .collect();
        let tail: Vec<_> = last.unwrap_or_default().iter().map(check).collect();
        for w in workers {
            // A panicking check is a bug; the batch fails as a whole rather than half-checked.
            records.extend(
                w.join()
                    .map_err(|_| ApiError::internal("signature check failed"))?,
            );
        }
        records.extend(tail);
        Ok::<_, ApiError>(())
    })?;
    for ((s, inputs), mut evidence) in submissions.iter_mut().zip(inputs).zip(records) {
        evidence.signals = gridline_core::signals::fraud_signals(&s.report, &inputs);
        s.evidence = Some(evidence);
    }
    Ok(())
}

/// Below this many reports per thread, checking on another thread costs more than it saves.
const MIN_CHECKS_PER_THREAD: usize = 32;

/// The metric label of an item result.
fn result_name(result: &ItemResult) -> &'static str {
    match result {
        ItemResult::Accepted { .. } => "accepted",
        ItemResult::AlreadyAccepted { .. } => "already_accepted",
        ItemResult::Conflict { .. } => "conflict",
        ItemResult::Rejected { .. } => "rejected",
    }
}
