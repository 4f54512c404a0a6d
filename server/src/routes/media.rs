//! `HEAD|PATCH|GET /v1/media/{sha256}`: resumable, content-addressed photo upload (the rules are
//! in `gridline_protocol::wire::media`) and download.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gridline_protocol::Timestamp;
use gridline_protocol::report::is_sha256_hex;
use gridline_protocol::wire::ErrorCode;
use gridline_protocol::wire::media::{OFFSET_CONTENT_TYPE, UPLOAD_LENGTH, UPLOAD_OFFSET};
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use crate::auth::{Caller, User};
use crate::error::ApiError;
use crate::extract::require_content_type;
use crate::state::{AppState, blocking};
use crate::store::MediaClaim;

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

/// The caller's claim on `sha256`, noticing a verified file whose database record was lost
/// (a crash between the rename and the insert): the file's presence proves it was verified.
async fn claim(state: &AppState, user: &User, sha256: &str) -> Result<MediaClaim, ApiError> {
    let (store, media, user, sha) = (
        state.store.clone(),
        state.media.clone(),
        user.clone(),
        sha256.to_string(),
    );
    blocking(move || {
        let Some(mut claim) = store.media_claim(&user, &sha)? else {
            return Err(ApiError::not_found("photo among your reports"));
        };
        if !claim.complete && media.complete_path(&sha).is_file() {
            store.media_stored(&sha, claim.declared_bytes, Timestamp::now())?;
            claim.complete = true;
        }
        Ok(claim)
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

/// `HEAD`: how much of the photo the server holds.
pub async fn head(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&sha256)?;
    let _turn = state.uploads.lock(&sha256).await;
    let claim = claim(&state, &user, &sha256).await?;
    let offset = if claim.complete {
        claim.declared_bytes
    } else {
        let (media, store, length) = (
            state.media.clone(),
            state.store.clone(),
            claim.declared_bytes,
        );
        blocking(move || -> Result<u64, ApiError> {
            let held = media.partial_len(&sha256).map_err(ApiError::internal)?;
            if held != length || length == 0 {
                return Ok(held);
            }
            // Every byte arrived but the PATCH that brought the last ones was cut off (client
            // gone) before the hash was checked: finish it now, so "offset == length" keeps
            // meaning "complete and verified".
            if media.finish(&sha256).map_err(ApiError::internal)? {
                store.media_stored(&sha256, length, Timestamp::now())?;
                Ok(length)
            } else {
                Ok(0)
            }
        })
        .await??
    };
    Ok((StatusCode::OK, offsets(offset, claim.declared_bytes)).into_response())
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

/// `PATCH`: appends the body at `Upload-Offset`; verifies and stores the photo when complete.
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
    let _turn = state.uploads.lock(&sha256).await;
    let claim = claim(&state, &user, &sha256).await?;
    let length = claim.declared_bytes;
    if length > state.limits.max_photo_bytes {
        return Err(ApiError::new(
            ErrorCode::UploadTooLarge,
            format!(
                "photos may be at most {} bytes",
                state.limits.max_photo_bytes
            ),
        ));
    }
    if claim.complete {
        return if offset == length {
            Ok((StatusCode::NO_CONTENT, offsets(length, length)).into_response())
        } else {
            Err(mismatch(length, length))
        };
    }
    let media = state.media.clone();
    let name = sha256.clone();
    let held = blocking(move || media.partial_len(&name))
        .await?
        .map_err(ApiError::internal)?;
    if offset != held {
        return Err(mismatch(held, length));
    }
    let declared_body = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_body.is_some_and(|n| held.saturating_add(n) > length) {
        state
            .media
            .discard_partial(&sha256)
            .map_err(ApiError::internal)?;
        return Err(too_long(length));
    }
    let written = append(&state, &sha256, body, held, length).await?;
    if written == length {
        let media = state.media.clone();
        let name = sha256.clone();
        let verified = blocking(move || media.finish(&name))
            .await?
            .map_err(ApiError::internal)?;
        if !verified {
            return Err(ApiError::new(
                ErrorCode::HashMismatch,
                "the bytes do not hash to the photo's name; nothing was kept, start again from 0",
            ));
        }
        let store = state.store.clone();
        blocking(move || store.media_stored(&sha256, length, Timestamp::now())).await??;
    }
    Ok((StatusCode::NO_CONTENT, offsets(written, length)).into_response())
}

/// Streams the body onto the partial file; returns the new offset. Bytes that arrived before
/// the client vanished are kept (that is what makes the upload resumable); bytes beyond the
/// declared length discard the whole upload.
async fn append(
    state: &AppState,
    sha256: &str,
    mut body: Body,
    held: u64,
    length: u64,
) -> Result<u64, ApiError> {
    let path = state.media.partial_path(sha256);
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .await
        .map_err(ApiError::internal)?;
    let mut written = held;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                file.flush().await.map_err(ApiError::internal)?;
                return Err(ApiError::invalid(
                    "body",
                    format!("the upload was interrupted ({e}); HEAD for the offset and resume"),
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if written.saturating_add(data.len() as u64) > length {
            drop(file);
            state
                .media
                .discard_partial(sha256)
                .map_err(ApiError::internal)?;
            return Err(too_long(length));
        }
        file.write_all(&data).await.map_err(ApiError::internal)?;
        written += data.len() as u64;
    }
    file.flush().await.map_err(ApiError::internal)?;
    Ok(written)
}

/// `GET`: the verified photo, for anyone who can see a ticket listing it.
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
    match tokio::fs::read(state.media.complete_path(&sha256)).await {
        Ok(bytes) => Ok((
            [
                (CONTENT_TYPE, "image/jpeg"),
                (CACHE_CONTROL, "private, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::new(
            ErrorCode::NotFound,
            "the photo has not been uploaded yet",
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}
