//! The sync driver: carries out `policy`'s decisions against the store and the server.
//! Order of a run: recover reports an interrupted run left `sending`; refresh limits and the
//! catalog; send queued reports in batches; upload photos of accepted reports; pull ticket
//! changes. Retryable failures back off (persisted across runs); a run that cannot finish says
//! when to try again.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use gridline_protocol::Timestamp;
use gridline_protocol::wire::{ErrorCode, Limits, paths};
use uuid::Uuid;

pub use super::SyncContext;
use super::api::{CallError, ServerApi, UploadState};
use super::policy::{ItemTransition, item_transition, plan_batches};
use super::{CancelToken, Device, SyncObserver, SyncOptions, SyncPhase, SyncProgress, SyncSummary};
use crate::error::GridlineError;
use crate::store::Store;
use crate::transport::check_server_url;

const FAILURES_KEY: &str = "sync.failures";
const NEXT_RETRY_KEY: &str = "sync.next_retry_at";
const LIMITS_KEY: &str = "server.limits";
const CATALOG_ETAG_KEY: &str = "etag.catalog";
const GRIDS_ETAG_KEY: &str = "etag.grids";

/// PATCHes in a row that may leave a photo's offset where it was before the run gives up on
/// the server (each is followed by a HEAD to re-read where the upload stands).
const MAX_UPLOAD_STALLS: u32 = 3;
/// Pages of the changes feed one run reads at most (5 million changes at the default size):
/// a feed that never ends is a broken server, not a backlog.
pub(crate) const MAX_FEED_PAGES: usize = 10_000;

/// The error that ends a run whose server broke the protocol (an answer too large, a cursor
/// that does not advance, an upload that makes no progress). Retrying later is allowed: the
/// server may be fixed. Nothing was marked on the broken answer's word.
pub(crate) fn protocol_error(reason: impl std::fmt::Display) -> GridlineError {
    GridlineError::Network {
        reason: format!("the server broke the sync protocol: {reason}"),
        retryable: true,
    }
}

/// A byte count as the summary's signed integer (saturating; photos never get near).
fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The end of a call that was retried as long as the run allows.
enum Attempt<T> {
    /// The server answered.
    Done(T),
    /// The run stopped (cancelled, or out of retries).
    Stopped,
    /// The server refused in a way retrying cannot fix.
    Refused(CallError),
}

/// Whether a phase may go on after a setback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

struct Run<'a> {
    device: &'a dyn Device,
    api: ServerApi<'a>,
    opts: &'a SyncOptions,
    observer: Option<&'a dyn SyncObserver>,
    cancel: &'a CancelToken,
    summary: SyncSummary,
    failures: u32,
    retries_left: u32,
    stopped: bool,
    deadline: Instant,
}

