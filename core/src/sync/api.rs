//! The grid server's v1 API as the device calls it: builds each request, sends it through the
//! host's (or the default) transport with the bearer token, and reads the answer. A refused
//! token is refreshed once per call; every other decision is the engine's.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use gridline_protocol::wire::{
    BatchResponse, CandidateList, ChangesPage, ErrorBody, Limits, TaskPage, Ticket, TicketPage,
    TicketQuery, TriageAction, media, paths,
};
use serde::de::DeserializeOwned;

use super::policy::{Verdict, judge};
use crate::transport::{HttpRequest, HttpResponse, HttpTransport, TokenProvider};

/// Why a call did not produce what was asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Try again later (no answer, 5xx, 429, 408).
    Retry {
        /// What happened.
        reason: String,
        /// The server's `Retry-After`.
        after: Option<Duration>,
    },
    /// The token provider failed, or a fresh token was refused too.
    Auth(String),
    /// 413: the request was larger than the server accepts.
    TooLarge {
        /// Words for the log.
        reason: String,
        /// True when the refusal came with a Gridline error body (not a proxy's page).
        from_server: bool,
    },
    /// The answer breaks the protocol (too large, or not what was asked for): a broken or
    /// hostile server, or a proxy in the way. The run ends; nothing is marked on its word.
    Protocol(String),
    /// A final refusal of this request.
    Permanent {
        /// HTTP status (0 when no request was made).
        status: u16,
        /// The server's error body, when it sent one.
        body: Option<ErrorBody>,
        /// Words for the log.
        reason: String,
    },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Retry { reason, .. } => write!(f, "{reason} (will retry)"),
            CallError::Auth(r) => write!(f, "authentication failed: {r}"),
            CallError::TooLarge { reason, .. } => write!(f, "request too large: {reason}"),
            CallError::Protocol(r) => write!(f, "the server broke the protocol: {r}"),
            CallError::Permanent { reason, .. } => f.write_str(reason),
        }
    }
}

/// Where an upload stands, as the server says (`Upload-Offset` / `Upload-Length`). The engine
/// believes a photo uploaded only when both equal the photo's own size: the server sends
/// `offset == length` only once the bytes are verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadState {
    /// Bytes the server holds.
    pub offset: u64,
    /// The upload's length, when the server said.
    pub length: Option<u64>,
}

impl UploadState {
    /// True when the server holds all `len` bytes of the photo, verified.
    pub fn is_complete(&self, len: u64) -> bool {
        self.offset == len && self.length == Some(len)
    }

    /// True when the answer cannot be about this photo of `len` bytes.
    pub fn contradicts(&self, len: u64) -> bool {
        self.length != Some(len) || self.offset > len
    }
}

/// Most bytes of a versioned document (catalog, grids of a whole city).
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Most bytes of a JSON answer (a batch result, a page of changes or tickets).
pub const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;
/// Most bytes of an answer that carries no data (upload offsets, error bodies).
pub const MAX_SMALL_ANSWER_BYTES: u64 = 64 * 1024;

/// A typed client of one grid server.
pub struct ServerApi<'a> {
    base: String,
    transport: &'a dyn HttpTransport,
    tokens: &'a dyn TokenProvider,
    token: Mutex<Option<String>>,
    timeout: Duration,
}

/// Request bodies larger than this are gzip-compressed.
const GZIP_THRESHOLD: usize = 1024;

impl<'a> ServerApi<'a> {
    /// A client of the server at `base` (already checked by `check_server_url`).
    pub fn new(
        base: String,
        transport: &'a dyn HttpTransport,
        tokens: &'a dyn TokenProvider,
        timeout: Duration,
    ) -> Self {
        ServerApi {
            base,
            transport,
            tokens,
            token: Mutex::new(None),
            timeout,
        }
    }

    fn current_token(&self, refresh: bool) -> Result<String, CallError> {
        let mut slot = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if refresh || slot.is_none() {
            let fresh = self
                .tokens
                .token(refresh)
                .map_err(|e| CallError::Auth(e.to_string()))?;
            if fresh.is_empty() || fresh.chars().any(|c| c.is_control() || c == ' ') {
                return Err(CallError::Auth(
                    "the token provider returned an unusable token".into(),
                ));
            }
            *slot = Some(fresh);
        }
        slot.clone()
            .ok_or_else(|| CallError::Auth("no token".into()))
    }

