//! The core's public API for a rider's device: open the store, write drafts, submit them into
//! the outbox, read the queue. Plain Rust; the FFI crate maps it one to one.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use gridline_protocol::catalog::validate_attributes;
use gridline_protocol::report::check_text;
use gridline_protocol::{
    Catalog, CoordSystem, FieldError, LocationFix, LocationProvider, MAX_NOTE_CHARS, PhotoRef,
    Report, ReportKind, Severity, Timestamp,
};
use uuid::Uuid;

use crate::error::{Error, GridlineError, Result};
use crate::evidence::{self, Signer, SoftwareSigner};
use crate::geo::{self, GeoError, GridIndex, GridInfo, GridSet};
use crate::model::{Counts, DraftPatch, LocalReport, ReportState};
use crate::photo::{self, PhotoOptions};
use crate::store::{
    ListCursor, ListFilter, NewPhoto, OrphanFiles, PhotoPositions, QueuedTriage, ReportRow, Store,
};
use crate::sync::lease::SyncLease;
use crate::sync::status::Observers;
use crate::sync::triage::TriageSummary;
use crate::sync::{
    CancelToken, Change, ClientObserver, Device, ObserverId, SyncContext, SyncObserver,
    SyncOptions, SyncPhase, SyncProgress, SyncStatus, SyncSummary,
};
use gridline_protocol::verification::{self, VerificationClaim};
use gridline_protocol::wire::{Ticket, TicketQuery, TicketStatus, TriageAction, VerificationTask};

/// Where the time comes from; tests pass a fixed clock.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// What the host app tells the core when it opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The SQLite file that holds everything (created if missing).
    pub db_path: PathBuf,
    /// The signed-in rider's id, stamped on every report.
    pub reporter: String,
    /// The host app's version, sent with reports for support.
    pub app_version: String,
}

/// A rider's device: the offline store plus the catalog it validates against.
/// Safe to share between threads; every method is one transaction.
pub struct Client {
    store: Mutex<Store>,
    catalog: RwLock<Arc<Catalog>>,
    /// The grid index, built on first use from the cached grids (`None` inside: no grids yet).
    grids: RwLock<Option<Option<Arc<GridIndex>>>>,
    photo_options: PhotoOptions,
    config: ClientConfig,
    clock: Clock,
    observers: Observers,
    /// The cancel token of the sync this client is running, if any.
    running: Mutex<Option<CancelToken>>,
    /// Signs reports at submit: the software default, or the platform's key.
    signer: RwLock<Arc<dyn Signer>>,
}

/// The settings key of the cached catalog document.
const CATALOG_DOC: &str = "catalog";
/// The cached grids document (normalised WGS-84 GeoJSON).
const GRIDS_DOC: &str = "grids";
/// Accuracy assumed for a position read from a photo's EXIF: cameras rarely record one, and a
/// phone's photo fix is typically a few tens of metres off.
pub const PHOTO_FIX_ACCURACY_M: f64 = 50.0;
/// Default radius of the nearby-duplicate hint, in metres.
pub const NEARBY_RADIUS_M: f64 = 50.0;

/// A report near a draft that may describe the same problem.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NearbyReport {
    /// The report's id (local reports) or the ticket's report id (worklist tickets).
    pub report_id: Uuid,
    /// The server's ticket, when known.
    pub ticket_id: Option<String>,
    /// Distance from the point asked about, in metres.
    pub distance_m: f64,
    /// Local outbox state, for the device's own reports.
    pub state: Option<ReportState>,
    /// The ticket's status, when known.
    pub ticket_status: Option<TicketStatus>,
    /// When it was filed.
    pub created_at: Timestamp,
    /// Its note.
    pub note: String,
    /// How likely it is the same problem, 0..=1 ([`crate::duplicates::rank`]).
    pub score: f64,
    /// The best similarity between its photos and the report's, 0..=1, when both have
    /// hashed photos on this device.
    pub similarity: Option<f64>,
    /// Whether it has the same category.
    pub same_category: bool,
    /// Why it is a candidate, e.g. "photo 94 % similar, 12 m away, same category, 2 days ago".
    pub reason: String,
}

/// A server duplicate candidate in the device's shape (no local state; the server's
/// candidate carries no note).
impl From<gridline_protocol::wire::DuplicateCandidate> for NearbyReport {
    fn from(c: gridline_protocol::wire::DuplicateCandidate) -> Self {
        NearbyReport {
            report_id: c.report_id,
            ticket_id: Some(c.ticket_id),
            distance_m: c.distance_m,
            state: None,
            ticket_status: Some(c.status),
            created_at: c.submitted_at,
            note: String::new(),
            score: c.score,
            similarity: c.similarity,
            same_category: c.same_category,
            reason: c.reason,
        }
    }
}

impl NearbyReport {
    fn new(
        report_id: Uuid,
        ticket_id: Option<String>,
        distance_m: f64,
        created_at: Timestamp,
    ) -> Self {
        Self {
            report_id,
            ticket_id,
            distance_m,
            state: None,
            ticket_status: None,
            created_at,
            note: String::new(),
            score: 0.0,
            similarity: None,
            same_category: true,
            reason: String::new(),
        }
    }

    fn local(
        mut self,
        state: ReportState,
        ticket_status: Option<TicketStatus>,
        note: String,
    ) -> Self {
        self.state = Some(state);
        self.ticket_status = ticket_status;
        self.note = note;
        self
    }
}

