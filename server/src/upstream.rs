//! Forwarding accepted tickets to an upstream city system over Open311 GeoReport v2
//! (docs/open311.md, "Forwarding"), and bringing its status changes back.
//!
//! The worker fills the outbox from `tickets` itself (nothing in `Store::submit` changes),
//! then takes due rows one at a time under a lease and `POST`s each as a form-encoded
//! `requests.json` with our report id in `attribute[<report_id_attribute>]`. The body of a
//! ticket is the same on every attempt, so an upstream that recognises a repeat (as Gridline's
//! own façade and the common servers do) answers a resend with the request it already has:
//! that, not a look-up, is what makes a resend after an ambiguous failure safe.
//!
//! Every loop is bounded (rows per tick, updates per poll, bytes per answer), every request
//! has a timeout, and failures are classified: timeouts, dropped connections, 5xx and 429 are
//! retried with capped exponential backoff and jitter; any other 4xx parks the ticket with
//! the upstream's error; a `token` answer is resolved through `GET tokens/{token}`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gridline_protocol::Timestamp;
use gridline_protocol::wire::{Ticket, TicketStatus, TriageAction};
use serde_json::Value;

use crate::account::{Role, Scope, User};
use crate::config::UpstreamConfig;
use crate::error::ServerError;
use crate::state::AppState;
use crate::store::{ActionOutcome, OutboxOutcome, OutboxRow, OutboxState};

/// Largest answer body read from the upstream; a longer one is an error.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Updates applied per poll at most (the rest wait for the next poll).
const MAX_UPDATES_PER_POLL: usize = 1000;
/// Tickets added to the outbox per tick at most.
const FILL_PER_TICK: u32 = 500;
/// Prefix of the name status changes from upstream are recorded by.
pub const UPSTREAM_BY_PREFIX: &str = "upstream:";

/// A configured upstream and its HTTP client.
#[derive(Debug, Clone)]
pub struct Upstream {
    config: Arc<UpstreamConfig>,
    client: reqwest::Client,
    base: url::Url,
    by: User,
}

/// What an answer from the upstream was.
enum Answer {
    /// A 2xx with its body.
    Ok(Vec<u8>),
    /// Worth trying again (timeout, dropped connection, 5xx, 429).
    Transient(String),
    /// Refused for good (4xx): the upstream's error.
    Refused(String),
}