    /// Sends one request; on 401 asks for a fresh token once and resends. An answer longer
    /// than `max_response_bytes` is a [`CallError::Protocol`].
    pub fn call(
        &self,
        method: &str,
        path: &str,
        mut headers: BTreeMap<String, String>,
        body: Vec<u8>,
        max_response_bytes: u64,
    ) -> Result<HttpResponse, CallError> {
        let url = format!("{}{}", self.base, path);
        for attempt in 0..2 {
            let token = self.current_token(attempt > 0)?;
            headers.insert("authorization".into(), format!("Bearer {token}"));
            headers
                .entry("accept".into())
                .or_insert_with(|| "application/json".into());
            let request = HttpRequest {
                method: method.into(),
                url: url.clone(),
                headers: headers.clone(),
                body: body.clone(),
                timeout: self.timeout,
                max_response_bytes,
            };
            let outcome = self.transport.send(request);
            if let Ok(r) = &outcome
                && r.body.len() as u64 > max_response_bytes
            {
                return Err(CallError::Protocol(format!(
                    "{method} {path} answered with more than {max_response_bytes} bytes"
                )));
            }
            match judge(&outcome) {
                Verdict::Success => {
                    return outcome.map_err(|e| CallError::Retry {
                        reason: e.to_string(),
                        after: None,
                    });
                }
                Verdict::Reauthenticate if attempt == 0 => continue,
                Verdict::Reauthenticate => {
                    return Err(CallError::Auth("the server refused a fresh token".into()));
                }
                Verdict::Retry { reason, after } => return Err(CallError::Retry { reason, after }),
                Verdict::TooLarge { from_server } => {
                    return Err(CallError::TooLarge {
                        reason: format!("{method} {path}"),
                        from_server,
                    });
                }
                Verdict::Permanent { reason, .. } => {
                    let (status, body) = match &outcome {
                        Ok(r) => (r.status, serde_json::from_slice(&r.body).ok()),
                        Err(_) => (0, None),
                    };
                    return Err(CallError::Permanent {
                        status,
                        body,
                        reason,
                    });
                }
            }
        }
        Err(CallError::Auth("the server refused a fresh token".into()))
    }

    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        let r = self.call("GET", path, BTreeMap::new(), Vec::new(), MAX_ANSWER_BYTES)?;
        parse(&r)
    }

    /// `GET /v1/limits`.
    pub fn limits(&self) -> Result<Limits, CallError> {
        self.get_json(paths::LIMITS)
    }

    /// A versioned document (`/v1/catalog`, `/v1/grids`): `None` when unchanged since `etag`,
    /// else the new ETag (or empty) and the body.
    pub fn document(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Option<(String, String)>, CallError> {
        let mut headers = BTreeMap::new();
        if let Some(tag) = etag {
            headers.insert("if-none-match".into(), tag.to_string());
        }
        let r = self.call("GET", path, headers, Vec::new(), MAX_DOCUMENT_BYTES)?;
        if r.status == 304 {
            return Ok(None);
        }
        let body = String::from_utf8(r.body.clone()).map_err(|_| CallError::Permanent {
            status: r.status,
            body: None,
            reason: format!("{path} is not UTF-8"),
        })?;
        Ok(Some((
            r.header("etag").unwrap_or_default().to_string(),
            body,
        )))
    }

    /// `POST /v1/reports:batch` with `json` (gzip-compressed when large).
    pub fn post_batch(&self, json: &[u8]) -> Result<BatchResponse, CallError> {
        let mut headers =
            BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
        let body = if json.len() > GZIP_THRESHOLD {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(json.len() / 4),
                flate2::Compression::fast(),
            );
            gz.write_all(json)
                .and_then(|_| gz.finish())
                .inspect(|_| {
                    headers.insert("content-encoding".into(), "gzip".into());
                })
                .unwrap_or_else(|_| json.to_vec())
        } else {
            json.to_vec()
        };
        let r = self.call(
            "POST",
            paths::REPORTS_BATCH,
            headers,
            body,
            MAX_ANSWER_BYTES,
        )?;
        parse(&r)
    }

    /// `POST /v1/device-keys`: registers a signing key's public half for the caller's account
    /// (200 and 201 both mean the server holds it).
    pub fn register_key(&self, key: &crate::evidence::PublicKey) -> Result<(), CallError> {
        let body = serde_json::to_vec(&gridline_protocol::evidence::DeviceKeyRegistration {
            algorithm: key.algorithm,
            public_key: gridline_protocol::evidence::hex(&key.bytes),
        })
        .map_err(|e| CallError::Protocol(e.to_string()))?;
        let headers =
            BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
        self.call(
            "POST",
            paths::DEVICE_KEYS,
            headers,
            body,
            MAX_SMALL_ANSWER_BYTES,
        )?;
        Ok(())
    }

    /// `HEAD /v1/media/{sha}`: where the upload stands.
    pub fn media_offset(&self, sha256: &str) -> Result<UploadState, CallError> {
        let r = self.call(
            "HEAD",
            &paths::media(sha256),
            BTreeMap::new(),
            Vec::new(),
            MAX_SMALL_ANSWER_BYTES,
        )?;
        upload_state(&r)
    }

    /// `PATCH /v1/media/{sha}` appending `chunk` at `offset`: where the upload stands after
    /// it. A 409 (offset mismatch, or another request of ours still uploading) is a retry: the
    /// engine asks again with HEAD.
    pub fn media_patch(
        &self,
        sha256: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<UploadState, CallError> {
        let headers = BTreeMap::from([
            (
                "content-type".to_string(),
                media::OFFSET_CONTENT_TYPE.to_string(),
            ),
            (media::UPLOAD_OFFSET.to_string(), offset.to_string()),
        ]);
        match self.call(
            "PATCH",
            &paths::media(sha256),
            headers,
            chunk,
            MAX_SMALL_ANSWER_BYTES,
        ) {
            Ok(r) => upload_state(&r),
            Err(CallError::Permanent {
                status: 409,
                body,
                reason,
            }) => Err(CallError::Retry {
                reason: format!(
                    "upload conflict: {reason}{}",
                    body.map(|b| format!(" ({})", b.message))
                        .unwrap_or_default()
                ),
                after: Some(Duration::ZERO),
            }),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/changes?cursor=&limit=`.
    pub fn changes(&self, cursor: Option<&str>, limit: u32) -> Result<ChangesPage, CallError> {
        let mut query = format!("?limit={limit}");
        if let Some(c) = cursor {
            query.push_str("&cursor=");
            query.extend(url::form_urlencoded::byte_serialize(c.as_bytes()));
        }
        self.get_json(&format!("{}{query}", paths::CHANGES))
    }

    /// `GET /v1/tasks`: verification tasks the caller may take.
    pub fn tasks(&self) -> Result<TaskPage, CallError> {
        self.get_json(paths::TASKS)
    }

    /// `GET /v1/tickets` with filters.
    pub fn tickets(&self, query: &TicketQuery) -> Result<TicketPage, CallError> {
        let value = serde_json::to_value(query).map_err(|e| CallError::Permanent {
            status: 0,
            body: None,
            reason: e.to_string(),
        })?;
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(map) = value.as_object() {
            for (k, v) in map {
                let text = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                q.append_pair(k, &text);
            }
        }
        let q = q.finish();
        let path = if q.is_empty() {
            paths::TICKETS.to_string()
        } else {
            format!("{}?{q}", paths::TICKETS)
        };
        self.get_json(&path)
    }

    /// `GET /v1/tickets/{id}/candidates`: the server's ranked duplicate candidates.
    pub fn ticket_candidates(&self, ticket_id: &str) -> Result<CandidateList, CallError> {
        self.get_json(&paths::ticket_candidates(&path_segment(ticket_id)))
    }

    /// `POST /v1/tickets/{id}/actions` with `If-Match: version`. A 409 with the server's current
    /// ticket comes back as `Err(Conflict)` through [`CallError::Permanent`]'s body.
    pub fn ticket_action(
        &self,
        ticket_id: &str,
        version: u64,
        action: &TriageAction,
    ) -> Result<Ticket, CallError> {
        let body = serde_json::to_vec(action).map_err(|e| CallError::Permanent {
            status: 0,
            body: None,
            reason: e.to_string(),
        })?;
        let headers = BTreeMap::from([
            ("content-type".to_string(), "application/json".to_string()),
            ("if-match".to_string(), format!("\"{version}\"")),
        ]);
        let path = paths::ticket_actions(&path_segment(ticket_id));
        let r = self.call("POST", &path, headers, body, MAX_ANSWER_BYTES)?;
        parse(&r)
    }
}

/// A server-given id as one URL path segment: `/`, `..` and the like cannot leave it.
fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

fn parse<T: DeserializeOwned>(r: &HttpResponse) -> Result<T, CallError> {
    serde_json::from_slice(&r.body).map_err(|e| CallError::Retry {
        // A 2xx whose body does not parse is most likely cut short by the network.
        reason: format!("unreadable answer (HTTP {}): {e}", r.status),
        after: None,
    })
}

/// Reads `Upload-Offset` (required) and `Upload-Length`.
fn upload_state(r: &HttpResponse) -> Result<UploadState, CallError> {
    let number = |name| r.header(name).and_then(|v| v.trim().parse::<u64>().ok());
    let offset = number(media::UPLOAD_OFFSET).ok_or_else(|| {
        CallError::Protocol(format!(
            "an upload answer (HTTP {}) without a valid Upload-Offset",
            r.status
        ))
    })?;
    Ok(UploadState {
        offset,
        length: number(media::UPLOAD_LENGTH),
    })
}
