//! `HEAD|PATCH|GET /v1/media/{sha256}`: resumable, content-addressed photo upload (the rules are
//! in `gridline_protocol::wire::media`) and download.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use gridline_protocol::Timestamp;
use gridline_protocol::report::is_sha256_hex;
use gridline_protocol::wire::ErrorCode;
use gridline_protocol::wire::media::{OFFSET_CONTENT_TYPE, UPLOAD_LENGTH, UPLOAD_OFFSET};
use http_body_util::BodyExt;

use crate::account::User;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::require_content_type;
use crate::media::Finished;
use crate::state::AppState;
use crate::store::{MediaClaim, UploadStart};
use crate::task::blocking;

fn check_name(sha256: &str) -> Result<(), ApiError> {
    if is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "sha256",
            "a photo is named by 64 lowercase hex digits of its SHA-256",
        ))
    }
}

/// The caller's claim on `sha256`. (Verified bytes whose database record was lost in a crash
/// heal themselves: the account's HEAD reads 0, it sends the bytes again, and `finish` finds
/// them stored and records the account as their holder.)
async fn claim(state: &AppState, user: &User, sha256: &str) -> Result<MediaClaim, ApiError> {
    let (store, user, sha) = (state.store.clone(), user.clone(), sha256.to_string());
    blocking(move || {
        store
            .media_claim(&user, &sha)?
            .ok_or_else(|| ApiError::not_found("photo among your reports"))
    })
    .await?
}

fn offsets(offset: u64, length: u64) -> [(&'static str, String); 3] {
    [
        (UPLOAD_OFFSET, offset.to_string()),
        (UPLOAD_LENGTH, length.to_string()),
        ("cache-control", "no-store".to_string()),
    ]
}

/// The caller's turn at their upload of a photo: this process's lock and, when instances
/// share the database, the store's lease, released when dropped.
struct Turn {
    _local: tokio::sync::OwnedMutexGuard<()>,
    lease: Option<(AppState, i64, String)>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some((state, user, sha256)) = self.lease.take() {
            // Released off the request path; an unreleased lease just runs out.
            tokio::task::spawn_blocking(move || {
                if let Some(shared) = state.store.coordination() {
                    let _ = shared.release_upload(user, &sha256, &state.instance);
                }
            });
        }
    }
}

fn busy() -> ApiError {
    ApiError::new(
        ErrorCode::UploadBusy,
        "another request of yours is still uploading this photo; retry shortly",
    )
    .with_header("retry-after", "1")
}