/// Ranks `hit` into `found` when it is within `radius_m` and a candidate at all.
fn consider(
    found: &mut Vec<(crate::duplicates::Ranking, f64, NearbyReport)>,
    radius_m: f64,
    facts: crate::duplicates::CandidateFacts,
    mut hit: NearbyReport,
) {
    use crate::duplicates;
    if facts.distance_m <= radius_m && duplicates::is_candidate(&facts) {
        let ranking = duplicates::rank(&facts);
        hit.score = ranking.score;
        hit.reason = ranking.reason.clone();
        hit.similarity = facts.similarity;
        hit.same_category = facts.same_category;
        found.push((ranking, facts.distance_m, hit));
    }
}

/// The report a nearby search is about.
struct Probe<'a> {
    exclude: Option<Uuid>,
    lon: f64,
    lat: f64,
    category: &'a str,
    at: Timestamp,
    phashes: Vec<crate::photo::PerceptualHash>,
}

impl Client {
    /// Opens (creating or migrating) the store at `config.db_path`.
    pub fn open(config: ClientConfig) -> Result<Client, GridlineError> {
        Self::open_with_clock(config, Arc::new(Timestamp::now))
    }

    /// Like [`Client::open`], with the time taken from `clock`.
    pub fn open_with_clock(config: ClientConfig, clock: Clock) -> Result<Client, GridlineError> {
        if config.reporter.trim().is_empty() {
            return Err(FieldError::new("reporter", "must name the signed-in rider").into());
        }
        check_text(
            "reporter",
            &config.reporter,
            gridline_protocol::report::MAX_ID_CHARS,
            false,
        )?;
        check_text(
            "app_version",
            &config.app_version,
            gridline_protocol::report::MAX_ID_CHARS,
            false,
        )?;
        let mut store = Store::open(&config.db_path)?;
        let signer = software_signer(&mut store, clock())?;
        let catalog = match store.cached_document(CATALOG_DOC)? {
            // A cached catalog was validated before it was stored; if it no longer parses
            // (an older build wrote it), fall back to the built-in one rather than fail.
            Some(doc) => Catalog::from_json(&doc.body).unwrap_or_else(|_| Catalog::builtin()),
            None => Catalog::builtin(),
        };
        let client = Client {
            store: Mutex::new(store),
            catalog: RwLock::new(Arc::new(catalog)),
            grids: RwLock::new(None),
            photo_options: PhotoOptions::default(),
            config,
            clock,
            observers: Observers::new(SyncStatus::Idle),
            running: Mutex::new(None),
            signer: RwLock::new(signer),
        };
        // A retry time left by an earlier run is this client's starting status.
        if let Some(until) = client.next_retry_at()?.filter(|t| *t > client.now()) {
            client.observers.set_status(SyncStatus::Waiting {
                until,
                last_error: None,
            });
        }
        Ok(client)
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave SQLite half-written (the transaction
        // rolls back), so the store behind a poisoned lock is still consistent.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current time by the client's clock.
    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The folder that holds processed photos, beside the database (`rider.db` -> `rider.media/`).
    pub fn media_dir(&self) -> PathBuf {
        self.config.db_path.with_extension("media")
    }

    /// Sends what is queued, uploads photos and pulls ticket changes; see [`crate::sync`].
    ///
    /// One sync at a time per database: while another runs (a thread of this process, or
    /// another process on the same file) this fails at once with [`GridlineError::Busy`] and
    /// changes nothing. The run's progress and outcome also go to [`Client::sync_status`] and
    /// its observers.
    pub fn sync(
        &self,
        ctx: &SyncContext,
        options: &SyncOptions,
        observer: Option<&dyn SyncObserver>,
        cancel: &CancelToken,
    ) -> Result<SyncSummary, GridlineError> {
        let _lease = SyncLease::acquire(&self.config.db_path, "sync")?;
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(cancel.clone());
        self.observers
            .set_status(SyncStatus::Syncing { progress: None });
        let tracker = StatusTracker {
            client: self,
            inner: observer,
        };
        let result = crate::sync::engine::sync(self, ctx, options, Some(&tracker), cancel);
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.observers.changed(Change::Reports);
        self.observers.set_status(match &result {
            Ok(s) => match s.next_retry_at {
                Some(until) => SyncStatus::Waiting {
                    until,
                    last_error: s.last_error.clone(),
                },
                None => SyncStatus::Idle,
            },
            Err(e) => SyncStatus::Failed {
                error: e.to_string(),
            },
        });
        result
    }

    /// Asks the sync this client is running, if any, to stop at its next safe point.
    pub fn cancel_sync(&self) {
        if let Some(token) = &*self.running.lock().unwrap_or_else(|p| p.into_inner()) {
            token.cancel();
        }
    }

    /// The sync status as this client last saw it.
    pub fn sync_status(&self) -> SyncStatus {
        self.observers.status()
    }

    /// Registers an observer of the sync status and of data changes; it is told the current
    /// status at once.
    pub fn add_observer(&self, observer: Arc<dyn ClientObserver>) -> ObserverId {
        let status = self.sync_status();
        let id = self.observers.add(Arc::clone(&observer));
        observer.on_status(status);
        id
    }

    /// Removes an observer; `false` when it was not registered.
    pub fn remove_observer(&self, id: ObserverId) -> bool {
        self.observers.remove(id)
    }

    /// Tells the observers that `change` happened (for the sync and triage modules).
    pub(crate) fn changed(&self, change: Change) {
        self.observers.changed(change);
    }

    /// Sign-out: deletes every report, photo (rows and files in the media folder), location,
    /// ticket, worklist entry and triage decision, and the user's sync state. Refuses with
    /// [`GridlineError::Unsent`] while the device holds work the server does not have, unless
    /// `force`; refuses with [`GridlineError::Busy`] while a sync runs. Close the client
    /// afterwards: it still carries the signed-out reporter.
    pub fn wipe(&self, force: bool) -> Result<(), GridlineError> {
        let _lease = SyncLease::acquire(&self.config.db_path, "wipe")?;
        let mut store = self.store();
        let unsent = store.unsent()?;
        if !unsent.is_empty() && !force {
            return Err(GridlineError::Unsent {
                reports: unsent.reports,
                photos: unsent.photos,
                triage: unsent.triage,
            });
        }
        let files = store.wipe()?;
        drop(store);
        self.remove_media(&files);
        // Files no record named (left by a crash mid-attach) go too.
        let media = self.media_dir();
        if media.exists() {
            std::fs::remove_dir_all(&media).map_err(|e| GridlineError::Storage {
                reason: format!("cannot delete {}: {e}", media.display()),
            })?;
        }
        self.observers.set_status(SyncStatus::Idle);
        for change in [Change::Reports, Change::Worklist, Change::Triage] {
            self.observers.changed(change);
        }
        Ok(())
    }

    /// When the platform scheduler should run sync again (after retryable failures), if at all.
    pub fn next_retry_at(&self) -> Result<Option<Timestamp>, GridlineError> {
        crate::sync::engine::next_retry_at(&self.store())
    }

    /// Installs grid polygons (GeoJSON in `crs`), after validating them all; a bad file never
    /// replaces good cached grids. Returns the grid set's version.
    pub fn install_grids(&self, geojson: &str, crs: CoordSystem) -> Result<String, GridlineError> {
        let set = GridSet::from_geojson(geojson, crs).map_err(geo_error)?;
        let version = set.version().to_string();
        let doc = crate::store::CachedDocument {
            version: version.clone(),
            body: set.to_geojson_string(),
        };
        self.store()
            .put_cached_document(GRIDS_DOC, &doc, self.now().as_millis())?;
        let index = Arc::new(GridIndex::new(set));
        match self.grids.write() {
            Ok(mut g) => *g = Some(Some(index)),
            Err(p) => *p.into_inner() = Some(Some(index)),
        }
        Ok(version)
    }

    /// The version of the installed grids, if any.
    pub fn grids_version(&self) -> Result<Option<String>, GridlineError> {
        Ok(self.store().cached_document(GRIDS_DOC)?.map(|d| d.version))
    }

    /// The grid index, loading it from the cache on first use.
    fn grid_index(&self) -> Result<Option<Arc<GridIndex>>, GridlineError> {
        if let Some(loaded) = self
            .grids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(loaded.clone());
        }
        let doc = self.store().cached_document(GRIDS_DOC)?;
        let index = match doc {
            // Cached grids were validated before they were stored; if they no longer parse,
            // act as if there were none rather than refuse to file reports.
            Some(doc) => GridSet::from_geojson(&doc.body, CoordSystem::Wgs84)
                .ok()
                .map(|s| Arc::new(GridIndex::new(s))),
            None => None,
        };
        *self.grids.write().unwrap_or_else(|p| p.into_inner()) = Some(index.clone());
        Ok(index)
    }

    /// The grid containing a WGS-84 point (offline), with its parent subdistrict.
    pub fn locate_grid(&self, lon: f64, lat: f64) -> Result<Option<GridInfo>, GridlineError> {
        gridline_protocol::location::validate_lat_lon("point", lat, lon)?;
        Ok(self.grid_index()?.and_then(|g| g.locate(lon, lat).cloned()))
    }

    /// Reports of `category` within `radius_m` of a point in the last `days` days, best
    /// candidate first (ranked by [`crate::duplicates::rank`]: distance and time, no photo):
    /// the device's own and the supervisor's worklist tickets. A hint that the problem may
    /// already be reported.
    pub fn nearby_reports(
        &self,
        lon: f64,
        lat: f64,
        category: &str,
        radius_m: f64,
        days: u32,
    ) -> Result<Vec<NearbyReport>, GridlineError> {
        let probe = Probe {
            exclude: None,
            lon,
            lat,
            category,
            at: self.now(),
            phashes: Vec::new(),
        };
        self.nearby(&probe, radius_m, i64::from(days))
    }

    /// Duplicate candidates for the report `id` (a draft or a filed one): nearby reports and
    /// worklist tickets ranked by photo similarity (perceptual hashes from this device's
    /// store), distance, category and time, each with its reason. Reports of another category
    /// appear only when a photo shows the same scene. Offline. A report without a location
    /// has no candidates.
    pub fn nearby_candidates(
        &self,
        id: Uuid,
        radius_m: f64,
        days: i64,
    ) -> Result<Vec<NearbyReport>, GridlineError> {
        let report = self.get(id)?;
        let Some(fix) = report.location.as_ref() else {
            return Ok(Vec::new());
        };
        let phashes = self.store().report_phashes(&id)?;
        let probe = Probe {
            exclude: Some(id),
            lon: fix.lon,
            lat: fix.lat,
            category: &report.category,
            at: report.submitted_at.unwrap_or_else(|| self.now()),
            phashes,
        };
        self.nearby(&probe, radius_m, days)
    }

    fn nearby(
        &self,
        probe: &Probe<'_>,
        radius_m: f64,
        days: i64,
    ) -> Result<Vec<NearbyReport>, GridlineError> {
        use crate::duplicates::{self, CandidateFacts};
        let (lon, lat) = (probe.lon, probe.lat);
        gridline_protocol::location::validate_lat_lon("point", lat, lon)?;
        if !radius_m.is_finite() || !(0.0..=10_000.0).contains(&radius_m) {
            return Err(FieldError::new("radius_m", "must be between 0 and 10000 metres").into());
        }
        if !(0..=3650).contains(&days) {
            return Err(FieldError::new("days", "must be between 0 and 3650").into());
        }
        let since = Timestamp::from_millis(self.now().as_millis() - days * 86_400_000);
        let bbox = geo::bbox_around(lon, lat, radius_m);
        let store = self.store();
        // Other categories only matter when a photo can show they are the same scene.
        let category = probe.phashes.is_empty().then_some(probe.category);
        let mut found: Vec<(duplicates::Ranking, f64, NearbyReport)> = Vec::new();
        for r in store.reports_in_box(category, &bbox, since)? {
            let Some(l) = r.location.as_ref() else {
                continue;
            };
            if Some(r.id) == probe.exclude {
                continue;
            }
            let theirs = if probe.phashes.is_empty() {
                Vec::new()
            } else {
                store.report_phashes(&r.id)?
            };
            let facts = CandidateFacts {
                distance_m: geo::haversine_m(lon, lat, l.lon, l.lat),
                same_category: r.category == probe.category,
                apart_ms: probe.at.as_millis() - r.submitted_at.unwrap_or(r.created_at).as_millis(),
                similarity: duplicates::best_similarity(&probe.phashes, &theirs),
            };
            consider(
                &mut found,
                radius_m,
                facts,
                NearbyReport::new(r.id, r.ticket_id.clone(), facts.distance_m, r.created_at).local(
                    r.state,
                    r.ticket_status,
                    r.note.clone(),
                ),
            );
        }
        let known: Vec<Uuid> = found.iter().map(|f| f.2.report_id).collect();
        for t in store.worklist(&[])? {
            if t.created_at < since
                || known.contains(&t.report_id)
                || Some(t.report_id) == probe.exclude
            {
                continue;
            }
            let theirs = if probe.phashes.is_empty() {
                Vec::new()
            } else {
                let shas: Vec<String> = t.photos.iter().map(|p| p.sha256.clone()).collect();
                store.phashes_of(&shas)?
            };
            let facts = CandidateFacts {
                distance_m: geo::haversine_m(lon, lat, t.location.lon, t.location.lat),
                same_category: t.category == probe.category,
                apart_ms: probe.at.as_millis() - t.created_at.as_millis(),
                similarity: duplicates::best_similarity(&probe.phashes, &theirs),
            };
            let mut hit = NearbyReport::new(
                t.report_id,
                Some(t.id.clone()),
                facts.distance_m,
                t.created_at,
            );
            hit.ticket_status = Some(t.status);
            hit.note = t.note.clone();
            consider(&mut found, radius_m, facts, hit);
        }
        Ok(duplicates::best_first(found, duplicates::MAX_CANDIDATES)
            .into_iter()
            .map(|(_, hit)| hit)
            .collect())
    }

    /// Supervisor: pulls the tickets matching `query` into the offline worklist.
    pub fn refresh_worklist(
        &self,
        ctx: &SyncContext,
        query: &TicketQuery,
    ) -> Result<i64, GridlineError> {
        self.refresh_worklist_with_cancel(ctx, query, &CancelToken::new())
    }

    /// [`Client::refresh_worklist`] that `cancel` stops before its next page; a cancelled
    /// refresh is a retryable `Network` error (the pages pulled so far are kept).
    pub fn refresh_worklist_with_cancel(
        &self,
        ctx: &SyncContext,
        query: &TicketQuery,
        cancel: &CancelToken,
    ) -> Result<i64, GridlineError> {
        let n = crate::sync::triage::refresh_worklist(self, ctx, query, cancel);
        self.changed(Change::Worklist);
        n
    }

    /// Supervisor: the offline worklist, optionally only tickets in `statuses`.
    pub fn worklist(&self, statuses: &[TicketStatus]) -> Result<Vec<Ticket>, GridlineError> {
        Ok(self.store().worklist(statuses)?)
    }

    /// Supervisor: decides on a ticket offline; sent later by [`Client::send_triage`].
    pub fn queue_triage(
        &self,
        ticket_id: &str,
        action: TriageAction,
    ) -> Result<i64, GridlineError> {
        let seq = crate::sync::triage::queue_triage(self, ticket_id, action)?;
        self.changed(Change::Triage);
        Ok(seq)
    }

    /// Supervisor, online: the server's duplicate candidates of `ticket_id` (photo similarity,
    /// distance, category and time, each with its reason), best first.
    pub fn ticket_candidates(
        &self,
        ctx: &SyncContext,
        ticket_id: &str,
    ) -> Result<gridline_protocol::wire::CandidateList, GridlineError> {
        crate::sync::triage::ticket_candidates(ctx, ticket_id)
    }

    /// Supervisor: queued, sent, conflicting and failed triage actions.
    pub fn triage_actions(&self) -> Result<Vec<QueuedTriage>, GridlineError> {
        Ok(self.store().triage_actions(None)?)
    }

    /// Supervisor: sends queued triage actions with their ticket versions.
    /// Holds the same lease as [`Client::sync`], so two senders never send one decision twice.
    pub fn send_triage(&self, ctx: &SyncContext) -> Result<TriageSummary, GridlineError> {
        self.send_triage_with_cancel(ctx, &CancelToken::new())
    }

    /// [`Client::send_triage`] that `cancel` stops before its next decision; what is not sent
    /// stays queued and the summary counts it as `remaining`.
    pub fn send_triage_with_cancel(
        &self,
        ctx: &SyncContext,
        cancel: &CancelToken,
    ) -> Result<TriageSummary, GridlineError> {
        let _lease = SyncLease::acquire(&self.config.db_path, "send_triage")?;
        let result = crate::sync::triage::send_triage(self, ctx, cancel);
        self.changed(Change::Triage);
        self.changed(Change::Worklist);
        result
    }

    /// The catalog reports are validated against (built-in until the server sends one).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Replaces the catalog with one received from the server, after checking it; the old one
    /// stays if the new one is invalid.
    pub fn install_catalog(&self, json: &str) -> Result<(), GridlineError> {
        let catalog = Catalog::from_json(json)?;
        let doc = crate::store::CachedDocument {
            version: catalog.version.clone(),
            body: json.to_string(),
        };
        self.store()
            .put_cached_document(CATALOG_DOC, &doc, (self.clock)().as_millis())?;
        match self.catalog.write() {
            Ok(mut c) => *c = Arc::new(catalog),
            Err(p) => *p.into_inner() = Arc::new(catalog),
        }
        Ok(())
    }

    /// Verification tasks (核查) as the last sync pulled them: resolved tickets near the rider
    /// waiting for someone to check on the spot. Works offline.
    pub fn tasks(&self) -> Result<Vec<VerificationTask>, GridlineError> {
        Ok(self.store().tasks()?)
    }

    /// Starts a verification of ticket `ticket_id`: a draft of kind `verification` saying
    /// whether the problem is `fixed`. Add a photo and the location, then [`Client::submit`]
    /// it like any report; it is synced in the same batches.
    pub fn create_verification(
        &self,
        ticket_id: &str,
        fixed: bool,
    ) -> Result<LocalReport, GridlineError> {
        let claim = VerificationClaim {
            ticket_id: ticket_id.trim().to_string(),
            fixed,
        };
        let patch = DraftPatch {
            category: Some(verification::CATEGORY.to_string()),
            set_attributes: claim.attributes(),
            ..Default::default()
        };
        // Checked before the draft exists, so a bad id leaves nothing behind.
        let catalog = self.catalog();
        if let Some(kind) = catalog.category(ReportKind::Verification, verification::CATEGORY) {
            validate_attributes(kind, &patch.set_attributes)?;
        }
        let draft = self.create_draft(ReportKind::Verification)?;
        self.update_draft(draft.id, patch)
    }

    /// Starts a new report of `kind`; its id is made now and never changes.
    pub fn create_draft(&self, kind: ReportKind) -> Result<LocalReport, GridlineError> {
        let now = (self.clock)();
        let draft = LocalReport {
            id: Uuid::now_v7(),
            state: ReportState::Draft,
            kind,
            category: String::new(),
            note: String::new(),
            severity: Severity::default(),
            location: None,
            location_warnings: vec![],
            grid_id: None,
            attributes: Default::default(),
            outreach: None,
            photos: vec![],
            reporter: self.config.reporter.clone(),
            app_version: self.config.app_version.clone(),
            created_at: now,
            updated_at: now,
            submitted_at: None,
            ticket_id: None,
            ticket_status: None,
            rejection: None,
        };
        self.store().insert_draft(&draft)?;
        self.changed(Change::Reports);
        Ok(draft)
    }

    /// Changes a draft (or a parked report being fixed). Each value set is checked now, so the
    /// form can show the error next to its field; completeness is checked at submit.
    pub fn update_draft(&self, id: Uuid, patch: DraftPatch) -> Result<LocalReport, GridlineError> {
        let catalog = self.catalog();
        let now = (self.clock)();
        let report = self
            .store()
            .update_draft(&id, &patch, now, |r| check_patch(&catalog, &patch, r))?;
        self.changed(Change::Reports);
        Ok(report)
    }

    /// Signs this installation's reports from now on with `signer` (the platform's key in the
    /// Android Keystore or the Secure Enclave) instead of the software default. Its public key
    /// is recorded so the next sync registers it; reports signed before keep their signatures.
    pub fn set_signer(&self, signer: Arc<dyn Signer>) -> Result<String, GridlineError> {
        let public = evidence::public_key_of(signer.as_ref()).map_err(signer_error)?;
        self.store().note_key(&public, self.now())?;
        *self.signer.write().unwrap_or_else(|p| p.into_inner()) = signer;
        Ok(public.key_id)
    }

    /// Replaces the software signing key with a new one (rotation); the old key stays known
    /// (and registered) so reports it signed still verify. Returns the new key's id.
    pub fn rotate_signing_key(&self) -> Result<String, GridlineError> {
        let fresh = SoftwareSigner::generate();
        let public = evidence::public_key_of(&fresh).map_err(signer_error)?;
        self.store()
            .put_software_key(&public, &fresh.secret(), self.now())?;
        *self.signer.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(public.key_id)
    }

    /// The id of the key that signs this installation's reports now.
    pub fn signing_key_id(&self) -> Result<String, GridlineError> {
        let signer = Arc::clone(&self.signer.read().unwrap_or_else(|p| p.into_inner()));
        Ok(evidence::public_key_of(signer.as_ref())
            .map_err(signer_error)?
            .key_id)
    }

    /// Validates the report against the catalog, signs it and queues it for sending, in one
    /// transaction. When this returns, the report is on disk and will be sent exactly once.
    /// A signer that fails leaves the report unsigned (the server records it as such): a
    /// locked keystore never costs a rider a report.
    pub fn submit(&self, id: Uuid) -> Result<LocalReport, GridlineError> {
        let catalog = self.catalog();
        let now = (self.clock)();
        let grids = self.grid_index()?;
        let tasks = self.store().tasks()?;
        let mut verified = None;
        let signer = Arc::clone(&self.signer.read().unwrap_or_else(|p| p.into_inner()));
        let mut signed_with = None;
        let report = self.store().queue(&id, now, |r, positions| {
            let mut payload = wire_report(r, now, positions)?;
            catalog.validate_report(&payload)?;
            if let Some(claim) = VerificationClaim::of(&payload)? {
                check_verification_distance(&payload, &claim, &tasks)?;
                verified = Some(claim.ticket_id);
            }
            payload.location_warnings = geo::assess(&payload.location, now)?
                .into_iter()
                .map(|w| w.code().to_string())
                .collect();
            payload.grid_id = grids
                .as_ref()
                .and_then(|g| g.locate(payload.location.lon, payload.location.lat))
                .map(|g| g.id.clone());
            match evidence::sign_report(&signer, &mut payload) {
                Ok(public) => signed_with = Some(public),
                Err(e) => log::warn!("report {id} queued unsigned: {e}"),
            }
            Ok(payload)
        })?;
        if let Some(ticket) = verified {
            self.store().forget_task(&ticket, now.as_millis())?;
        }
        if let Some(public) = signed_with {
            // The key must reach the server; a failure here is retried at the next submit.
            if let Err(e) = self.store().note_key(&public, now) {
                log::warn!("cannot record signing key {}: {e}", public.key_id);
            }
        }
        self.changed(Change::Reports);
        Ok(report)
    }

    /// The fraud signals of a submitted report as the device sees them offline: from its
    /// frozen payload, the rider's previous report on this device and this device's other
    /// reports using the same photos. The server computes the same signals with what it knows
    /// and records them with the ticket. Empty for a draft.
    pub fn fraud_signals(
        &self,
        id: Uuid,
    ) -> Result<Vec<gridline_protocol::evidence::FraudSignal>, GridlineError> {
        let store = self.store();
        let Some(payload) = store.payload(&id)? else {
            return Ok(vec![]);
        };
        let previous = store
            .previous_submitted(&id, payload.submitted_at)?
            .map(|l| crate::signals::PriorReport {
                lat: l.lat,
                lon: l.lon,
                at: l.fix_time,
            });
        let mut reused_photos = Vec::new();
        for p in &payload.photos {
            if let Some(other) = store.other_report_with_photo(&p.sha256, &id)? {
                reused_photos.push((p.sha256.clone(), format!("report {other}")));
            }
        }
        let inputs = crate::signals::SignalInputs {
            previous,
            reused_photos,
        };
        Ok(crate::signals::fraud_signals(&payload, &inputs))
    }

    /// One report, whatever its state.
    pub fn get(&self, id: Uuid) -> Result<LocalReport, GridlineError> {
        self.store()
            .get(&id)?
            .ok_or_else(|| GridlineError::NotFound {
                what: format!("report {id}"),
            })
    }

    /// Reports matching `filter`, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<LocalReport>, GridlineError> {
        Ok(self.store().list(filter)?)
    }

