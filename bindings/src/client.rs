//! `GridlineClient`: the one long-lived object an app holds — a rider's (or supervisor's)
//! device store, with sync and triage against the configured grid server.

use std::path::Path;
use std::sync::{Arc, RwLock};

use gridline_core as core;
use gridline_protocol::wire::TicketQuery;

use crate::catalog::Catalog;
use crate::error::{GridlineError, parse_id, signed};
use crate::foreign::{ForeignTokens, ForeignTransport, HttpTransport, TokenProvider};
use crate::geo::{GridInfo, NearbyReport};
use crate::report::{
    CoordSystem, Counts, DraftPatch, ListCursor, LocationFix, PhotoRef, Report, ReportKind,
    ReportRow, ReportState,
};
use crate::status::{ClientObserver, ForeignObserver, SyncStatus};
use crate::supervisor::{QueuedTriage, Ticket, TicketStatus, TriageAction, TriageSummary};
use crate::sync::{ForeignProgress, SyncHandle, SyncProgressListener, SyncSettings, SyncSummary};

/// How the app opens Gridline.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientConfig {
    /// Path of the SQLite file (created if missing; photos go in a folder beside it).
    pub db_path: String,
    /// The signed-in user's id, stamped on every report.
    pub reporter: String,
    /// The app's version, sent with reports.
    pub app_version: String,
}

/// The grid server to sync with, and how to reach it.
#[derive(Clone, uniffi::Record)]
pub struct ServerConfig {
    /// Base URL (`https://...`; plain `http://` only to loopback).
    pub url: String,
    /// The app's login.
    pub tokens: Arc<dyn TokenProvider>,
    /// The app's HTTP stack; `None` uses the built-in one (rustls).
    #[uniffi(default = None)]
    pub transport: Option<Arc<dyn HttpTransport>>,
}

/// A Gridline device: offline store, catalog, grids, sync and triage. Thread-safe; every call
/// is synchronous and may block on disk or network, so call it off the main thread.
#[derive(uniffi::Object)]
pub struct GridlineClient {
    inner: RwLock<Option<Arc<core::Client>>>,
    server: RwLock<Option<core::SyncContext>>,
}

impl GridlineClient {
    fn client(&self) -> Result<Arc<core::Client>, GridlineError> {
        self.inner
            .read()
            .map_err(|_| GridlineError::Closed)?
            .clone()
            .ok_or(GridlineError::Closed)
    }

    fn context(&self) -> Result<core::SyncContext, GridlineError> {
        self.client()?;
        self.server
            .read()
            .map_err(|_| GridlineError::Closed)?
            .clone()
            .ok_or_else(|| GridlineError::Validation {
                field: "server".into(),
                reason: "no grid server configured: call set_server first".into(),
            })
    }
}

#[uniffi::export]
impl GridlineClient {
    /// Opens (creating or migrating) the store at `config.db_path`.
    #[uniffi::constructor]
    pub fn open(config: ClientConfig) -> Result<Arc<Self>, GridlineError> {
        let client = core::Client::open(core::ClientConfig {
            db_path: config.db_path.into(),
            reporter: config.reporter,
            app_version: config.app_version,
        })?;
        Ok(Arc::new(GridlineClient {
            inner: RwLock::new(Some(Arc::new(client))),
            server: RwLock::new(None),
        }))
    }

    /// Sets the grid server, login and (optionally) the app's HTTP transport for sync and triage.
    pub fn set_server(&self, server: ServerConfig) -> Result<(), GridlineError> {
        self.client()?;
        gridline_core::transport::check_server_url(&server.url)?;
        let transport: Arc<dyn gridline_core::transport::HttpTransport> = match server.transport {
            Some(t) => Arc::new(ForeignTransport(t)),
            None => builtin_transport()?,
        };
        let ctx = core::SyncContext {
            server_url: server.url,
            transport,
            tokens: Arc::new(ForeignTokens(server.tokens)),
        };
        *self.server.write().map_err(|_| GridlineError::Closed)? = Some(ctx);
        Ok(())
    }

    /// Closes the store (named so it does not clash with Kotlin's `AutoCloseable.close`, which
    /// releases the native object). Any later call, including a second `close_store`, fails
    /// with `Closed`.
    pub fn close_store(&self) -> Result<(), GridlineError> {
        let mut slot = self.inner.write().map_err(|_| GridlineError::Closed)?;
        let client = slot.take().ok_or(GridlineError::Closed)?;
        // A running sync keeps its own reference; it stops at its next safe point.
        client.cancel_sync();
        if let Ok(mut s) = self.server.write() {
            *s = None;
        }
        Ok(())
    }

    /// Registers an observer of the sync status and of data changes (told the current status
    /// at once); returns the id that removes it.
    pub fn add_observer(&self, observer: Arc<dyn ClientObserver>) -> Result<i64, GridlineError> {
        Ok(signed(
            self.client()?
                .add_observer(Arc::new(ForeignObserver(observer)))
                .0,
        ))
    }

