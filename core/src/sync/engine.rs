//! The sync driver: carries out `policy`'s decisions against the store and the server.
//! Order of a run: recover reports an interrupted run left `sending`; refresh limits and the
//! catalog; send queued reports in batches; upload photos of accepted reports; pull ticket
//! changes. Retryable failures back off (persisted across runs); a run that cannot finish says
//! when to try again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gridline_protocol::wire::{Limits, paths};
use gridline_protocol::{CoordSystem, Timestamp};
use uuid::Uuid;

use super::api::{CallError, PatchOutcome, ServerApi};
use super::policy::{ItemTransition, item_transition, plan_batches};
use super::{CancelToken, SyncObserver, SyncOptions, SyncPhase, SyncProgress, SyncSummary};
use crate::client::Client;
use crate::error::GridlineError;
use crate::transport::{HttpTransport, TokenProvider, check_server_url};

/// Where and how to sync: the server, and the host's transport and token provider.
#[derive(Clone)]
pub struct SyncContext {
    /// Base URL of the grid server (`https://...`, or `http://` to loopback).
    pub server_url: String,
    /// How requests are sent.
    pub transport: Arc<dyn HttpTransport>,
    /// Where bearer tokens come from.
    pub tokens: Arc<dyn TokenProvider>,
}

const FAILURES_KEY: &str = "sync.failures";
const NEXT_RETRY_KEY: &str = "sync.next_retry_at";
const LIMITS_KEY: &str = "server.limits";
const CATALOG_ETAG_KEY: &str = "etag.catalog";
const GRIDS_ETAG_KEY: &str = "etag.grids";

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
    client: &'a Client,
    api: ServerApi<'a>,
    opts: &'a SyncOptions,
    observer: Option<&'a dyn SyncObserver>,
    cancel: &'a CancelToken,
    summary: SyncSummary,
    failures: u32,
    retries_left: u32,
    stopped: bool,
}