    /// One page of the queue screen: list rows matching `filter` (`limit` is the page size),
    /// newest first, after `after` (pass the last row's [`ReportRow::cursor`] for the next
    /// page). Cheaper than [`Client::list`]: no JSON decoding, no photo records.
    pub fn list_rows(
        &self,
        filter: &ListFilter,
        after: Option<&ListCursor>,
    ) -> Result<Vec<ReportRow>, GridlineError> {
        Ok(self.store().list_rows(filter, after)?)
    }

    /// Deletes a draft that was never submitted, and photo files no other report uses.
    pub fn delete_draft(&self, id: Uuid) -> Result<(), GridlineError> {
        let orphans = self.store().delete_draft(&id)?;
        self.remove_media(&orphans);
        self.changed(Change::Reports);
        Ok(())
    }

    /// Processes the photo at `path` (orientation, resize, no metadata, thumbnail) into the
    /// media folder and attaches it to an editable report. A refused photo leaves the report
    /// exactly as it was.
    pub fn attach_photo(
        &self,
        id: Uuid,
        path: &std::path::Path,
    ) -> Result<PhotoRef, GridlineError> {
        // Fail fast, before seconds of image work, if the report cannot take a photo.
        let report = self.get(id)?;
        if !report.state.is_editable() {
            return Err(GridlineError::Conflict {
                reason: format!(
                    "report {id} is {}; photos can no longer change",
                    report.state.as_str()
                ),
            });
        }
        let media = self.media_dir();
        std::fs::create_dir_all(&media).map_err(|e| GridlineError::Storage {
            reason: format!("cannot create {}: {e}", media.display()),
        })?;
        let made = photo::process_file(path, &media, &self.photo_options).map_err(|e| {
            GridlineError::Photo {
                reason: e.to_string(),
            }
        })?;
        let photo_ref = made.to_photo_ref();
        let name = |p: &std::path::Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let record = NewPhoto {
            photo: photo_ref.clone(),
            file_name: name(&made.photo.path),
            thumb_name: name(&made.thumbnail.path),
            captured_at: made.captured_at,
            gps: made.gps.map(|g| (g.lat, g.lon)),
            camera: made.camera,
            phash: Some(made.phash),
        };
        self.store().attach_photo(&id, &record, self.now())?;
        self.changed(Change::Reports);
        Ok(photo_ref)
    }

