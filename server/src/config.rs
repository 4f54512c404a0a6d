//! How a server is set up: where its data lives, where it listens, what it accepts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gridline_protocol::Catalog;
use gridline_protocol::wire::{Limits, TriageAction};

use crate::clock::Clock;
use crate::grids::{LocatorFactory, rtree_locator_factory};
use crate::lifecycle::CaseSettings;
use crate::listen::ConnectionPolicy;

/// Everything [`Server::start`](crate::Server::start) needs. Build with [`Config::new`] and
/// adjust fields.
#[derive(Clone)]
pub struct Config {
    /// Where tickets and photos are kept.
    pub storage: Storage,
    /// Where to listen. Port 0 picks a free port (see `RunningServer::addr`).
    pub listen: SocketAddr,
    /// Published and enforced limits.
    pub limits: Limits,
    /// Per-token rate limit; `None` turns it off.
    pub rate_limit: Option<RateLimit>,
    /// Failed authentications allowed per client address (a flood of bad tokens is refused
    /// with 429 before any lookup); `None` turns it off.
    pub auth_failure_limit: Option<RateLimit>,
    /// Reports one account may file in a rolling window; `None` turns it off.
    pub write_quota: Option<WriteQuota>,
    /// Longest a request may take before it is abandoned with `503 timeout`.
    pub request_timeout: Duration,
    /// The catalog reports are validated against and `GET /v1/catalog` serves.
    pub catalog: Catalog,
    /// Builds the point-to-grid index whenever the grids change.
    pub locator: LocatorFactory,
    /// Quotas and timeouts of photo uploads.
    pub uploads: UploadPolicy,
    /// Connection limits and timeouts.
    pub connections: ConnectionPolicy,
    /// The server speaks plain HTTP; off loopback that is allowed only when a TLS-terminating
    /// proxy is in front of it, which this flag asserts.
    pub behind_tls_proxy: bool,
    /// Departments tickets are dispatched to, published at `GET /v1/departments` (the
    /// console offers them as a list). Empty: the server names none and clients ask for text.
    pub departments: Vec<String>,
    /// Deadlines, escalation and verification settings.
    pub cases: CaseSettings,
    /// Where the server reads the time (tests pass a manual clock).
    pub clock: Clock,
    /// The Open311 GeoReport v2 façade under `/open311/v2/`.
    pub open311: Open311Config,
    /// The upstream city system accepted tickets are forwarded to over Open311; `None`
    /// forwards nothing (docs/open311.md, "Forwarding").
    pub upstream: Option<UpstreamConfig>,
}

/// Where and how accepted tickets are forwarded to an upstream Open311 system.
#[derive(Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Short name of the upstream; its status changes are recorded as by `upstream:<name>`.
    pub name: String,
    /// The upstream's GeoReport v2 base URL (`https://city.example/open311/v2/`).
    pub url: String,
    /// The API key we post with.
    pub api_key: String,
    /// The upstream's `jurisdiction_id`, if it wants one.
    #[serde(default)]
    pub jurisdiction_id: Option<String>,
    /// Our category code → the upstream's `service_code`. Tickets of unmapped categories are
    /// not forwarded.
    pub service_codes: std::collections::BTreeMap<String, String>,
    /// The attribute our report id is posted in (`attribute[<this>]`), by which the upstream
    /// recognises a repeat.
    #[serde(default = "default_report_id_attribute")]
    pub report_id_attribute: String,
    /// Retry timing, request timeout and batch sizes.
    #[serde(default)]
    pub timing: UpstreamTiming,
}

fn default_report_id_attribute() -> String {
    "gridline_report_id".into()
}