    /// Removes an observer; `false` when it was not registered.
    pub fn remove_observer(&self, id: i64) -> Result<bool, GridlineError> {
        let Ok(id) = u64::try_from(id) else {
            return Ok(false);
        };
        Ok(self.client()?.remove_observer(core::ObserverId(id)))
    }

    /// The sync status as this client last saw it.
    pub fn sync_status(&self) -> Result<SyncStatus, GridlineError> {
        Ok(self.client()?.sync_status().into())
    }

    /// Asks the running sync, if any, to stop at its next safe point.
    pub fn cancel_sync(&self) {
        if let Ok(c) = self.client() {
            c.cancel_sync();
        }
    }

    /// Sign-out: deletes all reports, photos (files too), locations, tickets and triage
    /// decisions. Refuses with `Unsent` while work is not on the server, unless `force`; with
    /// `Busy` while a sync runs. Close the client afterwards.
    pub fn wipe(&self, force: bool) -> Result<(), GridlineError> {
        Ok(self.client()?.wipe(force)?)
    }

    /// Starts a report of `kind`; its id is made now and never changes.
    pub fn create_draft(&self, kind: ReportKind) -> Result<Report, GridlineError> {
        Ok(self.client()?.create_draft(kind.into())?.into())
    }

    /// Changes a draft (or a parked report being fixed); each value is checked now.
    pub fn update_draft(&self, id: String, patch: DraftPatch) -> Result<Report, GridlineError> {
        Ok(self
            .client()?
            .update_draft(parse_id(&id)?, patch.try_into()?)?
            .into())
    }

    /// Processes the photo file at `path` (upright, resized, no metadata) and attaches it.
    pub fn attach_photo(&self, id: String, path: String) -> Result<PhotoRef, GridlineError> {
        Ok(self
            .client()?
            .attach_photo(parse_id(&id)?, Path::new(&path))?
            .into())
    }

    /// Removes a photo from an editable report.
    pub fn detach_photo(&self, id: String, sha256: String) -> Result<(), GridlineError> {
        Ok(self.client()?.detach_photo(parse_id(&id)?, &sha256)?)
    }

    /// The file path of a processed photo or its thumbnail, for display.
    pub fn photo_path(&self, sha256: String, thumbnail: bool) -> Result<String, GridlineError> {
        Ok(self
            .client()?
            .photo_path(&sha256, thumbnail)?
            .to_string_lossy()
            .into_owned())
    }

    /// A fix from a photo's EXIF GPS tags (provider `photo_exif`), if it has any.
    pub fn location_from_photo(&self, path: String) -> Result<Option<LocationFix>, GridlineError> {
        Ok(self
            .client()?
            .location_from_photo(Path::new(&path))?
            .map(Into::into))
    }

    /// Validates and queues the report; when this returns it is on disk and will be sent once.
    pub fn submit(&self, id: String) -> Result<Report, GridlineError> {
        Ok(self.client()?.submit(parse_id(&id)?)?.into())
    }

    /// One report.
    pub fn get(&self, id: String) -> Result<Report, GridlineError> {
        Ok(self.client()?.get(parse_id(&id)?)?.into())
    }