    /// Removes a photo from an editable report (and its files when no report uses it).
    pub fn detach_photo(&self, id: Uuid, sha256: &str) -> Result<(), GridlineError> {
        let orphans = self.store().detach_photo(&id, sha256)?;
        self.remove_media(&orphans);
        self.changed(Change::Reports);
        Ok(())
    }

    /// The path of a processed photo (or its thumbnail) in the media folder, for display.
    pub fn photo_path(&self, sha256: &str, thumbnail: bool) -> Result<PathBuf, GridlineError> {
        let (file, thumb) =
            self.store()
                .photo_files(sha256)?
                .ok_or_else(|| GridlineError::NotFound {
                    what: format!("photo {sha256}"),
                })?;
        let name = if thumbnail {
            thumb.unwrap_or(file)
        } else {
            file
        };
        Ok(self.media_dir().join(name))
    }

    /// A location fix from a photo's EXIF GPS tags (read before the pipeline strips them), with
    /// provider `photo_exif`; `None` when the photo has no position.
    pub fn location_from_photo(
        &self,
        path: &std::path::Path,
    ) -> Result<Option<LocationFix>, GridlineError> {
        let meta =
            photo::read_metadata(path, &self.photo_options).map_err(|e| GridlineError::Photo {
                reason: e.to_string(),
            })?;
        Ok(meta.gps.map(|gps| LocationFix {
            lat: gps.lat,
            lon: gps.lon,
            accuracy_m: PHOTO_FIX_ACCURACY_M,
            altitude_m: None,
            provider: LocationProvider::PhotoExif,
            fix_time: meta.captured_at.unwrap_or_else(|| self.now()),
            mock: false,
            source_crs: CoordSystem::Wgs84,
        }))
    }