/// Runs one sync. Errors are only those that need the user (auth) or the integrator (a bad
/// URL, storage failure); network trouble ends the run early with `incomplete` set instead.
pub fn sync(
    device: &dyn Device,
    ctx: &SyncContext,
    opts: &SyncOptions,
    observer: Option<&dyn SyncObserver>,
    cancel: &CancelToken,
) -> Result<SyncSummary, GridlineError> {
    let base = check_server_url(&ctx.server_url)?;
    let failures = device
        .store()
        .setting(FAILURES_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut run = Run {
        device,
        api: ServerApi::new(base, &*ctx.transport, &*ctx.tokens, opts.request_timeout),
        opts,
        observer,
        cancel,
        summary: SyncSummary::default(),
        failures,
        retries_left: opts.max_retries,
        stopped: false,
        deadline: Instant::now() + opts.run_deadline,
    };
    device.store().recover_interrupted(device.now())?;
    let limits = run.prepare()?;
    if !run.stopped {
        run.keys()?;
    }
    if !run.stopped {
        run.reports(&limits)?;
    }
    if !run.stopped {
        run.photos()?;
    }
    if !run.stopped {
        run.changes()?;
    }
    if !run.stopped {
        run.tasks()?;
    }
    run.finish()
}

impl<'a> Run<'a> {
    fn progress(&self, phase: SyncPhase, done: i64, total: i64) {
        if let Some(o) = self.observer {
            o.on_progress(SyncProgress { phase, done, total });
        }
    }

    /// True once the run must stop: cancelled, out of time, or stopped by a phase.
    fn cancelled(&mut self) -> bool {
        if self.cancel.is_cancelled() {
            self.stopped = true;
            self.summary.incomplete = true;
            self.summary
                .last_error
                .get_or_insert_with(|| "cancelled".into());
        } else if !self.stopped && Instant::now() >= self.deadline {
            self.stopped = true;
            self.summary.incomplete = true;
            self.summary.last_error = Some(format!(
                "the run reached its {} s deadline; the rest waits for the next sync",
                self.opts.run_deadline.as_secs()
            ));
        }
        self.stopped
    }

    fn succeeded(&mut self) -> Result<(), GridlineError> {
        if self.failures != 0 {
            self.failures = 0;
            self.device.store().set_setting(FAILURES_KEY, "0")?;
        }
        Ok(())
    }

    /// A retryable failure: back off and go on, or stop the run and say when to retry.
    fn backoff(&mut self, reason: String, after: Option<Duration>) -> Result<Flow, GridlineError> {
        self.failures = self.failures.saturating_add(1);
        self.device
            .store()
            .set_setting(FAILURES_KEY, &self.failures.to_string())?;
        let delay = self
            .opts
            .backoff
            .delay(self.failures, rand::random::<f64>(), after);
        self.summary.last_error = Some(reason);
        if self.retries_left == 0 || delay > self.opts.max_sleep {
            let at =
                Timestamp::from_millis(self.device.now().as_millis() + delay.as_millis() as i64);
            self.device
                .store()
                .set_setting(NEXT_RETRY_KEY, &at.as_millis().to_string())?;
            self.summary.next_retry_at = Some(at);
            self.summary.incomplete = true;
            self.stopped = true;
            return Ok(Flow::Stop);
        }
        self.retries_left -= 1;
        let until = Instant::now() + delay;
        while Instant::now() < until {
            if self.cancelled() {
                return Ok(Flow::Stop);
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        Ok(Flow::Continue)
    }

    /// Calls the server until it answers, backing off on retryable failures. Auth failures
    /// end the run; other refusals are handed back for the phase to decide.
    fn attempt<T>(
        &mut self,
        mut call: impl FnMut(&ServerApi<'a>) -> Result<T, CallError>,
    ) -> Result<Attempt<T>, GridlineError> {
        loop {
            if self.cancelled() {
                return Ok(Attempt::Stopped);
            }
            match call(&self.api) {
                Ok(v) => {
                    self.succeeded()?;
                    return Ok(Attempt::Done(v));
                }
                Err(CallError::Auth(reason)) => return Err(GridlineError::Auth { reason }),
                Err(CallError::Protocol(reason)) => return Err(protocol_error(reason)),
                Err(CallError::Retry { reason, after }) => {
                    if self.backoff(reason, after)? == Flow::Stop {
                        return Ok(Attempt::Stopped);
                    }
                }
                Err(refused) => return Ok(Attempt::Refused(refused)),
            }
        }
    }

    fn prepare(&mut self) -> Result<Limits, GridlineError> {
        self.progress(SyncPhase::Prepare, 0, 2);
        let cached: Option<Limits> = self
            .device
            .store()
            .setting(LIMITS_KEY)?
            .and_then(|t| serde_json::from_str(&t).ok());
        let limits = match self.attempt(|api| api.limits())? {
            Attempt::Done(l) => {
                let text = serde_json::to_string(&l).unwrap_or_default();
                self.device.store().set_setting(LIMITS_KEY, &text)?;
                l
            }
            // An older server without /limits, or no network: use what we know.
            Attempt::Refused(_) | Attempt::Stopped => cached.unwrap_or_default(),
        };
        if self.stopped {
            return Ok(limits);
        }
        self.progress(SyncPhase::Prepare, 1, 2);
        let etag = self.device.store().setting(CATALOG_ETAG_KEY)?;
        match self.attempt(|api| api.document(paths::CATALOG, etag.as_deref()))? {
            Attempt::Done(Some((tag, body))) => match self.device.install_catalog(&body) {
                Ok(()) => {
                    self.summary.catalog_updated = etag.as_deref() != Some(tag.as_str());
                    self.device.store().set_setting(CATALOG_ETAG_KEY, &tag)?;
                }
                Err(e) => {
                    self.summary.last_error =
                        Some(format!("server catalog refused, keeping ours: {e}"))
                }
            },
            Attempt::Done(None) | Attempt::Stopped => {}
            Attempt::Refused(e) => self.summary.last_error = Some(format!("catalog: {e}")),
        }
        if self.stopped {
            return Ok(limits);
        }
        let etag = self.device.store().setting(GRIDS_ETAG_KEY)?;
        match self.attempt(|api| api.document(paths::GRIDS, etag.as_deref()))? {
            Attempt::Done(Some((tag, body))) => match self.device.install_grids(&body) {
                Ok(_) => {
                    self.summary.grids_updated = true;
                    self.device.store().set_setting(GRIDS_ETAG_KEY, &tag)?;
                }
                Err(e) => {
                    self.summary.last_error =
                        Some(format!("server grids refused, keeping ours: {e}"))
                }
            },
            Attempt::Done(None) | Attempt::Stopped => {}
            Attempt::Refused(e) => self.summary.last_error = Some(format!("grids: {e}")),
        }
        self.progress(SyncPhase::Prepare, 2, 2);
        Ok(limits)
    }

    /// Registers the device's signing keys the server does not have yet, once each, before
    /// the first batch they signed goes out. A refusal (an older server without the endpoint,
    /// a key revoked or taken) does not hold reports back: the server records their signature
    /// check as it finds it, and the rider's work still arrives.
    fn keys(&mut self) -> Result<(), GridlineError> {
        let pending = self.device.store().unregistered_keys()?;
        for key in pending {
            match self.attempt(|api| api.register_key(&key))? {
                Attempt::Done(()) => self
                    .device
                    .store()
                    .mark_key_registered(&key.key_id, self.device.now())?,
                Attempt::Stopped => return Ok(()),
                Attempt::Refused(e) => {
                    log::warn!("signing key {} not registered: {e}", key.key_id);
                    self.summary.last_error = Some(format!("signing key {}: {e}", key.key_id));
                }
            }
        }
        Ok(())
    }

    fn reports(&mut self, limits: &Limits) -> Result<(), GridlineError> {
        let mut max_items = self
            .opts
            .max_batch
            .min(limits.max_reports_per_batch as usize)
            .max(1);
        let max_bytes = usize::try_from(limits.max_request_bytes).unwrap_or(usize::MAX);
        let total = self.device.store().queued_count()?;
        let mut done = 0i64;
        self.progress(SyncPhase::Reports, 0, total);
        loop {
            if self.cancelled() {
                return Ok(());
            }
            let payloads = self.device.store().queued_payloads(max_items)?;
            if payloads.is_empty() {
                return Ok(());
            }
            let sizes: Vec<usize> = payloads.iter().map(|p| p.json.len()).collect();
            let first = plan_batches(&sizes, max_items, max_bytes)
                .into_iter()
                .next()
                .unwrap_or(0..payloads.len());
            let batch = &payloads[first];
            let ids: Vec<Uuid> = batch.iter().map(|p| p.id).collect();
            let mut body = Vec::with_capacity(sizes.iter().sum::<usize>() + 16);
            body.extend_from_slice(b"{\"reports\":[");
            for (i, p) in batch.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(p.json.as_bytes());
            }
            body.extend_from_slice(b"]}");
            let now = self.device.now();
            self.device.store().mark_sending(&ids, now)?;
            match self.api.post_batch(&body) {
                Ok(response) => {
                    self.succeeded()?;
                    let mut transitions = Vec::with_capacity(ids.len());
                    let mut unanswered = Vec::new();
                    // The first answer per id, in one pass over the answer (a search per id
                    // was ~125,000 comparisons for a batch of 500).
                    let mut by_id = HashMap::with_capacity(ids.len());
                    for o in &response.results {
                        if let Some(id) = o.id {
                            by_id.entry(id).or_insert(o);
                        }
                    }
                    for (i, id) in ids.iter().enumerate() {
                        let outcome = by_id
                            .get(id)
                            .copied()
                            .or_else(|| response.results.get(i).filter(|o| o.id.is_none()));
                        match outcome {
                            Some(o) => transitions.push((*id, item_transition(&o.result))),
                            None => unanswered.push(*id),
                        }
                    }
                    for (_, t) in &transitions {
                        match t {
                            ItemTransition::Accepted { already: false, .. } => {
                                self.summary.sent += 1
                            }
                            ItemTransition::Accepted { already: true, .. } => {
                                self.summary.already_accepted += 1
                            }
                            ItemTransition::Parked { .. } => self.summary.rejected += 1,
                        }
                    }
                    let now = self.device.now();
                    self.device.store().apply_results(&transitions, now)?;
                    done += transitions.len() as i64;
                    self.progress(SyncPhase::Reports, done, total);
                    if !unanswered.is_empty() {
                        self.device.store().requeue(
                            &unanswered,
                            now,
                            "no result in the batch answer",
                        )?;
                        let reason = format!(
                            "the server answered {} of {} reports",
                            transitions.len(),
                            ids.len()
                        );
                        if self.backoff(reason, None)? == Flow::Stop {
                            return Ok(());
                        }
                    }
                }
                Err(CallError::Auth(reason)) => {
                    self.device.store().requeue(
                        &ids,
                        self.device.now(),
                        "authentication failed",
                    )?;
                    return Err(GridlineError::Auth { reason });
                }
                Err(CallError::Retry { reason, after }) => {
                    self.device
                        .store()
                        .requeue(&ids, self.device.now(), &reason)?;
                    if self.backoff(reason, after)? == Flow::Stop {
                        return Ok(());
                    }
                }
                Err(CallError::Protocol(reason)) => {
                    self.device
                        .store()
                        .requeue(&ids, self.device.now(), &reason)?;
                    return Err(protocol_error(reason));
                }
                Err(CallError::TooLarge {
                    reason,
                    from_server,
                }) => {
                    let reason = format!("too large for the server: {reason}");
                    if self.isolate(&ids, &mut max_items, None, reason, from_server)? == Flow::Stop
                    {
                        return Ok(());
                    }
                }
                Err(CallError::Permanent {
                    status: 400 | 415 | 422,
                    body: Some(body),
                    reason,
                }) if body.code != ErrorCode::Unknown => {
                    let parked = ids.len() == 1;
                    self.isolate(&ids, &mut max_items, body.field, reason, true)?;
                    done += i64::from(parked);
                }
                Err(CallError::Permanent {
                    status: status @ (400 | 415 | 422),
                    reason,
                    ..
                }) => {
                    // A refusal without a Gridline error body (a proxy's or captive portal's
                    // page) says nothing about these reports: keep them queued and try later.
                    self.device
                        .store()
                        .requeue(&ids, self.device.now(), &reason)?;
                    let reason =
                        format!("HTTP {status} without a Gridline error body (a proxy?): {reason}");
                    if self.backoff(reason, None)? == Flow::Stop {
                        return Ok(());
                    }
                }
                Err(CallError::Permanent { reason, .. }) => {
                    // 403, 404, ...: nothing about these reports; stop sending, keep them queued.
                    self.device
                        .store()
                        .requeue(&ids, self.device.now(), &reason)?;
                    self.summary.last_error = Some(reason.clone());
                    self.summary.incomplete = true;
                    self.stopped = true;
                    return Err(GridlineError::Network {
                        reason,
                        retryable: false,
                    });
                }
            }
        }
    }

    /// A batch the server refused as a whole: halve the batch size until the refused report is
    /// alone, then park it with the server's reason (the others go through meanwhile). A lone
    /// report is parked only on the grid server's own word (`from_server`); a proxy's refusal
    /// keeps it queued and backs off instead.
    fn isolate(
        &mut self,
        ids: &[Uuid],
        max_items: &mut usize,
        field: Option<String>,
        reason: String,
        from_server: bool,
    ) -> Result<Flow, GridlineError> {
        let now = self.device.now();
        if ids.len() > 1 {
            self.device
                .store()
                .requeue(ids, now, "batch refused; sending smaller batches")?;
            *max_items = (ids.len() / 2).max(1);
            Ok(Flow::Continue)
        } else if from_server {
            self.device
                .store()
                .apply_results(&[(ids[0], ItemTransition::Parked { field, reason })], now)?;
            self.summary.rejected += 1;
            Ok(Flow::Continue)
        } else {
            self.device.store().requeue(ids, now, &reason)?;
            self.backoff(format!("{reason} (not the grid server's answer)"), None)
        }
    }

    fn photos(&mut self) -> Result<(), GridlineError> {
        let pending = self.device.store().photos_to_upload()?;
        let total = signed(pending.iter().map(|p| p.bytes).sum());
        let mut sent_total = 0i64;
        self.progress(SyncPhase::Photos, 0, total);
        let media = self.device.media_dir();
        'photos: for photo in pending {
            let bytes = match std::fs::read(media.join(&photo.file_name)) {
                Ok(b) => b,
                Err(e) => {
                    self.summary.last_error =
                        Some(format!("photo {} unreadable: {e}", photo.sha256));
                    continue;
                }
            };
            let len = bytes.len() as u64;
            let mut stalls = 0u32;
            'resume: loop {
                if self.cancelled() {
                    return Ok(());
                }
                let state = match self.attempt(|api| api.media_offset(&photo.sha256))? {
                    Attempt::Done(state) => state,
                    Attempt::Stopped => return Ok(()),
                    Attempt::Refused(e) => {
                        self.summary.last_error = Some(format!("photo {}: {e}", photo.sha256));
                        continue 'photos;
                    }
                };
                if state.contradicts(len) {
                    self.disagree(&photo.sha256, state, len);
                    continue 'photos;
                }
                let mut offset = state.offset;
                loop {
                    // The server says `offset == length` only once the bytes are verified.
                    if offset == len {
                        self.device.store().mark_photo_uploaded(&photo.sha256)?;
                        self.summary.photos += 1;
                        continue 'photos;
                    }
                    if self.cancelled() {
                        return Ok(());
                    }
                    let start = usize::try_from(offset)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    let end = start
                        .saturating_add(self.opts.photo_chunk.max(1))
                        .min(bytes.len());
                    let chunk = bytes[start..end].to_vec();
                    match self.api.media_patch(&photo.sha256, offset, chunk) {
                        Ok(state) => {
                            self.succeeded()?;
                            if state.contradicts(len) {
                                self.disagree(&photo.sha256, state, len);
                                continue 'photos;
                            }
                            let sent = state.offset.saturating_sub(offset);
                            self.summary.photo_bytes += signed(sent);
                            sent_total += signed(sent);
                            self.progress(SyncPhase::Photos, sent_total, total);
                            if state.is_complete(len) {
                                // Marked and counted at the top of the loop.
                                offset = state.offset;
                                continue;
                            }
                            if state.offset <= offset {
                                stalls += 1;
                                if stalls >= MAX_UPLOAD_STALLS {
                                    return Err(protocol_error(format!(
                                        "{stalls} uploads of photo {} in a row were answered \
                                         without progress (offset {offset} of {len})",
                                        photo.sha256
                                    )));
                                }
                                // Ask the server where it stands.
                                continue 'resume;
                            }
                            offset = state.offset;
                        }
                        Err(CallError::Auth(reason)) => return Err(GridlineError::Auth { reason }),
                        Err(CallError::Protocol(reason)) => return Err(protocol_error(reason)),
                        Err(CallError::Retry { reason, after }) => {
                            if self.backoff(reason, after)? == Flow::Stop {
                                return Ok(());
                            }
                            continue 'resume;
                        }
                        Err(e) => {
                            self.summary.last_error = Some(format!("photo {}: {e}", photo.sha256));
                            continue 'photos;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The server's view of an upload cannot be this photo's (another length, or more bytes
    /// than it has): it is not marked uploaded, and the run says so.
    fn disagree(&mut self, sha256: &str, state: UploadState, len: u64) {
        self.summary.incomplete = true;
        self.summary.last_error = Some(format!(
            "photo {sha256}: the server reports {} of {} bytes, but the photo has {len}; \
             it stays queued",
            state.offset,
            state
                .length
                .map_or_else(|| "an unknown number of".to_string(), |l| l.to_string())
        ));
    }

    fn changes(&mut self) -> Result<(), GridlineError> {
        self.progress(SyncPhase::Changes, 0, 0);
        let mut seen = HashSet::new();
        loop {
            if self.cancelled() {
                return Ok(());
            }
            let cursor = self.device.store().changes_cursor()?;
            let page_size = self.opts.changes_page;
            let page = match self.attempt(|api| api.changes(cursor.as_deref(), page_size))? {
                Attempt::Done(page) => page,
                Attempt::Stopped => return Ok(()),
                Attempt::Refused(e) => {
                    self.summary.last_error = Some(format!("changes: {e}"));
                    self.summary.incomplete = true;
                    return Ok(());
                }
            };
            // Bounded by progress: a feed whose cursor stays put or comes back round would be
            // read forever. Checked before anything of the page is applied.
            if page.has_more && !page.changes.is_empty() {
                if cursor.as_deref() == Some(page.next_cursor.as_str()) {
                    return Err(protocol_error(
                        "the changes feed says there is more but its cursor did not advance",
                    ));
                }
                if !seen.insert(page.next_cursor.clone()) {
                    return Err(protocol_error(
                        "the changes feed returned to an earlier cursor",
                    ));
                }
                if seen.len() > MAX_FEED_PAGES {
                    return Err(protocol_error(format!(
                        "the changes feed did not end within {MAX_FEED_PAGES} pages"
                    )));
                }
            }
            let n = self
                .device
                .store()
                .apply_changes(&page.changes, &page.next_cursor)?;
            self.summary.changes += n as i64;
            self.progress(SyncPhase::Changes, self.summary.changes, 0);
            if !page.has_more || page.changes.is_empty() {
                return Ok(());
            }
        }
    }

    /// Pulls the verification tasks (核查) the caller may take, so the rider sees them offline.
    /// A server without tasks (404) leaves the cached list alone.
    fn tasks(&mut self) -> Result<(), GridlineError> {
        match self.attempt(|api| api.tasks())? {
            Attempt::Done(page) => {
                let now = self.device.now().as_millis();
                self.device.store().replace_tasks(&page.tasks, now)?;
                self.summary.tasks = page.tasks.len() as i64;
            }
            Attempt::Stopped => {}
            Attempt::Refused(CallError::Permanent { status: 404, .. }) => {}
            Attempt::Refused(e) => {
                self.summary.last_error = Some(format!("tasks: {e}"));
                self.summary.incomplete = true;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<SyncSummary, GridlineError> {
        let store = self.device.store();
        self.summary.remaining = store.queued_count()?;
        let (_, todo) = store.photo_upload_counts()?;
        self.summary.photos_remaining = todo;
        drop(store);
        // Work left over is never reported as a complete run.
        if self.summary.remaining > 0 || self.summary.photos_remaining > 0 {
            self.summary.incomplete = true;
        }
        if !self.summary.incomplete {
            self.device.store().set_setting(NEXT_RETRY_KEY, "")?;
        }
        self.progress(SyncPhase::Done, 1, 1);
        log::info!(
            "sync: sent {}, already accepted {}, parked {}, photos {}, changes {}, remaining {}{}",
            self.summary.sent,
            self.summary.already_accepted,
            self.summary.rejected,
            self.summary.photos,
            self.summary.changes,
            self.summary.remaining,
            self.summary
                .last_error
                .as_deref()
                .map(|e| format!(" (last problem: {e})"))
                .unwrap_or_default()
        );
        Ok(self.summary)
    }
}

/// When the platform scheduler should run sync again after a run that ended on retryable
/// failures; `None` when no retry is pending.
pub fn next_retry_at(store: &Store) -> Result<Option<Timestamp>, GridlineError> {
    Ok(store
        .setting(NEXT_RETRY_KEY)?
        .and_then(|v| v.parse::<i64>().ok())
        .map(Timestamp::from_millis))
}