impl Upstream {
    /// Builds the client (TLS with the ring provider and Mozilla roots, no redirects).
    pub fn new(config: Arc<UpstreamConfig>) -> Result<Self, String> {
        config.check()?;
        let mut base = url::Url::parse(&config.url).map_err(|e| e.to_string())?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(config.timing.request_timeout)
            .connect_timeout(config.timing.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gridline-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client setup: {e}"))?;
        let by = User {
            id: 0,
            name: format!("{UPSTREAM_BY_PREFIX}{}", config.name),
            role: Role::Admin,
            grids: Vec::new(),
        };
        Ok(Self {
            config,
            client,
            base,
            by,
        })
    }

    /// The name status changes from upstream are recorded by (`upstream:<name>`).
    pub fn by(&self) -> &str {
        &self.by.name
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<url::Url, String> {
        let mut url = self.base.join(path).map_err(|e| e.to_string())?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("api_key", &self.config.api_key);
            if let Some(j) = &self.config.jurisdiction_id {
                pairs.append_pair("jurisdiction_id", j);
            }
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// The form body of a ticket's `POST requests`: the same on every attempt.
    pub fn form(&self, ticket: &Ticket) -> Option<String> {
        let code = self.config.service_codes.get(&ticket.category)?;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("api_key", &self.config.api_key);
        if let Some(j) = &self.config.jurisdiction_id {
            form.append_pair("jurisdiction_id", j);
        }
        form.append_pair("service_code", code);
        form.append_pair("lat", &ticket.location.lat.to_string());
        form.append_pair("long", &ticket.location.lon.to_string());
        let description = if ticket.note.trim().is_empty() {
            ticket.category.clone()
        } else {
            ticket.note.clone()
        };
        form.append_pair("description", &description);
        form.append_pair(
            &format!("attribute[{}]", self.config.report_id_attribute),
            &ticket.report_id.to_string(),
        );
        Some(form.finish())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Answer::Transient(describe(&e)),
        };
        let status = response.status();
        let mut body = Vec::new();
        // Bounded: at most MAX_ANSWER_BYTES are kept, then the answer is refused.
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                        return Answer::Transient(format!(
                            "the upstream's answer is over {MAX_ANSWER_BYTES} bytes"
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Answer::Transient(describe(&e)),
            }
        }
        if status.is_success() {
            Answer::Ok(body)
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Answer::Transient(format!("{status}: {}", error_text(&body)))
        } else {
            Answer::Refused(format!("{status}: {}", error_text(&body)))
        }
    }

    /// One attempt on an outbox row: POST the ticket, or resolve its token.
    pub async fn attempt(&self, row: &OutboxRow, ticket: &Ticket, now: Timestamp) -> OutboxOutcome {
        let outcome = match (row.state, &row.token) {
            (OutboxState::Token, Some(token)) => self.resolve_token(token).await,
            _ => self.post(ticket).await,
        };
        let timing = &self.config.timing;
        let retry_at = |attempts: u32| {
            let delay = backoff(timing.retry_first, timing.retry_max, attempts);
            Timestamp::from_millis(
                now.as_millis()
                    .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
            )
        };
        match outcome {
            Step::Sent(id) => OutboxOutcome::Sent { upstream_id: id },
            Step::Token(token) => OutboxOutcome::Token {
                token,
                retry_at: retry_at(1),
            },
            Step::Retry(error) if row.attempts >= timing.max_attempts => OutboxOutcome::Parked {
                error: format!("gave up after {} attempts: {error}", row.attempts),
            },
            Step::Retry(error) => OutboxOutcome::Retry {
                error,
                retry_at: retry_at(row.attempts),
            },
            Step::Park(error) => OutboxOutcome::Parked { error },
        }
    }

    async fn post(&self, ticket: &Ticket) -> Step {
        let Some(form) = self.form(ticket) else {
            return Step::Park(format!(
                "category {} has no upstream service_code",
                ticket.category
            ));
        };
        let url = match self.base.join("requests.json") {
            Ok(url) => url,
            Err(e) => return Step::Park(e.to_string()),
        };
        let request = self
            .client
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        match self.send(request).await {
            Answer::Ok(body) => match first_object(&body) {
                Some(obj) => match (text(obj.get("service_request_id")), text(obj.get("token"))) {
                    (Some(id), _) => Step::Sent(id),
                    (None, Some(token)) => Step::Token(token),
                    (None, None) => {
                        Step::Retry("the answer has neither service_request_id nor token".into())
                    }
                },
                None => Step::Retry("the answer is not a GeoReport v2 list".into()),
            },
            Answer::Transient(e) => Step::Retry(e),
            Answer::Refused(e) => Step::Park(e),
        }
    }

    async fn resolve_token(&self, token: &str) -> Step {
        let path = format!(
            "tokens/{}.json",
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        );
        let url = match self.url(&path, &[]) {
            Ok(url) => url,
            Err(e) => return Step::Park(e),
        };
        match self.send(self.client.get(url)).await {
            Answer::Ok(body) => {
                match first_object(&body).and_then(|obj| text(obj.get("service_request_id"))) {
                    Some(id) => Step::Sent(id),
                    None => Step::Retry("the token has no service_request_id yet".into()),
                }
            }
            // The token may not be known yet (queued upstream): keep asking, within the limit.
            Answer::Transient(e) | Answer::Refused(e) => Step::Retry(e),
        }
    }

    /// Fetches the updates made upstream since `since` (with the configured overlap).
    pub async fn updates(
        &self,
        since: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Vec<Update>, String> {
        const DAY_MS: i64 = 86_400_000;
        let overlap = i64::try_from(self.config.timing.poll_overlap.as_millis()).unwrap_or(0);
        let floor = now.as_millis() - 89 * DAY_MS;
        let start = since
            .map(|s| s.as_millis() - overlap)
            .unwrap_or(floor)
            .max(floor);
        let end = now.as_millis() + DAY_MS;
        let start = Timestamp::from_millis(start).to_rfc3339();
        let end = Timestamp::from_millis(end).to_rfc3339();
        let url = self.url(
            "servicerequestupdates.json",
            &[("start_date", &start), ("end_date", &end)],
        )?;
        match self.send(self.client.get(url)).await {
            Answer::Ok(body) => Ok(parse_updates(&body)),
            Answer::Transient(e) | Answer::Refused(e) => Err(e),
        }
    }
}

/// What one request to the upstream came to.
enum Step {
    Sent(String),
    Token(String),
    Retry(String),
    Park(String),
}

/// One `request_update` from the upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// Its id upstream (dedup key).
    pub update_id: String,
    /// The upstream request it is about.
    pub service_request_id: String,
    /// `open` / `closed` or FixMyStreet's detailed status.
    pub status: String,
    /// When it happened upstream.
    pub updated_at: Timestamp,
    /// Its text.
    pub description: String,
}

fn parse_updates(body: &[u8]) -> Vec<Update> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let list = match value {
        Value::Array(items) => items,
        Value::Object(map) => map
            .into_iter()
            .find_map(|(_, v)| match v {
                Value::Array(items) => Some(items),
                _ => None,
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    list.iter()
        .take(MAX_UPDATES_PER_POLL)
        .filter_map(|item| {
            Some(Update {
                update_id: text(item.get("update_id"))?,
                service_request_id: text(item.get("service_request_id"))?,
                status: text(item.get("status"))?,
                updated_at: text(item.get("updated_datetime"))
                    .and_then(|t| Timestamp::parse_rfc3339(&t))?,
                description: text(item.get("description")).unwrap_or_default(),
            })
        })
        .collect()
}

/// The triage action an upstream status asks of a ticket, if it is a forward move.
pub fn action_for(update: &Update, ticket: &Ticket, by: &str) -> Option<TriageAction> {
    let status = update.status.to_ascii_uppercase();
    let note: String = if update.description.trim().is_empty() {
        format!("{status} at {by}")
    } else {
        update.description.chars().take(1000).collect()
    };
    let action = match status.as_str() {
        "ACTION_SCHEDULED" | "IN_PROGRESS" | "INTERNAL_REFERRAL" => TriageAction::Dispatch {
            department: by.chars().take(128).collect(),
        },
        "FIXED" | "CLOSED" | "NO_FURTHER_ACTION" | "NOT_COUNCILS_RESPONSIBILITY" => {
            TriageAction::Resolve { note }
        }
        _ => return None,
    };
    let target = ticket.status.apply(&action).ok()?;
    (rank(target) > rank(ticket.status) && action.validate().is_ok()).then_some(action)
}

fn rank(status: TicketStatus) -> usize {
    TicketStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(0)
}

/// Delay before retry number `attempts` (1-based): `first · 2^(attempts-1)` capped at `max`,
/// then jittered uniformly over its upper half so workers do not retry in step.
pub fn backoff(first: Duration, max: Duration, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let delay = first.saturating_mul(1u32 << exp).min(max).max(first);
    let half = delay / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::random_range(0..=jitter_ms))
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    let mut text = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    // Bounded: error chains are short, but never follow more than a few.
    for _ in 0..4 {
        let Some(s) = source else { break };
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The upstream's error text: GeoReport v2 errors are `[{"code":…, "description":…}]`.
fn error_text(body: &[u8]) -> String {
    if let Some(obj) = first_object(body)
        && let Some(d) = text(obj.get("description"))
    {
        return crate::store::outbox::clip_error(&d);
    }
    crate::store::outbox::clip_error(&String::from_utf8_lossy(body))
}

fn first_object(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Array(items) => match items.into_iter().next()? {
            Value::Object(obj) => Some(obj),
            _ => None,
        },
        Value::Object(obj) => Some(obj),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ServerError> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerError::Stopped(e.to_string()))??)
}

/// One round of forwarding: fills the outbox, then takes and attempts up to the batch size of
/// due rows, one at a time. Returns how many rows were attempted.
pub async fn forward_once(state: &AppState, upstream: &Upstream) -> Result<u32, ServerError> {
    let timing = upstream.config.timing;
    let categories: Vec<String> = upstream.config.service_codes.keys().cloned().collect();
    let store = state.store.clone();
    let now = state.clock.now();
    blocking(move || store.outbox_fill(&categories, now, FILL_PER_TICK)).await?;
    let lease = timing.request_timeout.saturating_mul(2) + Duration::from_secs(1);
    let mut attempted = 0;
    for _ in 0..timing.batch {
        let store = state.store.clone();
        let now = state.clock.now();
        let lease_until = Timestamp::from_millis(
            now.as_millis()
                .saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)),
        );
        let Some(row) = blocking(move || store.outbox_take(now, lease_until, 1))
            .await?
            .into_iter()
            .next()
        else {
            break;
        };
        attempted += 1;
        let store = state.store.clone();
        let id = row.ticket_id;
        let ticket = blocking(move || store.ticket(Scope::All, id)).await?;
        let outcome = match ticket {
            Some(ticket) => upstream.attempt(&row, &ticket, now).await,
            None => OutboxOutcome::Parked {
                error: "the ticket is gone".into(),
            },
        };
        match &outcome {
            OutboxOutcome::Parked { error } => {
                tracing::warn!(ticket = id, error = %error, "upstream refused a ticket; parked")
            }
            OutboxOutcome::Retry { error, .. } => {
                tracing::info!(ticket = id, error = %error, attempts = row.attempts, "upstream attempt failed; will retry")
            }
            _ => {}
        }
        let store = state.store.clone();
        let now = state.clock.now();
        blocking(move || store.outbox_record(id, &outcome, now)).await?;
    }
    Ok(attempted)
}

/// One poll of the upstream's updates: applies each new one that moves its ticket forward
/// as a triage action by `upstream:<name>`, then remembers it. Returns how many applied.
pub async fn poll_once(state: &AppState, upstream: &Upstream) -> Result<u32, ServerError> {
    let store = state.store.clone();
    let (_, latest) = blocking(move || store.upstream_updates_known("")).await?;
    let updates = upstream
        .updates(latest, state.clock.now())
        .await
        .map_err(|e| ServerError::Stopped(format!("polling the upstream: {e}")))?;
    let mut applied = 0;
    for update in updates {
        let store = state.store.clone();
        let uid = update.update_id.clone();
        let rid = update.service_request_id.clone();
        let (seen, ticket_id) = blocking(move || {
            let (seen, _) = store.upstream_updates_known(&uid)?;
            Ok((
                seen,
                if seen {
                    None
                } else {
                    store.outbox_ticket(&rid)?
                },
            ))
        })
        .await?;
        if seen {
            continue;
        }
        if let Some(id) = ticket_id {
            // Bounded: a stale version (a supervisor acted meanwhile) is retried twice.
            for _ in 0..3 {
                let store = state.store.clone();
                let Some(ticket) = blocking(move || store.ticket(Scope::All, id)).await? else {
                    break;
                };
                let Some(action) = action_for(&update, &ticket, upstream.by()) else {
                    break;
                };
                let store = state.store.clone();
                let by = upstream.by.clone();
                let policy = state.policy.clone();
                let now = state.clock.now();
                let version = ticket.version;
                let outcome = blocking(move || {
                    store.act(&by, Scope::All, id, version, &action, &policy, now)
                })
                .await?;
                match outcome {
                    ActionOutcome::Applied(_) => {
                        applied += 1;
                        break;
                    }
                    ActionOutcome::Stale(_) => continue,
                    _ => break,
                }
            }
        }
        // Remembered after applying: a crash in between replays it, and the replay is no
        // longer a forward move.
        let store = state.store.clone();
        let now = state.clock.now();
        blocking(move || {
            store.upstream_update_seen(&update.update_id, ticket_id, update.updated_at, now)
        })
        .await?;
    }
    Ok(applied)
}

/// Forwards and polls for as long as the server runs.
pub async fn forward_forever(state: AppState, config: Arc<UpstreamConfig>) {
    let upstream = match Upstream::new(config) {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "upstream forwarding is off: bad configuration");
            return;
        }
    };
    let timing = upstream.config.timing;
    let mut last_poll: Option<Instant> = None;
    loop {
        let attempted = match forward_once(&state, &upstream).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "forwarding to the upstream failed");
                0
            }
        };
        if last_poll.is_none_or(|t| t.elapsed() >= timing.poll_every) {
            last_poll = Some(Instant::now());
            match poll_once(&state, &upstream).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tickets = n, "applied upstream status changes"),
                Err(e) => tracing::warn!(error = %e, "polling the upstream failed"),
            }
        }
        if attempted < timing.batch {
            tokio::time::sleep(timing.tick).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_cap_and_never_below_half() {
        let (first, max) = (Duration::from_millis(100), Duration::from_millis(1000));
        for attempts in 1..40 {
            let full = (first * 2u32.pow(attempts.min(20) - 1)).min(max);
            let d = backoff(first, max, attempts);
            assert!(d >= full / 2 && d <= full, "{attempts}: {d:?} vs {full:?}");
        }
    }

    #[test]
    fn upstream_answers_are_read_leniently_but_only_forward() {
        let body = br#"{"service_request_updates":[
            {"update_id":7,"service_request_id":"C-1","status":"FIXED",
             "updated_datetime":"2026-12-01T10:00:00Z","description":"done"},
            {"update_id":"x","status":"FIXED"}]}"#;
        let updates = parse_updates(body);
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].update_id, "7");
        assert!(parse_updates(b"<xml/>").is_empty());
        assert_eq!(
            error_text(br#"[{"code":400,"description":"bad service_code"}]"#),
            "bad service_code"
        );
        assert_eq!(error_text(b"plain"), "plain");
    }
}