    /// Deletes media files whose last use is gone; a file left behind by a crash here is
    /// only wasted space, never a lost report.
    fn remove_media(&self, orphans: &OrphanFiles) {
        let dir = self.media_dir();
        for name in &orphans.0 {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }

    /// Report counts per state, for a badge.
    pub fn counts(&self) -> Result<Counts, GridlineError> {
        Ok(self.store().counts()?)
    }

    /// Runs SQLite's integrity check on the store.
    pub fn integrity_check(&self) -> Result<(), GridlineError> {
        Ok(self.store().integrity_check()?)
    }
}

/// What the sync engine and triage need of the client: the store, the clock, the media folder
/// and the installers (so they depend on this trait, not on `Client`).
impl Device for Client {
    fn store(&self) -> MutexGuard<'_, Store> {
        Client::store(self)
    }

    fn now(&self) -> Timestamp {
        Client::now(self)
    }

    fn media_dir(&self) -> PathBuf {
        Client::media_dir(self)
    }

    fn install_catalog(&self, json: &str) -> Result<(), GridlineError> {
        Client::install_catalog(self, json)
    }

    fn install_grids(&self, geojson: &str) -> Result<String, GridlineError> {
        Client::install_grids(self, geojson, CoordSystem::Wgs84)
    }
}

