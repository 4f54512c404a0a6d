//! `GridlineClient`: the one long-lived object an app holds — a rider's (or supervisor's)
//! device store, with sync and triage against the configured grid server. Each method
//! forwards to [`gridline_core::Client`]; the records it takes and returns are the core's.

use std::path::Path;
use std::sync::{Arc, RwLock};

use gridline_core::ffi::signer::{DeviceSigner, ForeignSigner};
use gridline_core::store::QueuedTriage;
use gridline_core::sync::triage::TriageSummary;
use gridline_core::{self as core, GridlineError, ListCursor, ListFilter};
use gridline_core::{ClientObserver, Counts, DraftPatch, LocalReport, ReportRow, ReportState};
use gridline_core::{SyncObserver, SyncSettings, SyncStatus, SyncSummary};
use gridline_core::{client::NearbyReport, geo::GridInfo};
use gridline_protocol::evidence::FraudSignal;
use gridline_protocol::wire::{TicketQuery, TicketStatus, TriageAction, VerificationTask};
use gridline_protocol::{Catalog, CoordSystem, FieldError, LocationFix, PhotoRef, ReportKind};
use uuid::Uuid;

use gridline_core::ffi::foreign::{ForeignTokens, ForeignTransport, HttpTransport, TokenProvider};
use gridline_core::ffi::ticket::Ticket;
use gridline_core::ffi::wait::Stop;

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
    /// The app's HTTP stack; `None` uses the built-in one (rustls) where the library has it.
    #[uniffi(default = None)]
    pub transport: Option<Arc<dyn HttpTransport>>,
}

/// Cancels a running sync: the app's request in flight is cancelled, the run stops before the
/// next. Make one per run; cancelling a finished run does nothing.
#[derive(Debug, Default, uniffi::Object)]
pub struct SyncHandle(core::CancelToken);

#[uniffi::export]
impl SyncHandle {
    /// A fresh handle.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// The server as `set_server` configured it; each run gets its own adapters ([`Server::context`]).
#[derive(Clone)]
struct Server {
    url: String,
    tokens: Arc<dyn TokenProvider>,
    transport: Transport,
}

/// The app's transport, or the library's built-in one.
#[derive(Clone)]
enum Transport {
    App(Arc<dyn HttpTransport>),
    Builtin(Arc<dyn gridline_core::transport::HttpTransport>),
}

impl Server {
    /// The core's context for one run: the app's adapters stop waiting once `stop` fires.
    fn context(&self, stop: Stop) -> core::SyncContext {
        let transport: Arc<dyn gridline_core::transport::HttpTransport> = match &self.transport {
            Transport::App(t) => Arc::new(ForeignTransport {
                inner: Arc::clone(t),
                stop: stop.clone(),
            }),
            Transport::Builtin(t) => Arc::clone(t),
        };
        core::SyncContext {
            server_url: self.url.clone(),
            transport,
            tokens: Arc::new(ForeignTokens {
                inner: Arc::clone(&self.tokens),
                stop,
            }),
        }
    }
}

/// A Gridline device: offline store, catalog, grids, sync and triage. Thread-safe; every call
/// is synchronous and may block on disk or network, so call it off the main thread.
#[derive(uniffi::Object)]
pub struct GridlineClient {
    inner: RwLock<Option<Arc<core::Client>>>,
    server: RwLock<Option<Server>>,
    /// Cancelled by `close_store`: the app's token provider and transport are abandoned.
    closing: core::CancelToken,
}

type Result<T> = std::result::Result<T, GridlineError>;

impl GridlineClient {
    fn client(&self) -> Result<Arc<core::Client>> {
        let slot = self.inner.read().map_err(|_| GridlineError::Closed)?;
        slot.clone().ok_or(GridlineError::Closed)
    }