/// Takes the caller's turn at their upload of `sha256`, or answers "busy, retry" when another
/// request of theirs holds it for longer than the wait (a stalled connection of the same
/// device, on this instance or another; it ends at the upload idle timeout).
async fn turn(state: &AppState, user: &User, sha256: &str) -> Result<Turn, ApiError> {
    let wait = state.upload_policy.lock_wait;
    let local = state
        .uploads
        .lock(user.id, sha256, wait)
        .await
        .ok_or_else(busy)?;
    if state.store.coordination().is_none() {
        return Ok(Turn {
            _local: local,
            lease: None,
        });
    }
    // The lease outlives the longest request, so it only runs out for a crashed instance.
    let hold = state.request_timeout + state.upload_policy.idle_timeout;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let (store, instance, id, sha) = (
            state.store.clone(),
            state.instance.clone(),
            user.id,
            sha256.to_string(),
        );
        let taken = blocking(move || {
            let now = Timestamp::now();
            let until = Timestamp::from_millis(
                now.as_millis() + i64::try_from(hold.as_millis()).unwrap_or(i64::MAX / 2),
            );
            store.coordination().map_or(Ok(true), |c| {
                c.lease_upload(id, &sha, &instance, until, now)
            })
        })
        .await??;
        if taken {
            return Ok(Turn {
                _local: local,
                lease: Some((state.clone(), user.id, sha256.to_string())),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(busy());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Verifies the caller's finished upload and records it; the error says why it was dropped.
async fn finish(state: &AppState, user: &User, sha256: &str, length: u64) -> Result<(), ApiError> {
    let (media, store, user, sha) = (
        state.media.clone(),
        state.store.clone(),
        user.clone(),
        sha256.to_string(),
    );
    let finished = media
        .finish(user.id, &sha)
        .await
        .map_err(ApiError::internal)?;
    state.metrics.photo(match &finished {
        Finished::Verified(_) => "verified",
        Finished::HashMismatch => "hash_mismatch",
        Finished::NotAPhoto(_) => "not_a_photo",
    });
    blocking(move || match finished {
        Finished::Verified(phash) => {
            let now = Timestamp::now();
            // The hash first: a crash in between leaves a hash without its media row, which
            // is harmless, never a stored photo without its hash.
            store.photo_hash_stored(&sha, phash, now)?;
            store.media_stored(&user, &sha, length, now)?;
            Ok(())
        }
        Finished::HashMismatch => {
            store.upload_close(user.id, &sha)?;
            Err(ApiError::new(
                ErrorCode::HashMismatch,
                "the bytes do not hash to the photo's name; nothing was kept, start again \
                     from 0",
            ))
        }
        Finished::NotAPhoto(why) => {
            store.upload_close(user.id, &sha)?;
            Err(ApiError::new(
                ErrorCode::ValidationFailed,
                format!(
                    "the bytes are not a JPEG photo this server can read ({why}); nothing was kept"
                ),
            )
            .with_field("body"))
        }
    })
    .await?
}

/// `HEAD`: how much of the photo the server holds for this account. Another account's
/// progress is never visible; a photo the account has not itself uploaded reads as 0 even when
/// someone else's copy is stored.
pub async fn head(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&sha256)?;
    let _turn = turn(&state, &user, &sha256).await?;
    let claim = claim(&state, &user, &sha256).await?;
    let length = claim.declared_bytes;
    let offset = if claim.held {
        length
    } else {
        let held = state
            .media
            .partial_len(user.id, &sha256)
            .await
            .map_err(ApiError::internal)?;
        if held == length && length > 0 {
            // Every byte arrived but the PATCH that brought the last ones was cut off (client
            // gone) before they were checked: finish now, so "offset == length" keeps meaning
            // "complete and verified". Bad bytes are dropped and the upload starts over.
            match finish(&state, &user, &sha256, length).await {
                Ok(()) => length,
                Err(_) => 0,
            }
        } else {
            // Never more than the length: a partial file cannot outgrow it (see `append`).
            held.min(length)
        }
    };
    Ok((StatusCode::OK, offsets(offset, length)).into_response())
}

fn mismatch(server_offset: u64, length: u64) -> ApiError {
    ApiError::new(
        ErrorCode::OffsetMismatch,
        format!("the server holds {server_offset} bytes; continue from there"),
    )
    .with_field("Upload-Offset")
    .with_header(UPLOAD_OFFSET, server_offset.to_string())
    .with_header(UPLOAD_LENGTH, length.to_string())
}

fn too_long(length: u64) -> ApiError {
    ApiError::new(
        ErrorCode::UploadTooLarge,
        format!("more bytes than the {length} declared; nothing was kept, start again from 0"),
    )
}

/// `PATCH`: appends the body at `Upload-Offset` to the caller's own upload; verifies and
/// stores the photo when complete.
pub async fn upload(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_name(&sha256)?;
    require_content_type(&headers, &[OFFSET_CONTENT_TYPE, "application/octet-stream"])?;
    let offset = headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "Upload-Offset",
                "an Upload-Offset header (bytes) is required",
            )
        })?;
    let _turn = turn(&state, &user, &sha256).await?;
    let claim = claim(&state, &user, &sha256).await?;
    let length = claim.declared_bytes;
    if length > state.limits.max_photo_bytes || length == 0 {
        return Err(ApiError::new(
            ErrorCode::UploadTooLarge,
            format!(
                "photos may be 1 to {} bytes; this report declared {length}",
                state.limits.max_photo_bytes
            ),
        ));
    }
    if claim.held {
        return if offset == length {
            Ok((StatusCode::NO_CONTENT, offsets(length, length)).into_response())
        } else {
            Err(mismatch(length, length))
        };
    }
    let held = state
        .media
        .partial_len(user.id, &sha256)
        .await
        .map_err(ApiError::internal)?;
    if offset != held {
        return Err(mismatch(held.min(length), length));
    }
    let declared_body = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_body.is_some_and(|n| held.saturating_add(n) > length) {
        discard(&state, &user, &sha256).await?;
        return Err(too_long(length));
    }
    let (store, who, name, quota) = (
        state.store.clone(),
        user.clone(),
        sha256.clone(),
        state.upload_policy.pending_quota,
    );
    let start =
        blocking(move || store.upload_open(&who, &name, length, quota, Timestamp::now())).await??;
    if let UploadStart::OverQuota { pending } = start {
        return Err(ApiError::new(
            ErrorCode::QuotaExceeded,
            format!(
                "{pending} bytes of your uploads are unfinished; finish them (or wait for them \
                 to expire) before starting another"
            ),
        )
        .with_header("retry-after", "60"));
    }
    let written = append(&state, &user, &sha256, body, held, length).await;
    let (store, who, name) = (state.store.clone(), user.clone(), sha256.clone());
    blocking(move || store.upload_touch(&who, &name, Timestamp::now())).await??;
    let written = written?;
    if written == length {
        finish(&state, &user, &sha256, length).await?;
    }
    Ok((StatusCode::NO_CONTENT, offsets(written, length)).into_response())
}