/// Feeds a run's progress to the shared status and the observers, then to the caller's observer.
struct StatusTracker<'a> {
    client: &'a Client,
    inner: Option<&'a dyn SyncObserver>,
}

impl SyncObserver for StatusTracker<'_> {
    fn on_progress(&self, progress: SyncProgress) {
        let observers = &self.client.observers;
        observers.set_status(SyncStatus::Syncing {
            progress: Some(progress),
        });
        // Each step of these phases has committed report (or ticket) changes.
        match progress.phase {
            SyncPhase::Reports if progress.done > 0 => observers.changed(Change::Reports),
            SyncPhase::Changes if progress.done > 0 => {
                observers.changed(Change::Reports);
                observers.changed(Change::Worklist);
            }
            _ => {}
        }
        if let Some(o) = self.inner {
            o.on_progress(progress);
        }
    }
}

/// Converts a point between WGS-84, GCJ-02 and BD-09 ([`geo::convert`]), with the public error.
pub fn convert_point(
    lon: f64,
    lat: f64,
    from: CoordSystem,
    to: CoordSystem,
) -> Result<(f64, f64), GridlineError> {
    geo::convert(lon, lat, from, to).map_err(|e| match e {
        GeoError::InvalidPoint(f) => f.into(),
        other => GridlineError::Validation {
            field: "point".into(),
            reason: other.to_string(),
        },
    })
}

