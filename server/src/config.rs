//! How a server is set up: where its data lives, where it listens, what it accepts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use gridline_protocol::Catalog;
use gridline_protocol::wire::{Limits, TriageAction};

use crate::grids::{LocatorFactory, rtree_locator_factory};
use crate::listen::ConnectionPolicy;
use crate::rate_limit::RateLimit;

/// Everything [`Server::start`](crate::Server::start) needs. Build with [`Config::new`] and
/// adjust fields.
#[derive(Clone)]
pub struct Config {
    /// The data folder: `gridline.db` and `media/` live here; created if missing.
    pub data_dir: PathBuf,
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
        Self {
            data_dir: data_dir.into(),
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

    /// The database file inside the data folder.
    pub fn db_path(&self) -> PathBuf {
        db_path(&self.data_dir)
    }
}

/// The database file of data folder `dir`.
pub fn db_path(dir: &std::path::Path) -> PathBuf {
    dir.join("gridline.db")
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
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
            .finish_non_exhaustive()
    }
}