impl std::fmt::Debug for UpstreamConfig {
    /// Everything but the API key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("jurisdiction_id", &self.jurisdiction_id)
            .field("service_codes", &self.service_codes)
            .field("report_id_attribute", &self.report_id_attribute)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

impl UpstreamConfig {
    /// Reads a JSON file (`gridline serve --upstream FILE`), checking the URL.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let config: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// Refuses an unusable configuration: a URL that is not http(s), an empty name or key.
    pub fn check(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("upstream url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("upstream url must be http or https".into());
        }
        if self.name.trim().is_empty() || self.api_key.is_empty() {
            return Err("upstream name and api_key must not be empty".into());
        }
        if self.timing.batch == 0 || self.timing.retry_first.is_zero() {
            return Err("upstream batch and retry_first must be positive".into());
        }
        Ok(())
    }
}

/// How the forwarding worker paces itself (defaults suit a city; tests shorten them).
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamTiming {
    /// Pause between ticks when nothing was due.
    #[serde(with = "millis")]
    pub tick: Duration,
    /// Delay before the first retry; doubled per attempt (full jitter).
    #[serde(with = "millis")]
    pub retry_first: Duration,
    /// Longest delay between retries.
    #[serde(with = "millis")]
    pub retry_max: Duration,
    /// Attempts after which a ticket is parked with its last error.
    pub max_attempts: u32,
    /// Longest one upstream request may take (connect, send and answer).
    #[serde(with = "millis")]
    pub request_timeout: Duration,
    /// Outbox rows taken per tick.
    pub batch: u32,
    /// How often status updates are polled.
    #[serde(with = "millis")]
    pub poll_every: Duration,
    /// How far back each poll reaches before the last update seen (late writers upstream).
    #[serde(with = "millis")]
    pub poll_overlap: Duration,
}

impl Default for UpstreamTiming {
    /// Ticks every 5 s; retries after 2 s doubling to 10 min, parking after 50 attempts;
    /// 30 s per request; 50 rows per tick; polls every minute with 10 minutes of overlap.
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(5),
            retry_first: Duration::from_secs(2),
            retry_max: Duration::from_secs(600),
            max_attempts: 50,
            request_timeout: Duration::from_secs(30),
            batch: 50,
            poll_every: Duration::from_secs(60),
            poll_overlap: Duration::from_secs(600),
        }
    }
}

/// Durations as whole milliseconds in the upstream file.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// How the Open311 GeoReport v2 façade (`/open311/v2/`, docs/open311.md) is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct Open311Config {
    /// The `jurisdiction_id` this server answers for. When set, requests that give another
    /// one are refused (`404`); a request without one is taken to mean this one, since the
    /// server has only one. `None`: the parameter is not used and refused if given.
    pub jurisdiction_id: Option<String>,
    /// The public base URL (`https://grid.example.gov`) the discovery document names; `None`
    /// derives it from the request's `Host` header.
    pub public_url: Option<String>,
    /// Who to contact about the API, in the discovery document.
    pub contact: String,
    /// Requests per API key (`POST requests`); `None` turns it off.
    pub key_rate_limit: Option<RateLimit>,
    /// Unknown API keys allowed per client address before `429`; `None` turns it off.
    pub key_failure_limit: Option<RateLimit>,
}

impl Default for Open311Config {
    /// No jurisdiction, the URL from `Host`, 5 requests/s per key with bursts of 100, and 5
    /// failed keys/s with bursts of 20 per address.
    fn default() -> Self {
        Self {
            jurisdiction_id: None,
            public_url: None,
            contact: "the operator of this Gridline server".into(),
            key_rate_limit: Some(RateLimit {
                per_second: 5.0,
                burst: 100,
            }),
            key_failure_limit: Some(RateLimit {
                per_second: 5.0,
                burst: 20,
            }),
        }
    }
}

/// Sustained rate and burst allowed per token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests per second refilled.
    pub per_second: f64,
    /// Bucket size: requests allowed back to back.
    pub burst: u32,
}

impl Default for RateLimit {
    /// 1,000 requests/s with bursts of 10,000: generous enough for benchmarks and tests.
    fn default() -> Self {
        Self {
            per_second: 1000.0,
            burst: 10_000,
        }
    }
}