/// Deletes the caller's upload of `sha256`: its bytes and its session.
async fn discard(state: &AppState, user: &User, sha256: &str) -> Result<(), ApiError> {
    state
        .media
        .discard_partial(user.id, sha256)
        .await
        .map_err(ApiError::internal)?;
    let (store, id, sha) = (state.store.clone(), user.id, sha256.to_string());
    blocking(move || store.upload_close(id, &sha).map_err(ApiError::from)).await?
}

/// Bytes a `PATCH` gathers before handing them to the media store: each hand-over is one
/// piece in an object store, so not too small; what arrived before an interruption is kept.
const PIECE_BYTES: usize = 1 << 20;

/// Streams the body into the caller's upload; returns the new offset. Bytes that arrived
/// before the client vanished (or went quiet for the idle timeout) are kept: that is what makes
/// the upload resumable. Bytes beyond the declared length discard the whole upload.
async fn append(
    state: &AppState,
    user: &User,
    sha256: &str,
    mut body: Body,
    held: u64,
    length: u64,
) -> Result<u64, ApiError> {
    let mut written = held;
    let mut pending = BytesMut::new();
    let idle = state.upload_policy.idle_timeout;
    let keep = |pending: BytesMut, at: u64| async move {
        let n = pending.len() as u64;
        state
            .media
            .append(user.id, sha256, at, pending.freeze())
            .await
            .map_err(ApiError::internal)?;
        Ok::<u64, ApiError>(at + n)
    };
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                let kept = keep(pending, written).await?;
                return Err(ApiError::new(
                    ErrorCode::Timeout,
                    format!(
                        "no bytes arrived for {} s; {kept} are kept, HEAD for the offset and \
                         resume",
                        idle.as_secs()
                    ),
                )
                .with_header("retry-after", "1"));
            }
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                keep(pending, written).await?;
                return Err(ApiError::invalid(
                    "body",
                    format!("the upload was interrupted ({e}); HEAD for the offset and resume"),
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let arrived = written + pending.len() as u64;
        if arrived.saturating_add(data.len() as u64) > length {
            discard(state, user, sha256).await?;
            return Err(too_long(length));
        }
        pending.extend_from_slice(&data);
        if pending.len() >= PIECE_BYTES {
            written = keep(std::mem::take(&mut pending), written).await?;
        }
    }
    keep(pending, written).await
}

/// `GET`: the verified photo, for anyone who can see a ticket whose reporter uploaded it.
pub async fn download(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&sha256)?;
    let store = state.store.clone();
    let scope = user.scope();
    let name = sha256.clone();
    let visible = blocking(move || store.media_visible(scope, &name)).await??;
    if !visible {
        return Err(ApiError::not_found("photo"));
    }
    match state.media.read(&sha256).await {
        Ok(Some(bytes)) => Ok((
            [
                (CONTENT_TYPE, "image/jpeg"),
                (CACHE_CONTROL, "private, max-age=31536000, immutable"),
                (CONTENT_DISPOSITION, "inline"),
            ],
            bytes,
        )
            .into_response()),
        Ok(None) => Err(ApiError::new(
            ErrorCode::NotFound,
            "the photo has not been uploaded yet",
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}
