//! What every request handler shares: the store, the media folder, the published documents and
//! the limits. Cheap to clone (all behind `Arc`).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use gridline_protocol::Catalog;
use gridline_protocol::wire::{Departments, Limits};
use sha2::{Digest, Sha256};

use crate::account::hex;
use crate::clock::Clock;
use crate::config::{Open311Config, UploadPolicy, UpstreamConfig, WriteQuota};
use crate::grids::{GridLocator, LocatorFactory, to_geojson};
use crate::lifecycle::CasePolicy;
use crate::media::{MediaStore, UploadLocks};
use crate::metrics::Metrics;
use crate::rate_limit::Limiter;
use crate::store::{Store, StoreError};

/// Shared server state.
#[derive(Clone)]
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Photo bytes.
    pub media: Arc<dyn MediaStore>,
    /// One request at a time per account's upload of a photo.
    pub uploads: Arc<UploadLocks>,
    /// Upload quotas and timeouts.
    pub upload_policy: UploadPolicy,
    /// Enforced limits.
    pub limits: Limits,
    /// The catalog reports are validated against.
    pub catalog: Arc<Catalog>,
    /// `GET /v1/catalog`, serialised once.
    pub catalog_doc: Arc<Published>,
    /// Grids, their published document and locator, rebuilt when they change.
    pub grids: Arc<GridCache>,
    /// Per-token limiter, if enabled.
    pub rate_limiter: Option<Arc<Limiter<i64>>>,
    /// Failed authentications per client address, if limited.
    pub auth_failures: Option<Arc<Limiter<IpAddr>>>,
    /// Reports per account and window, if limited.
    pub write_quota: Option<WriteQuota>,
    /// This process among the instances sharing a database (names its upload leases).
    pub instance: Arc<str>,
    /// Longest a request may take.
    pub request_timeout: std::time::Duration,
    /// Counters and histograms served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// `GET /v1/departments`.
    pub departments: Arc<Departments>,
    /// Deadlines and verification rules of the catalog and configuration.
    pub policy: Arc<CasePolicy>,
    /// How often deadlines are checked.
    pub deadline_check_every: std::time::Duration,
    /// The time.
    pub clock: Clock,
    /// The Open311 façade's settings.
    pub open311: Arc<Open311Config>,
    /// Per-API-key limiter of the Open311 façade, if enabled.
    pub open311_keys: Option<Arc<Limiter<i64>>>,
    /// Unknown Open311 API keys per client address, if limited.
    pub open311_key_failures: Option<Arc<Limiter<IpAddr>>>,
    /// Where accepted tickets are forwarded, if anywhere.
    pub upstream: Option<Arc<UpstreamConfig>>,
}

/// A document served with an `ETag`.
#[derive(Debug, Clone)]
pub struct Published {
    /// The JSON bytes.
    pub body: Bytes,
    /// The strong entity tag, quoted.
    pub etag: String,
}

impl Published {
    /// Serialises `value` and tags it with a hash of its bytes.
    pub fn new(value: &impl serde::Serialize) -> Result<Self, serde_json::Error> {
        let body = serde_json::to_vec(value)?;
        Ok(Self {
            etag: etag_of(&body),
            body: body.into(),
        })
    }
}

/// A strong ETag: the first 128 bits of the SHA-256 of `bytes`, quoted.
pub fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex(&Sha256::digest(bytes))[..32])
}

/// The grids as of one revision of the store.
pub struct GridSnapshot {
    /// Store revision this was built from.
    pub revision: i64,
    /// The GeoJSON served at `GET /v1/grids`.
    pub doc: Published,
    /// Point lookup.
    pub locator: Arc<dyn GridLocator>,
    /// Ids of all grids.
    pub ids: HashSet<String>,
}

/// Keeps the current [`GridSnapshot`], rebuilding it when the store's grids revision moves
/// (an import or a new supervisor, possibly by another process such as `gridline server
/// import-grids`).
pub struct GridCache {
    factory: LocatorFactory,
    current: Mutex<Option<Arc<GridSnapshot>>>,
}

impl GridCache {
    /// An empty cache using `factory` to build locators.
    pub fn new(factory: LocatorFactory) -> Self {
        Self {
            factory,
            current: Mutex::new(None),
        }
    }

    /// The snapshot for the store's current revision. Blocking: call from a blocking thread.
    pub fn current(&self, store: &dyn Store) -> Result<Arc<GridSnapshot>, StoreError> {
        let revision = store.grids_revision()?;
        let cached = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(snapshot) = cached.filter(|s| s.revision == revision) {
            return Ok(snapshot);
        }
        let grids = store.grids()?;
        let supervisors = store.supervisors()?;
        let body = to_geojson(&grids, &supervisors, "");
        let version = etag_of(body.to_string().as_bytes());
        let doc = to_geojson(&grids, &supervisors, version.trim_matches('"'));
        let doc = Published::new(&doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let snapshot = Arc::new(GridSnapshot {
            revision,
            doc: Published {
                etag: version,
                body: doc.body,
            },
            locator: (self.factory)(&grids),
            ids: grids.iter().map(|g| g.id.clone()).collect(),
        });
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(snapshot.clone());
        Ok(snapshot)
    }
}