/// How many reports one account may file per rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteQuota {
    /// Reports per window, at most.
    pub reports: u64,
    /// The window, in milliseconds.
    pub per_ms: i64,
}

impl Default for WriteQuota {
    /// 5,000 reports a day: a hundred times what a busy rider files.
    fn default() -> Self {
        Self {
            reports: 5_000,
            per_ms: 24 * 3600 * 1000,
        }
    }
}

/// How much unfinished upload an account may hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPolicy {
    /// Declared bytes of one account's unfinished uploads, at most.
    pub pending_quota: u64,
    /// An upload no bytes reached for this long is deleted.
    pub expire_after: Duration,
    /// A `PATCH` whose body sends nothing for this long is ended (its bytes are kept).
    pub idle_timeout: Duration,
    /// How long a request waits for another request of the same upload to finish.
    pub lock_wait: Duration,
    /// How often expired uploads are swept.
    pub sweep_every: Duration,
}

impl Default for UploadPolicy {
    /// 200 MB pending per account (hundreds of 1600 px photos), a day to finish, 30 s idle.
    fn default() -> Self {
        Self {
            pending_quota: 200 * 1024 * 1024,
            expire_after: Duration::from_secs(24 * 3600),
            idle_timeout: Duration::from_secs(30),
            lock_wait: Duration::from_secs(2),
            sweep_every: Duration::from_secs(10 * 60),
        }
    }
}

impl Config {
    /// Defaults: loopback on a free port, default limits, a generous rate limit (so tests and
    /// benchmarks are not throttled unless they ask), a 120 s request timeout, the built-in
    /// catalog and the R-tree grid locator of `gridline-core`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self::with_storage(Storage::local(data_dir))
    }

    /// [`Config::new`]'s defaults on `storage`.
    pub fn with_storage(storage: Storage) -> Self {
        Self {
            storage,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            limits: Limits::default(),
            rate_limit: Some(RateLimit::default()),
            auth_failure_limit: Some(RateLimit {
                per_second: 5.0,
                burst: 100,
            }),
            write_quota: Some(WriteQuota::default()),
            request_timeout: Duration::from_secs(120),
            catalog: Catalog::builtin(),
            locator: rtree_locator_factory(),
            uploads: UploadPolicy::default(),
            connections: ConnectionPolicy::default(),
            behind_tls_proxy: false,
            departments: Vec::new(),
            cases: CaseSettings::default(),
            clock: Clock::system(),
            open311: Open311Config::default(),
            upstream: None,
        }
    }

    /// Checks the configured departments: each must be a valid `dispatch` department
    /// (non-empty, single line, at most 128 characters), and none may repeat.
    pub fn check_departments(&self) -> Result<(), gridline_protocol::FieldError> {
        for (i, name) in self.departments.iter().enumerate() {
            TriageAction::Dispatch {
                department: name.clone(),
            }
            .validate()
            .map_err(|e| {
                gridline_protocol::FieldError::new(format!("departments.{i}"), e.reason)
            })?;
            if self.departments[..i].contains(name) {
                return Err(gridline_protocol::FieldError::new(
                    format!("departments.{i}"),
                    format!("{name:?} is listed twice"),
                ));
            }
        }
        Ok(())
    }
}

/// Where a server keeps its records and photos: a data folder (a district's default: the
/// SQLite file and the media folder in it), or a city's PostgreSQL database and S3 bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// The data folder: `gridline.db` and `media/` when those are local; created if needed.
    pub data_dir: PathBuf,
    /// The database.
    pub database: Database,
    /// The photo store.
    pub media: MediaLocation,
}

impl Storage {
    /// SQLite and photos in `data_dir`.
    pub fn local(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database: Database::Sqlite,
            media: MediaLocation::Local,
        }
    }

    /// True when something lives in the data folder.
    pub fn uses_data_dir(&self) -> bool {
        self.database == Database::Sqlite || self.media == MediaLocation::Local
    }
}

