//! `POST /v1/device-keys`: a device registers the public half of its signing key, tied to the
//! caller's account. Registering the same key again is harmless (200); a new key is 201. A key
//! another account registered, or one an administrator revoked, is refused (409 `key_conflict`):
//! the device should make a new key.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gridline_protocol::Timestamp;
use gridline_protocol::evidence::{self, DeviceKey, DeviceKeyRegistration};
use gridline_protocol::wire::ErrorCode;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract;
use crate::state::AppState;
use crate::store::evidence::{KeyRegistration, NewDeviceKey};
use crate::task::blocking;

/// Most bytes of a registration body (a key is 64 hex digits).
const MAX_BODY: u64 = 4096;

/// The handler.
pub async fn register(
    State(state): State<AppState>,
    Caller(user): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DeviceKey>), ApiError> {
    extract::require_content_type(&headers, &["application/json"])?;
    let raw = extract::read_body(&headers, body, MAX_BODY).await?;
    let reg: DeviceKeyRegistration = extract::parse_json(&raw)?;
    let public_key = evidence::parse_public_key(&reg).map_err(ApiError::validation)?;
    let key = NewDeviceKey {
        key_id: evidence::key_id(&public_key),
        algorithm: reg.algorithm,
        public_key,
    };
    let outcome = blocking(move || {
        state
            .store
            .register_device_key(&user, &key, Timestamp::now())
    })
    .await??;
    match outcome {
        KeyRegistration::Registered(k) => Ok((StatusCode::CREATED, Json(k))),
        KeyRegistration::Already(k) => Ok((StatusCode::OK, Json(k))),
        KeyRegistration::Taken => Err(ApiError::new(
            ErrorCode::KeyConflict,
            "this key is registered to another account; make a new key",
        )
        .with_field("public_key")),
        KeyRegistration::Revoked(k) => Err(ApiError::new(
            ErrorCode::KeyConflict,
            format!(
                "key {} was revoked on {}; make a new key",
                k.key_id,
                k.revoked_at.map(|t| t.to_string()).unwrap_or_default()
            ),
        )
        .with_field("public_key")),
    }
}