    /// Reports in `states` (all when empty), newest first, at most `limit`.
    pub fn list(
        &self,
        states: Vec<ReportState>,
        limit: Option<i32>,
    ) -> Result<Vec<Report>, GridlineError> {
        let filter = core::ListFilter {
            states: states.into_iter().map(Into::into).collect(),
            limit: limit.map(|n| u32::try_from(n.max(0)).unwrap_or(0)),
        };
        Ok(self
            .client()?
            .list(&filter)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// One page of the queue screen: rows in `states` (all when empty), newest first, at most
    /// `limit`, after `after` (the last row of the previous page; `None` for the first page).
    /// Much cheaper than `list`: no payload decoding, no photo records.
    pub fn list_rows(
        &self,
        states: Vec<ReportState>,
        limit: Option<i32>,
        after: Option<ListCursor>,
    ) -> Result<Vec<ReportRow>, GridlineError> {
        let filter = core::ListFilter {
            states: states.into_iter().map(Into::into).collect(),
            limit: limit.map(|n| u32::try_from(n.max(0)).unwrap_or(0)),
        };
        let after = match after {
            Some(c) => Some(core::ListCursor {
                created_at: gridline_protocol::Timestamp::from_millis(c.created_at_ms),
                id: parse_id(&c.id)?,
            }),
            None => None,
        };
        Ok(self
            .client()?
            .list_rows(&filter, after.as_ref())?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Deletes a draft that was never submitted.
    pub fn delete_draft(&self, id: String) -> Result<(), GridlineError> {
        Ok(self.client()?.delete_draft(parse_id(&id)?)?)
    }

    /// Report counts per state, for a badge.
    pub fn counts(&self) -> Result<Counts, GridlineError> {
        Ok(self.client()?.counts()?.into())
    }

    /// The catalog reports are validated against.
    pub fn catalog(&self) -> Result<Catalog, GridlineError> {
        Ok(Catalog::from(&*self.client()?.catalog()))
    }

    /// Installs grid polygons (GeoJSON in `crs`) after validating them; returns their version.
    pub fn install_grids(
        &self,
        geojson: String,
        crs: CoordSystem,
    ) -> Result<String, GridlineError> {
        Ok(self.client()?.install_grids(&geojson, crs.into())?)
    }

    /// The grid containing a WGS-84 point, offline.
    pub fn locate_grid(&self, lon: f64, lat: f64) -> Result<Option<GridInfo>, GridlineError> {
        Ok(self.client()?.locate_grid(lon, lat)?.map(Into::into))
    }

    /// Reports of `category` within `radius_m` of a point in the last `days` days, nearest first.
    pub fn nearby_reports(
        &self,
        lon: f64,
        lat: f64,
        category: String,
        radius_m: f64,
        days: i32,
    ) -> Result<Vec<NearbyReport>, GridlineError> {
        let days = u32::try_from(days).map_err(|_| GridlineError::Validation {
            field: "days".into(),
            reason: "must not be negative".into(),
        })?;
        Ok(self
            .client()?
            .nearby_reports(lon, lat, &category, radius_m, days)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Sends the outbox, uploads photos, pulls ticket changes. Network trouble does not throw:
    /// the summary says `incomplete` and when to retry. `handle` cancels it from another thread.
    pub fn sync(
        &self,
        settings: SyncSettings,
        listener: Option<Arc<dyn SyncProgressListener>>,
        handle: Arc<SyncHandle>,
    ) -> Result<SyncSummary, GridlineError> {
        let ctx = self.context()?;
        let observer = listener.map(ForeignProgress);
        let observer_ref = observer.as_ref().map(|o| o as &dyn core::SyncObserver);
        Ok(self
            .client()?
            .sync(&ctx, &settings.into(), observer_ref, &handle.token)?
            .into())
    }

    /// When the platform scheduler (WorkManager, BGTaskScheduler) should run sync again, in ms
    /// since the epoch; `None` when no retry is pending.
    pub fn next_retry_at_ms(&self) -> Result<Option<i64>, GridlineError> {
        Ok(self.client()?.next_retry_at()?.map(|t| t.as_millis()))
    }

    /// Supervisor: pulls the tickets of their grids (optionally only these statuses).
    pub fn refresh_worklist(&self, statuses: Vec<TicketStatus>) -> Result<i64, GridlineError> {
        let status = (!statuses.is_empty()).then(|| {
            statuses
                .into_iter()
                .map(|s| gridline_protocol::wire::TicketStatus::from(s).as_str())
                .collect::<Vec<_>>()
                .join(",")
        });
        let query = TicketQuery {
            status,
            ..Default::default()
        };
        Ok(signed(
            self.client()?.refresh_worklist(&self.context()?, &query)?,
        ))
    }

    /// Supervisor: the offline worklist, optionally only tickets in `statuses`.
    pub fn worklist(&self, statuses: Vec<TicketStatus>) -> Result<Vec<Ticket>, GridlineError> {
        let statuses: Vec<_> = statuses.into_iter().map(Into::into).collect();
        Ok(self
            .client()?
            .worklist(&statuses)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Supervisor: decides on a ticket offline; sent by `send_triage`.
    pub fn queue_triage(
        &self,
        ticket_id: String,
        action: TriageAction,
    ) -> Result<i64, GridlineError> {
        Ok(self.client()?.queue_triage(&ticket_id, action.into())?)
    }

    /// Supervisor: decisions queued, sent, in conflict or failed.
    pub fn triage_actions(&self) -> Result<Vec<QueuedTriage>, GridlineError> {
        Ok(self
            .client()?
            .triage_actions()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Supervisor: sends queued decisions with the ticket versions they were made on.
    pub fn send_triage(&self) -> Result<TriageSummary, GridlineError> {
        Ok(self.client()?.send_triage(&self.context()?)?.into())
    }
}

/// Whether this library carries the built-in HTTPS transport (reqwest + rustls) that
/// `set_server` uses when the app passes none. The Android and iOS release libraries do not
/// (docs/size.md): there the app passes its HTTP stack, and the Kotlin SDK passes OkHttp itself.
#[uniffi::export]
pub fn has_builtin_transport() -> bool {
    cfg!(feature = "builtin-transport")
}

#[cfg(feature = "builtin-transport")]
fn builtin_transport() -> Result<Arc<dyn gridline_core::transport::HttpTransport>, GridlineError> {
    let t =
        gridline_core::transport::DefaultTransport::new().map_err(|e| GridlineError::Network {
            reason: e.to_string(),
            retryable: false,
        })?;
    Ok(Arc::new(t))
}

#[cfg(not(feature = "builtin-transport"))]
fn builtin_transport() -> Result<Arc<dyn gridline_core::transport::HttpTransport>, GridlineError> {
    Err(GridlineError::Validation {
        field: "transport".into(),
        reason: "this library has no built-in HTTP transport: pass the app's (OkHttp, URLSession)"
            .into(),
    })
}