/// Runs one sync. Errors are only those that need the user (auth) or the integrator (a bad
/// URL, storage failure); network trouble ends the run early with `incomplete` set instead.
pub fn sync(
    client: &Client,
    ctx: &SyncContext,
    opts: &SyncOptions,
    observer: Option<&dyn SyncObserver>,
    cancel: &CancelToken,
) -> Result<SyncSummary, GridlineError> {
    let base = check_server_url(&ctx.server_url)?;
    let failures = client
        .store()
        .setting(FAILURES_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut run = Run {
        client,
        api: ServerApi::new(base, &*ctx.transport, &*ctx.tokens, opts.request_timeout),
        opts,
        observer,
        cancel,
        summary: SyncSummary::default(),
        failures,
        retries_left: opts.max_retries,
        stopped: false,
    };
    client.store().recover_interrupted(client.now())?;
    let limits = run.prepare()?;
    if !run.stopped {
        run.reports(&limits)?;
    }
    if !run.stopped {
        run.photos()?;
    }
    if !run.stopped {
        run.changes()?;
    }
    run.finish()
}

impl<'a> Run<'a> {
    fn progress(&self, phase: SyncPhase, done: u64, total: u64) {
        if let Some(o) = self.observer {
            o.on_progress(SyncProgress { phase, done, total });
        }
    }

    fn cancelled(&mut self) -> bool {
        if self.cancel.is_cancelled() {
            self.stopped = true;
            self.summary.incomplete = true;
            self.summary
                .last_error
                .get_or_insert_with(|| "cancelled".into());
        }
        self.stopped
    }

    fn succeeded(&mut self) -> Result<(), GridlineError> {
        if self.failures != 0 {
            self.failures = 0;
            self.client.store().set_setting(FAILURES_KEY, "0")?;
        }
        Ok(())
    }

    /// A retryable failure: back off and go on, or stop the run and say when to retry.
    fn backoff(&mut self, reason: String, after: Option<Duration>) -> Result<Flow, GridlineError> {
        self.failures = self.failures.saturating_add(1);
        self.client
            .store()
            .set_setting(FAILURES_KEY, &self.failures.to_string())?;
        let delay = self
            .opts
            .backoff
            .delay(self.failures, rand::random::<f64>(), after);
        self.summary.last_error = Some(reason);
        if self.retries_left == 0 || delay > self.opts.max_sleep {
            let at =
                Timestamp::from_millis(self.client.now().as_millis() + delay.as_millis() as i64);
            self.client
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
            .client
            .store()
            .setting(LIMITS_KEY)?
            .and_then(|t| serde_json::from_str(&t).ok());
        let limits = match self.attempt(|api| api.limits())? {
            Attempt::Done(l) => {
                let text = serde_json::to_string(&l).unwrap_or_default();
                self.client.store().set_setting(LIMITS_KEY, &text)?;
                l
            }
            // An older server without /limits, or no network: use what we know.
            Attempt::Refused(_) | Attempt::Stopped => cached.unwrap_or_default(),
        };
        if self.stopped {
            return Ok(limits);
        }
        self.progress(SyncPhase::Prepare, 1, 2);
        let etag = self.client.store().setting(CATALOG_ETAG_KEY)?;
        match self.attempt(|api| api.document(paths::CATALOG, etag.as_deref()))? {
            Attempt::Done(Some((tag, body))) => match self.client.install_catalog(&body) {
                Ok(()) => {
                    self.summary.catalog_updated = etag.as_deref() != Some(tag.as_str());
                    self.client.store().set_setting(CATALOG_ETAG_KEY, &tag)?;
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
        let etag = self.client.store().setting(GRIDS_ETAG_KEY)?;
        match self.attempt(|api| api.document(paths::GRIDS, etag.as_deref()))? {
            Attempt::Done(Some((tag, body))) => {
                match self.client.install_grids(&body, CoordSystem::Wgs84) {
                    Ok(_) => {
                        self.summary.grids_updated = true;
                        self.client.store().set_setting(GRIDS_ETAG_KEY, &tag)?;
                    }
                    Err(e) => {
                        self.summary.last_error =
                            Some(format!("server grids refused, keeping ours: {e}"))
                    }
                }
            }
            Attempt::Done(None) | Attempt::Stopped => {}
            Attempt::Refused(e) => self.summary.last_error = Some(format!("grids: {e}")),
        }
        self.progress(SyncPhase::Prepare, 2, 2);
        Ok(limits)
    }

    fn reports(&mut self, limits: &Limits) -> Result<(), GridlineError> {
        let mut max_items = self
            .opts
            .max_batch
            .min(limits.max_reports_per_batch as usize)
            .max(1);
        let max_bytes = usize::try_from(limits.max_request_bytes).unwrap_or(usize::MAX);
        let total = self.client.store().queued_count()?;
        let mut done = 0u64;
        self.progress(SyncPhase::Reports, 0, total);
        loop {
            if self.cancelled() {
                return Ok(());
            }
            let payloads = self.client.store().queued_payloads(max_items)?;
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
            let now = self.client.now();
            self.client.store().mark_sending(&ids, now)?;
            match self.api.post_batch(&body) {
                Ok(response) => {
                    self.succeeded()?;
                    let mut transitions = Vec::with_capacity(ids.len());
                    let mut unanswered = Vec::new();
                    for (i, id) in ids.iter().enumerate() {
                        let outcome = response
                            .results
                            .iter()
                            .find(|o| o.id == Some(*id))
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
                    let now = self.client.now();
                    self.client.store().apply_results(&transitions, now)?;
                    done += transitions.len() as u64;
                    self.progress(SyncPhase::Reports, done, total);
                    if !unanswered.is_empty() {
                        self.client.store().requeue(
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
                    self.client.store().requeue(
                        &ids,
                        self.client.now(),
                        "authentication failed",
                    )?;
                    return Err(GridlineError::Auth { reason });
                }
                Err(CallError::Retry { reason, after }) => {
                    self.client
                        .store()
                        .requeue(&ids, self.client.now(), &reason)?;
                    if self.backoff(reason, after)? == Flow::Stop {
                        return Ok(());
                    }
                }
                Err(CallError::TooLarge(reason)) => {
                    self.isolate(
                        &ids,
                        &mut max_items,
                        None,
                        format!("too large for the server: {reason}"),
                    )?;
                }
                Err(CallError::Permanent {
                    status: 400 | 415 | 422,
                    body,
                    reason,
                }) => {
                    let field = body.and_then(|b| b.field);
                    self.isolate(&ids, &mut max_items, field, reason)?;
                    done += u64::from(ids.len() == 1);
                }
                Err(CallError::Permanent { reason, .. }) => {
                    // 403, 404, ...: nothing about these reports; stop sending, keep them queued.
                    self.client
                        .store()
                        .requeue(&ids, self.client.now(), &reason)?;
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
    /// alone, then park it with the server's reason (the others go through meanwhile).
    fn isolate(
        &mut self,
        ids: &[Uuid],
        max_items: &mut usize,
        field: Option<String>,
        reason: String,
    ) -> Result<(), GridlineError> {
        let now = self.client.now();
        if ids.len() > 1 {
            self.client
                .store()
                .requeue(ids, now, "batch refused; sending smaller batches")?;
            *max_items = (ids.len() / 2).max(1);
        } else {
            self.client
                .store()
                .apply_results(&[(ids[0], ItemTransition::Parked { field, reason })], now)?;
            self.summary.rejected += 1;
        }
        Ok(())
    }

    fn photos(&mut self) -> Result<(), GridlineError> {
        let pending = self.client.store().photos_to_upload()?;
        let total: u64 = pending.iter().map(|p| p.bytes).sum();
        let mut sent_total = 0u64;
        self.progress(SyncPhase::Photos, 0, total);
        let media = self.client.media_dir();
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
            'resume: loop {
                if self.cancelled() {
                    return Ok(());
                }
                let mut offset = match self.attempt(|api| api.media_offset(&photo.sha256))? {
                    Attempt::Done(o) => o,
                    Attempt::Stopped => return Ok(()),
                    Attempt::Refused(e) => {
                        self.summary.last_error = Some(format!("photo {}: {e}", photo.sha256));
                        continue 'photos;
                    }
                };
                loop {
                    if offset >= len {
                        self.client.store().mark_photo_uploaded(&photo.sha256)?;
                        self.summary.photos += 1;
                        continue 'photos;
                    }
                    if self.cancelled() {
                        return Ok(());
                    }
                    let end = (offset as usize)
                        .saturating_add(self.opts.photo_chunk.max(1))
                        .min(bytes.len());
                    let chunk = bytes[offset as usize..end].to_vec();
                    match self.api.media_patch(&photo.sha256, offset, chunk) {
                        Ok(PatchOutcome::Complete) => {
                            self.succeeded()?;
                            let sent = end as u64 - offset;
                            self.summary.photo_bytes += sent;
                            sent_total += sent;
                            self.client.store().mark_photo_uploaded(&photo.sha256)?;
                            self.summary.photos += 1;
                            self.progress(SyncPhase::Photos, sent_total, total);
                            continue 'photos;
                        }
                        Ok(PatchOutcome::Continue(held)) => {
                            self.succeeded()?;
                            let sent = held.saturating_sub(offset);
                            self.summary.photo_bytes += sent;
                            sent_total += sent;
                            self.progress(SyncPhase::Photos, sent_total, total);
                            if held <= offset && held < len {
                                // No progress: ask the server where it stands.
                                continue 'resume;
                            }
                            offset = held;
                        }
                        Err(CallError::Auth(reason)) => return Err(GridlineError::Auth { reason }),
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

    fn changes(&mut self) -> Result<(), GridlineError> {
        self.progress(SyncPhase::Changes, 0, 0);
        loop {
            let cursor = self.client.store().changes_cursor()?;
            let page_size = self.opts.changes_page;
            let page = match self.attempt(|api| api.changes(cursor.as_deref(), page_size))? {
                Attempt::Done(page) => page,
                Attempt::Stopped => return Ok(()),
                Attempt::Refused(e) => {
                    self.summary.last_error = Some(format!("changes: {e}"));
                    return Ok(());
                }
            };
            let n = self
                .client
                .store()
                .apply_changes(&page.changes, &page.next_cursor)?;
            self.summary.changes += n as u64;
            self.progress(SyncPhase::Changes, self.summary.changes, 0);
            if !page.has_more || page.changes.is_empty() {
                return Ok(());
            }
        }
    }

    fn finish(mut self) -> Result<SyncSummary, GridlineError> {
        let store = self.client.store();
        self.summary.remaining = store.queued_count()?;
        let (_, todo) = store.photo_upload_counts()?;
        self.summary.photos_remaining = todo;
        drop(store);
        if !self.summary.incomplete {
            self.client.store().set_setting(NEXT_RETRY_KEY, "")?;
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
pub fn next_retry_at(client: &Client) -> Result<Option<Timestamp>, GridlineError> {
    Ok(client
        .store()
        .setting(NEXT_RETRY_KEY)?
        .and_then(|v| v.parse::<i64>().ok())
        .map(Timestamp::from_millis))
}
