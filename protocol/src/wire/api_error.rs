//! The one error body of every non-2xx response: `{code, message, field?}`.
//!
//! `code` is stable and machine-readable; `message` is for people and may change; `field`
//! names the offending input (dotted path, header or query parameter) when there is one.

use serde::{Deserialize, Serialize};

use super::Ticket;

/// Stable error codes. Clients must treat the set as open: unknown codes read as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no bearer token, or one the server does not know.
    Unauthorized,
    /// 401: the token is known but expired.
    TokenExpired,
    /// 403: authenticated, but the role may not do this.
    Forbidden,
    /// 404: no such resource, or one the caller may not see (existence is not revealed).
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 400: the body is not JSON, or not the expected shape (including unknown fields).
    MalformedJson,
    /// 400: a bad query parameter, header or path segment.
    InvalidRequest,
    /// 415: wrong `Content-Type` or `Content-Encoding`.
    UnsupportedMediaType,
    /// 413: the body is larger than `Limits::max_request_bytes`.
    BodyTooLarge,
    /// 413: more reports than `Limits::max_reports_per_batch`.
    BatchTooLarge,
    /// 422: a well-formed request breaks a rule; `field` says which.
    ValidationFailed,
    /// 409: `If-Match` names an old version; the body carries the current ticket.
    VersionConflict,
    /// 409: the action is not allowed from the ticket's status; the body carries the ticket.
    InvalidTransition,
    /// 428: `If-Match` is required and missing.
    PreconditionRequired,
    /// 409: `Upload-Offset` differs from the server's; resume from the returned offset.
    OffsetMismatch,
    /// 422: the uploaded bytes do not hash to the name; nothing was kept.
    HashMismatch,
    /// 413: the upload is longer than declared or than `Limits::max_photo_bytes`; nothing was kept.
    UploadTooLarge,
    /// 409: another request of the same account is uploading this photo; retry shortly.
    UploadBusy,
    /// 429: too many requests for this token; see `Retry-After`.
    RateLimited,
    /// 429: the account's unfinished uploads or writes are at their quota; see `Retry-After`.
    QuotaExceeded,
    /// 409: the device key is registered to another account, or was revoked: make a new key.
    KeyConflict,
    /// 503: the request took too long and was abandoned; retry later.
    Timeout,
    /// 500: a server fault; retry later.
    Internal,
    /// A code this client version does not know.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status the server sends with this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Unauthorized | Self::TokenExpired => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::MalformedJson | Self::InvalidRequest => 400,
            Self::UnsupportedMediaType => 415,
            Self::BodyTooLarge | Self::BatchTooLarge | Self::UploadTooLarge => 413,
            Self::ValidationFailed | Self::HashMismatch => 422,
            Self::VersionConflict
            | Self::InvalidTransition
            | Self::OffsetMismatch
            | Self::UploadBusy
            | Self::KeyConflict => 409,
            Self::PreconditionRequired => 428,
            Self::RateLimited | Self::QuotaExceeded => 429,
            Self::Timeout => 503,
            Self::Internal | Self::Unknown => 500,
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// The offending field, header or parameter, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The ticket as it is now, with `version_conflict` and `invalid_transition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Box<Ticket>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_open_for_clients() {
        let body = ErrorBody {
            code: ErrorCode::VersionConflict,
            message: "stale".into(),
            field: None,
            ticket: None,
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(json, r#"{"code":"version_conflict","message":"stale"}"#);
        let future: ErrorBody =
            serde_json::from_str(r#"{"code":"quota_exceeded_v9","message":"x","new":1}"#).unwrap();
        assert_eq!(future.code, ErrorCode::Unknown);
    }
}