/// Maps a geo error to the public error: bad input names its feature or field.
fn geo_error(e: GeoError) -> GridlineError {
    match e {
        GeoError::InvalidPoint(f) => f.into(),
        other => GridlineError::Validation {
            field: "grids".into(),
            reason: other.to_string(),
        },
    }
}

/// Checks the values a patch sets, against the report as it would become.
fn check_patch(catalog: &Catalog, patch: &DraftPatch, r: &LocalReport) -> Result<()> {
    if let Some(note) = &patch.note {
        check_text("note", note, MAX_NOTE_CHARS, true)?;
    }
    if let Some(location) = &patch.location {
        location.validate()?;
    }
    if patch.kind.is_some() && catalog.kind(r.kind).is_none() {
        return Err(FieldError::new(
            "kind",
            format!("{} is not in catalog {}", r.kind.as_str(), catalog.version),
        )
        .into());
    }
    if patch.category.is_some() || !patch.set_attributes.is_empty() {
        let category = catalog.category(r.kind, &r.category).ok_or_else(|| {
            FieldError::new(
                "category",
                format!("{:?} is not a category of {}", r.category, r.kind.as_str()),
            )
        })?;
        // Only the values being set are checked here; required ones are checked at submit.
        let mut relaxed = category.clone();
        for def in &mut relaxed.attributes {
            def.required = false;
        }
        let set: std::collections::BTreeMap<_, _> = patch
            .set_attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        validate_attributes(&relaxed, &set)?;
    }
    if patch.outreach.is_some() && r.kind != ReportKind::AntiFraudOutreach {
        return Err(FieldError::new("outreach", "is only for anti_fraud_outreach reports").into());
    }
    Ok(())
}

