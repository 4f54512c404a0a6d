//! Errors, in two layers (as in application-services): [`ServerError`], rich, for the library
//! API (starting a server, admin tasks); and [`ApiError`], what an HTTP client sees — a status,
//! a stable [`ErrorCode`] and the `{code, message, field?}` body. Faults inside the server
//! (database, I/O) are logged in full and reach the client only as `500 internal`.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridline_protocol::FieldError;
use gridline_protocol::wire::{ErrorBody, ErrorCode, Ticket};

use crate::store::StoreError;

/// Failures of the library API.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Reading or writing the data folder, or binding the socket.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Input to an admin task (a user, a GeoJSON file) is unacceptable.
    #[error("invalid input: {0}")]
    Invalid(FieldError),
    /// The server task ended abnormally.
    #[error("server stopped: {0}")]
    Stopped(String),
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    field: Option<String>,
    ticket: Option<Box<Ticket>>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with `code` and a human-readable `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            ticket: None,
            headers: Vec::new(),
        }
    }

    /// Names the offending field, header or parameter.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Attaches the ticket as it is now (conflicts).
    pub fn with_ticket(mut self, ticket: Box<Ticket>) -> Self {
        self.ticket = Some(ticket);
        self
    }

    /// Adds a response header; values that are not valid header text are dropped.
    pub fn with_header(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.push((HeaderName::from_static(name), v));
        }
        self
    }

    /// `422 validation_failed` for a rule broken by `error.field`.
    pub fn validation(error: FieldError) -> Self {
        Self::new(ErrorCode::ValidationFailed, error.reason).with_field(error.field)
    }

    /// `400 invalid_request` about `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message).with_field(field)
    }

    /// `404 not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    /// `500 internal`: logs `cause` and tells the client nothing more.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            ErrorCode::Internal,
            "internal server error; try again later",
        )
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The value of response header `name` this error adds, if any (`retry-after`).
    pub fn header_value(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            code: self.code,
            message: self.message,
            field: self.field,
            ticket: self.ticket,
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}