impl From<&Path> for Storage {
    fn from(dir: &Path) -> Self {
        Self::local(dir)
    }
}

impl From<&PathBuf> for Storage {
    fn from(dir: &PathBuf) -> Self {
        Self::local(dir)
    }
}

impl From<PathBuf> for Storage {
    fn from(dir: PathBuf) -> Self {
        Self::local(dir)
    }
}

impl From<&Storage> for Storage {
    fn from(storage: &Storage) -> Self {
        storage.clone()
    }
}

/// Which database holds the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `gridline.db` in the data folder (the default).
    Sqlite,
    /// A PostgreSQL database, shared by every instance of a city deployment.
    Postgres(DatabaseUrl),
}

impl Database {
    /// Parses `--database`: `sqlite` (the data folder's file) or a `postgres://` /
    /// `postgresql://` URL (`?sslmode=disable`, the only mode this build speaks; see
    /// docs/deploy.md).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text == "sqlite" {
            return Ok(Self::Sqlite);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            text.parse::<postgres::Config>()
                .map_err(|e| format!("not a PostgreSQL URL ({e})"))?;
            return Ok(Self::Postgres(DatabaseUrl(text.to_string())));
        }
        Err("expected `sqlite` or a postgres://user@host:port/database URL".into())
    }
}

/// A database URL; `Debug` hides any password in it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            Ok(u) => u.to_string(),
            Err(_) => "<unparsable URL>".into(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Where verified photos (and uploads in progress) are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaLocation {
    /// `media/` in the data folder (the default).
    Local,
    /// An S3-compatible bucket.
    S3(S3Location),
}

/// An S3 bucket (and key prefix) on an S3-compatible server; credentials come from the
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optionally `AWS_SESSION_TOKEN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`; may be empty).
    pub prefix: String,
    /// The server, e.g. `http://127.0.0.1:8333`; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// Region (`us-east-1` unless given).
    pub region: String,
}

impl MediaLocation {
    /// Parses `--media`: `local`, or `s3://bucket[/prefix][?endpoint=URL&region=NAME]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text == "local" {
            return Ok(Self::Local);
        }
        let url = url::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        if url.scheme() != "s3" {
            return Err("expected `local` or s3://bucket/prefix?endpoint=URL".into());
        }
        let bucket = url.host_str().unwrap_or("").to_string();
        if bucket.is_empty() {
            return Err("the s3:// URL names no bucket".into());
        }
        let prefix = url.path().trim_matches('/').to_string();
        let mut endpoint = None;
        let mut region = "us-east-1".to_string();
        for (key, value) in url.query_pairs() {
            match &*key {
                "endpoint" => {
                    let parsed = url::Url::parse(&value)
                        .map_err(|e| format!("endpoint {value:?} is not a URL ({e})"))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(format!("endpoint {value:?} must be http:// or https://"));
                    }
                    endpoint = Some(value.trim_end_matches('/').to_string());
                }
                "region" => region = value.into_owned(),
                other => return Err(format!("unknown s3:// parameter {other:?}")),
            }
        }
        Ok(Self::S3(S3Location {
            bucket,
            prefix,
            endpoint,
            region,
        }))
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("storage", &self.storage)
            .field("listen", &self.listen)
            .field("limits", &self.limits)
            .field("rate_limit", &self.rate_limit)
            .field("auth_failure_limit", &self.auth_failure_limit)
            .field("write_quota", &self.write_quota)
            .field("request_timeout", &self.request_timeout)
            .field("catalog", &self.catalog.version)
            .field("uploads", &self.uploads)
            .field("connections", &self.connections)
            .field("behind_tls_proxy", &self.behind_tls_proxy)
            .field("departments", &self.departments)
            .field("open311", &self.open311)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}