/// The wire form of a local report at submit time.
/// A verification filed offline far from its task's ticket would only be refused by the
/// server later; say so now, while the rider is still there.
fn check_verification_distance(
    report: &Report,
    claim: &VerificationClaim,
    tasks: &[VerificationTask],
) -> Result<()> {
    let Some(task) = tasks.iter().find(|t| t.ticket_id == claim.ticket_id) else {
        return Ok(()); // Not pulled yet: the server decides.
    };
    let distance = geo::haversine_m(report.location.lon, report.location.lat, task.lon, task.lat);
    if distance > task.radius_m {
        return Err(Error::Validation(FieldError::new(
            "location",
            format!(
                "{distance:.0} m from ticket {}; a verification must be filed within {:.0} m of \
                 the problem",
                claim.ticket_id, task.radius_m
            ),
        )));
    }
    Ok(())
}

fn wire_report(r: &LocalReport, now: Timestamp, positions: &PhotoPositions) -> Result<Report> {
    if r.category.is_empty() {
        return Err(Error::Validation(FieldError::new(
            "category",
            "is required",
        )));
    }
    let location = r
        .location
        .clone()
        .ok_or_else(|| FieldError::new("location", "is required"))?;
    let photos = photos_with_distances(&r.photos, &location, positions);
    Ok(Report {
        id: r.id,
        kind: r.kind,
        category: r.category.clone(),
        note: r.note.clone(),
        severity: r.severity,
        location,
        location_warnings: vec![],
        grid_id: None,
        attributes: r.attributes.clone(),
        outreach: r.outreach.clone(),
        photos,
        reporter: r.reporter.clone(),
        created_at: r.created_at,
        submitted_at: now,
        app_version: r.app_version.clone(),
        signature: None,
    })
}

/// The photos as sent: each one's EXIF position reduced to its whole-metre distance from the
/// report's fix (the position itself never leaves the device).
fn photos_with_distances(
    photos: &[PhotoRef],
    fix: &LocationFix,
    positions: &PhotoPositions,
) -> Vec<PhotoRef> {
    photos
        .iter()
        .map(|p| {
            let mut p = p.clone();
            if let (Some(exif), Some((lat, lon))) = (p.exif.as_mut(), positions.get(&p.sha256)) {
                let metres = geo::haversine_m(fix.lon, fix.lat, *lon, *lat);
                exif.gps_distance_m = metres.is_finite().then(|| metres.round() as i64);
            }
            p
        })
        .collect()
}

/// The stored software key, or a new one stored now.
fn software_signer(store: &mut Store, now: Timestamp) -> Result<Arc<dyn Signer>> {
    if let Some(secret) = store.software_key()? {
        return Ok(Arc::new(SoftwareSigner::from_secret(&secret)));
    }
    let fresh = SoftwareSigner::generate();
    let public = evidence::PublicKey {
        key_id: gridline_protocol::evidence::key_id(&fresh.public_bytes()),
        algorithm: gridline_protocol::evidence::SignatureAlgorithm::Ed25519,
        bytes: fresh.public_bytes().to_vec(),
    };
    store.put_software_key(&public, &fresh.secret(), now)?;
    Ok(Arc::new(fresh))
}

/// A signer's failure as the public error.
fn signer_error(e: evidence::SignerError) -> GridlineError {
    GridlineError::Storage {
        reason: e.to_string(),
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
