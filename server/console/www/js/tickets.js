// Every ticket the supervisor can see, held in memory, loaded by paging `GET /v1/tickets` and
// kept current from the changes feed (`GET /v1/changes`, polled).
//
// A change that is the next version of a ticket we hold is applied in place (a change carries
// the transition's status, version, time, author and field, which is all an action alters);
// anything else (a gap, a ticket we do not hold yet) is fetched again with
// `GET /v1/tickets/{id}`. Versions only go forward: an older copy never replaces a newer one,
// whichever of the feed, a page or an action's answer arrives first.

import * as api from './api.js';

const FIRST_PAGE = 200; // small, so the first rows show quickly
const PAGE = 500; // the server's default max_page_size
const POLL_MS = 3000;

/** What one action's status change sets on the ticket. */
const FIELD_OF = {
  dispatched: ['department', 'department'],
  resolved: ['resolution_note', 'note'],
  rejected: ['reject_reason', 'reason'],
  duplicate: ['duplicate_of', 'duplicate_of'],
};

export class TicketStore {
  constructor() {
    /** id -> entry `{t, recv, upd, text}`; `recv`/`upd` in ms, `text` lowercased id+note. */
    this.byId = new Map();
    /** Every entry, in load order. */
    this.entries = [];
    this.listeners = new Set();
    this.loaded = false;
    this.cursor = '';
    this.stopped = false;
    this.timer = null;
    this.lastSync = 0;
    this.syncError = null;
  }

  /** Calls `fn(changedIds, store)` whenever tickets change. Returns an unsubscribe. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(ids) {
    for (const fn of this.listeners) fn(ids, this);
  }

  get(id) {
    return this.byId.get(id)?.t;
  }

  /** Keeps `ticket` unless we hold a newer version; true when it was taken. */
  put(ticket) {
    const entry = this.byId.get(ticket.id);
    if (entry && entry.t.version > ticket.version) return false;
    if (entry) {
      entry.t = ticket;
      derive(entry);
    } else {
      const fresh = derive({ t: ticket });
      this.byId.set(ticket.id, fresh);
      this.entries.push(fresh);
    }
    return true;
  }

  /** Takes an action's answer (or a conflict's `ticket`) and tells the listeners. */
  accept(ticket) {
    if (this.put(ticket)) this.emit(new Set([ticket.id]));
  }

  /** Pages through the tickets, calling `onPage()` after each page. */
  async load(onPage) {
    let cursor = '';
    let limit = FIRST_PAGE;
    do {
      const page = await api.tickets({ cursor, limit });
      if (this.stopped) return;
      for (const ticket of page.tickets) this.put(ticket);
      cursor = page.next;
      limit = PAGE;
      onPage(this);
    } while (cursor);
    this.loaded = true;
  }

  /** Reads the changes feed to its end, then polls it until `stop()`. */
  async follow(onStatus) {
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.pollOnce();
        this.syncError = null;
        this.lastSync = Date.now();
      } catch (e) {
        this.syncError = e;
        if (e instanceof api.ApiError && e.status === 401) {
          onStatus(this, e);
          return; // the token went away: stop polling
        }
      }
      onStatus(this, this.syncError);
      if (!this.stopped) this.timer = setTimeout(tick, POLL_MS);
    };
    await tick();
  }

  /** One round: every change after the cursor, then whatever must be fetched again. */
  async pollOnce() {
    const changed = new Set();
    const refetch = new Set();
    let page;
    do {
      page = await api.changes({ cursor: this.cursor, limit: PAGE });
      if (this.stopped) return;
      for (const change of page.changes) this.applyChange(change, changed, refetch);
      this.cursor = page.next_cursor;
    } while (page.has_more);
    for (const id of refetch) {
      try {
        if (this.put(await api.ticket(id))) changed.add(id);
      } catch (e) {
        // 404: no longer visible to us (moved to another grid): drop it.
        if (e instanceof api.ApiError && e.status === 404 && e.code === 'not_found') {
          this.remove(id);
          changed.add(id);
        } else throw e;
      }
    }
    if (changed.size) this.emit(changed);
  }

  applyChange(change, changed, refetch) {
    const entry = this.byId.get(change.ticket_id);
    if (!entry || refetch.has(change.ticket_id)) {
      refetch.add(change.ticket_id);
      return;
    }
    const t = entry.t;
    if (change.version <= t.version) return;
    if (change.version !== t.version + 1) {
      refetch.add(change.ticket_id);
      return;
    }
    // Deadlines, escalations and verifications move fields a change does not carry in full
    // (overdue, escalation count, the reopened deadline): fetch the ticket again.
    if (change.action && !SIMPLE_ACTIONS.has(change.action)) {
      refetch.add(change.ticket_id);
      return;
    }
    const event = { status: change.status, version: change.version, at: change.at, by: change.by };
    for (const key of ['reason', 'department', 'note', 'duplicate_of', 'action', 'due_at']) {
      if (change[key] !== undefined) event[key] = change[key];
    }
    const next = { ...t, status: change.status, version: change.version, updated_at: change.at, history: [...(t.history || []), event] };
    const field = FIELD_OF[change.action === 'resolve' ? 'resolved' : change.status];
    if (field && change[field[1]] !== undefined) next[field[0]] = change[field[1]];
    if (change.action === 'dispatch' && change.due_at) next.due_at = change.due_at;
    this.put(next);
    changed.add(t.id);
  }

  remove(id) {
    const entry = this.byId.get(id);
    if (!entry) return;
    this.byId.delete(id);
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

function derive(entry) {
  const t = entry.t;
  entry.recv = Date.parse(t.received_at);
  entry.upd = Date.parse(t.updated_at);
  entry.text = `${t.id}\n${t.note || ''}`.toLowerCase();
  entry.due = t.due_at ? Date.parse(t.due_at) : null;
  return entry;
}

/** Which actions the lifecycle allows from `status` (docs/protocol.md, "Triage"). */
export function allowedActions(status) {
  switch (status) {
    case 'submitted':
      return ['accept', 'reject', 'mark_duplicate'];
    case 'accepted':
      return ['dispatch', 'resolve', 'reject', 'mark_duplicate', 'escalate'];
    case 'dispatched':
      return ['dispatch', 'resolve', 'reject', 'mark_duplicate', 'escalate', 'extend'];
    case 'resolved':
      return ['close'];
    default:
      return [];
  }
}

/** Open: not final, and not yet handled (duplicate candidates are drawn from these). */
export const OPEN = new Set(['submitted', 'accepted', 'dispatched']);
export const STATUSES = ['submitted', 'accepted', 'dispatched', 'awaiting_verification', 'resolved', 'closed', 'rejected', 'duplicate'];

/** Feed actions whose change carries everything they alter (applied in place). */
const SIMPLE_ACTIONS = new Set(['submit', 'accept', 'dispatch', 'resolve', 'close', 'reject', 'mark_duplicate']);