    /// The core's context for one call; `run` is the call's cancel token (its `SyncHandle`).
    fn context(&self, run: &core::CancelToken) -> Result<core::SyncContext> {
        self.client()?;
        let slot = self.server.read().map_err(|_| GridlineError::Closed)?;
        let server = slot.as_ref().ok_or_else(|| GridlineError::Validation {
            field: "server".into(),
            reason: "no grid server configured: call set_server first".into(),
        })?;
        Ok(server.context(Stop {
            run: run.clone(),
            closing: self.closing.clone(),
        }))
    }
}

#[uniffi::export]
impl GridlineClient {
    /// Opens (creating or migrating) the store at `config.db_path`.
    #[uniffi::constructor]
    pub fn open(config: ClientConfig) -> Result<Arc<Self>> {
        let client = core::Client::open(core::ClientConfig {
            db_path: config.db_path.into(),
            reporter: config.reporter,
            app_version: config.app_version,
        })?;
        Ok(Arc::new(GridlineClient {
            inner: RwLock::new(Some(Arc::new(client))),
            server: RwLock::new(None),
            closing: core::CancelToken::new(),
        }))
    }

    /// Sets the grid server, login and (optionally) the app's HTTP transport for sync and triage.
    pub fn set_server(&self, server: ServerConfig) -> Result<()> {
        self.client()?;
        gridline_core::transport::check_server_url(&server.url)?;
        let transport = match server.transport {
            Some(t) => Transport::App(t),
            None => Transport::Builtin(gridline_core::transport::builtin()?),
        };
        let server = Server {
            url: server.url,
            tokens: server.tokens,
            transport,
        };
        *self.server.write().map_err(|_| GridlineError::Closed)? = Some(server);
        Ok(())
    }

    /// Closes the store (named so it does not clash with Kotlin's `AutoCloseable.close`, which
    /// releases the native object) and stops a running sync, cancelling the request in flight.
    /// Any later call, including a second `close_store`, fails with `Closed`.
    pub fn close_store(&self) -> Result<()> {
        self.closing.cancel();
        let mut slot = self.inner.write().map_err(|_| GridlineError::Closed)?;
        slot.take().ok_or(GridlineError::Closed)?.cancel_sync();
        *self.server.write().map_err(|_| GridlineError::Closed)? = None;
        Ok(())
    }

    /// Registers an observer of the sync status and of data changes (told the current status
    /// at once); returns the id that removes it (signed for Kotlin and Swift, never negative).
    pub fn add_observer(&self, observer: Arc<dyn ClientObserver>) -> Result<i64> {
        let id = self.client()?.add_observer(observer).0;
        Ok(i64::try_from(id).unwrap_or(i64::MAX))
    }

    /// Removes an observer; `false` when it was not registered (or `id` is negative).
    pub fn remove_observer(&self, id: i64) -> Result<bool> {
        let client = self.client()?;
        Ok(u64::try_from(id).is_ok_and(|id| client.remove_observer(core::ObserverId(id))))
    }

    /// The sync status as this client last saw it.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        Ok(self.client()?.sync_status())
    }

    /// Asks the running sync, if any, to stop; the app's request in flight is cancelled.
    pub fn cancel_sync(&self) {
        if let Ok(client) = self.client() {
            client.cancel_sync();
        }
    }

    /// Sign-out: deletes all reports, photos (files too), locations, tickets and triage
    /// decisions. Refuses with `Unsent` while work is not on the server, unless `force`; with
    /// `Busy` while a sync runs. Close the client afterwards.
    pub fn wipe(&self, force: bool) -> Result<()> {
        self.client()?.wipe(force)
    }

    /// Starts a report of `kind`; its id is made now and never changes.
    pub fn create_draft(&self, kind: ReportKind) -> Result<LocalReport> {
        self.client()?.create_draft(kind)
    }

    /// Changes a draft (or a parked report being fixed); each value is checked now.
    pub fn update_draft(&self, id: Uuid, patch: DraftPatch) -> Result<LocalReport> {
        self.client()?.update_draft(id, patch)
    }

    /// Processes the photo file at `path` (upright, resized, no metadata) and attaches it.
    pub fn attach_photo(&self, id: Uuid, path: String) -> Result<PhotoRef> {
        self.client()?.attach_photo(id, Path::new(&path))
    }

    /// Removes a photo from an editable report.
    pub fn detach_photo(&self, id: Uuid, sha256: String) -> Result<()> {
        self.client()?.detach_photo(id, &sha256)
    }

    /// The file path of a processed photo or its thumbnail, for display.
    pub fn photo_path(&self, sha256: String, thumbnail: bool) -> Result<String> {
        let path = self.client()?.photo_path(&sha256, thumbnail)?;
        Ok(path.to_string_lossy().into_owned())
    }

    /// A fix from a photo's EXIF GPS tags (provider `photo_exif`), if it has any.
    pub fn location_from_photo(&self, path: String) -> Result<Option<LocationFix>> {
        self.client()?.location_from_photo(Path::new(&path))
    }

    /// Signs this installation's reports from now on with the app's key (Android Keystore,
    /// Secure Enclave); returns its key id. The next sync registers it. A signer that fails at
    /// submit leaves that report unsigned, never unfiled; one whose public key fails here is
    /// refused (`Storage`) and the current key stays.
    pub fn set_signer(&self, signer: Arc<dyn DeviceSigner>) -> Result<String> {
        self.client()?.set_signer(Arc::new(ForeignSigner(signer)))
    }

    /// Rotation: signs from now on with a fresh software key (the previous keys stay
    /// registered, so what they signed still verifies); returns the new key id.
    pub fn rotate_signing_key(&self) -> Result<String> {
        self.client()?.rotate_signing_key()
    }

    /// The id of the key that signs this installation's reports now.
    pub fn signing_key_id(&self) -> Result<String> {
        self.client()?.signing_key_id()
    }

    /// Validates and queues the report; when this returns it is on disk and will be sent once.
    pub fn submit(&self, id: Uuid) -> Result<LocalReport> {
        self.client()?.submit(id)
    }

    /// One report.
    pub fn get(&self, id: Uuid) -> Result<LocalReport> {
        self.client()?.get(id)
    }

    /// Reports in `states` (all when empty), newest first, at most `limit`.
    pub fn list(&self, states: Vec<ReportState>, limit: Option<i32>) -> Result<Vec<LocalReport>> {
        self.client()?.list(&ListFilter::new(states, limit))
    }

    /// One page of the queue screen: rows in `states` (all when empty), newest first, at most
    /// `limit`, after `after` (the last row of the previous page; `None` for the first page).
    /// Much cheaper than `list`: no payload decoding, no photo records.
    pub fn list_rows(
        &self,
        states: Vec<ReportState>,
        limit: Option<i32>,
        after: Option<ListCursor>,
    ) -> Result<Vec<ReportRow>> {
        let filter = ListFilter::new(states, limit);
        self.client()?.list_rows(&filter, after.as_ref())
    }

    /// Deletes a draft that was never submitted.
    pub fn delete_draft(&self, id: Uuid) -> Result<()> {
        self.client()?.delete_draft(id)
    }

    /// Report counts per state, for a badge.
    pub fn counts(&self) -> Result<Counts> {
        self.client()?.counts()
    }

    /// The catalog reports are validated against.
    pub fn catalog(&self) -> Result<Catalog> {
        Ok(Catalog::clone(&self.client()?.catalog()))
    }

    /// Installs grid polygons (GeoJSON in `crs`) after validating them; returns their version.
    pub fn install_grids(&self, geojson: String, crs: CoordSystem) -> Result<String> {
        self.client()?.install_grids(&geojson, crs)
    }

    /// The grid containing a WGS-84 point, offline.
    pub fn locate_grid(&self, lon: f64, lat: f64) -> Result<Option<GridInfo>> {
        self.client()?.locate_grid(lon, lat)
    }

    /// Reports of `category` within `radius_m` of a point in the last `days` days, best
    /// candidate first, each with its score and reason.
    pub fn nearby_reports(
        &self,
        lon: f64,
        lat: f64,
        category: String,
        radius_m: f64,
        days: i32,
    ) -> Result<Vec<NearbyReport>> {
        let days =
            u32::try_from(days).map_err(|_| FieldError::new("days", "must not be negative"))?;
        self.client()?
            .nearby_reports(lon, lat, &category, radius_m, days)
    }

    /// Duplicate candidates for report `id` (draft or filed): nearby reports and worklist
    /// tickets ranked by photo similarity, distance, category and time, best first, each
    /// with its similarity and reason ("photo 94 % similar, 12 m away, ..."). Offline.
    pub fn nearby_candidates(
        &self,
        id: Uuid,
        radius_m: f64,
        days: i32,
    ) -> Result<Vec<NearbyReport>> {
        self.client()?
            .nearby_candidates(id, radius_m, i64::from(days))
    }

    /// The fraud signals of submitted report `id` as the device sees them offline (mock
    /// location, stale fix, photo time or place far off, no camera EXIF, a re-used photo,
    /// impossible speed); the server re-checks them. Empty for a draft.
    pub fn fraud_signals(&self, id: Uuid) -> Result<Vec<FraudSignal>> {
        self.client()?.fraud_signals(id)
    }

    /// Supervisor: the server's duplicate candidates for ticket `ticket_id`, ranked by photo
    /// similarity, distance, category and time, best first, each with its reason (`note` and
    /// `state` are empty: the server does not send them). `handle` cancels the request.
    pub fn ticket_candidates(
        &self,
        ticket_id: String,
        handle: Arc<SyncHandle>,
    ) -> Result<Vec<NearbyReport>> {
        let ctx = self.context(&handle.0)?;
        let list = self.client()?.ticket_candidates(&ctx, &ticket_id)?;
        Ok(list.candidates.into_iter().map(Into::into).collect())
    }

    /// Sends the outbox, uploads photos, pulls ticket changes. Network trouble does not throw:
    /// the summary says `incomplete` and when to retry. `handle` cancels it from another thread,
    /// the app's request in flight included (its coroutine or task is cancelled).
    pub fn sync(
        &self,
        settings: SyncSettings,
        listener: Option<Arc<dyn SyncObserver>>,
        handle: Arc<SyncHandle>,
    ) -> Result<SyncSummary> {
        let (ctx, listener) = (self.context(&handle.0)?, listener.as_deref());
        self.client()?
            .sync(&ctx, &settings.into(), listener, &handle.0)
    }

    /// When the platform scheduler (JobScheduler, BGTaskScheduler) should run sync again;
    /// `None` when no retry is pending.
    pub fn next_retry_at(&self) -> Result<Option<gridline_protocol::Timestamp>> {
        self.client()?.next_retry_at()
    }

    /// Rider: verification tasks (核查) as the last sync pulled them (works offline).
    pub fn tasks(&self) -> Result<Vec<VerificationTask>> {
        self.client()?.tasks()
    }

    /// Rider: starts a verification of `ticket_id` (is the problem `fixed`?) as a draft; add a
    /// photo and the location, then submit it like any report.
    pub fn create_verification(&self, ticket_id: String, fixed: bool) -> Result<LocalReport> {
        self.client()?.create_verification(&ticket_id, fixed)
    }

    /// Supervisor: pulls the tickets of their grids (only these statuses, when not empty).
    /// `handle` cancels it like a sync (the app's request in flight included); a cancelled
    /// refresh fails with a retryable `Network` error.
    pub fn refresh_worklist(
        &self,
        statuses: Vec<TicketStatus>,
        handle: Arc<SyncHandle>,
    ) -> Result<i64> {
        let query = TicketQuery::with_statuses(&statuses);
        let ctx = self.context(&handle.0)?;
        self.client()?
            .refresh_worklist_with_cancel(&ctx, &query, &handle.0)
    }

    /// Supervisor: the offline worklist, optionally only tickets in `statuses`.
    pub fn worklist(&self, statuses: Vec<TicketStatus>) -> Result<Vec<Ticket>> {
        let tickets = self.client()?.worklist(&statuses)?;
        Ok(tickets.into_iter().map(Into::into).collect())
    }

    /// Supervisor: decides on a ticket offline; sent by `send_triage`.
    pub fn queue_triage(&self, ticket_id: String, action: TriageAction) -> Result<i64> {
        self.client()?.queue_triage(&ticket_id, action)
    }

    /// Supervisor: decisions queued, sent, in conflict or failed.
    pub fn triage_actions(&self) -> Result<Vec<QueuedTriage>> {
        self.client()?.triage_actions()
    }

    /// Supervisor: sends queued decisions with the ticket versions they were made on. `handle`
    /// cancels it like a sync; what was not sent stays queued (`remaining`).
    pub fn send_triage(&self, handle: Arc<SyncHandle>) -> Result<TriageSummary> {
        let ctx = self.context(&handle.0)?;
        self.client()?.send_triage_with_cancel(&ctx, &handle.0)
    }
}
