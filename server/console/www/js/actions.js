// Triage actions: accept and close at once, the others through a small dialog (department,
// note, reason with templates, the ticket it duplicates). Every action is sent with the version
// the supervisor was looking at when they decided (If-Match). A 409 version_conflict shows
// what changed in the meantime and offers to retry on the fresh ticket; a 409
// invalid_transition says why and refreshes. Bulk accept/dispatch go ticket by ticket and
// sum up.

import { h, byId, clear } from './dom.js';
import { t, formatTime } from './i18n.js';
import { allowedActions } from './tickets.js';
import { dialogCandidates } from './detail.js';
import * as api from './api.js';

const REASONS = ['reason.private', 'reason.fixed', 'reason.unclear', 'reason.outside', 'reason.test'];
const BULK_PARALLEL = 4;

export function createActions(ctx) {
  const dialog = byId('action-dialog');
  const form = byId('action-form');
  const title = byId('action-title');
  const body = byId('action-body');
  const error = byId('action-error');
  const confirm = byId('action-confirm');
  const conflict = byId('conflict-dialog');
  const conflictTitle = byId('conflict-title');
  const conflictBody = byId('conflict-body');
  const conflictRetry = byId('conflict-retry');
  const toastEl = byId('toast');
  let pending = null; // what the open dialog will do on submit
  let toastTimer = 0;

  function toast(text, kind = 'ok') {
    toastEl.textContent = text;
    toastEl.className = `toast show ${kind}`;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      toastEl.className = 'toast';
    }, 6000);
  }

  const label = (name) => t(`action.${name}`);

  /** Sends `action` on ticket `seen` (at `seen.version`). Resolves to 'ok', 'conflict',
   * 'invalid', 'validation' (with `error`) or 'failed'. */
  async function send(seen, action, { quiet = false } = {}) {
    try {
      const fresh = await api.act(seen.id, seen.version, action);
      ctx.store.accept(fresh);
      if (!quiet) toast(t('action.done', { id: seen.id, action: label(action.action) }));
      return { result: 'ok' };
    } catch (e) {
      if (!(e instanceof api.ApiError)) {
        if (!quiet) toast(t('action.failed', { id: seen.id, action: label(action.action), msg: e.message }), 'bad');
        return { result: 'failed', error: e };
      }
      if (e.code === 'version_conflict' && e.ticket) {
        ctx.store.accept(e.ticket);
        if (!quiet) showConflict(seen, e.ticket, action);
        return { result: 'conflict' };
      }
      if (e.code === 'invalid_transition' && e.ticket) {
        ctx.store.accept(e.ticket);
        if (!quiet) toast(t('action.invalid', { id: seen.id, status: t(`status.${e.ticket.status}`), action: label(action.action) }), 'bad');
        return { result: 'invalid' };
      }
      if (e.status === 422 || e.status === 400) return { result: 'validation', error: e };
      if (e.status === 401) ctx.signOut(t('signin.expired'));
      else if (!quiet) toast(t('action.failed', { id: seen.id, action: label(action.action), msg: e.message }), 'bad');
      return { result: 'failed', error: e };
    }
  }

  /** Takes action `name` on the current ticket (a key or a button). */
  function start(name) {
    const tk = ctx.currentId && ctx.store.get(ctx.currentId);
    if (!tk) return;
    if (!allowedActions(tk.status).includes(name)) {
      toast(t('action.invalid', { id: tk.id, status: t(`status.${tk.status}`), action: label(name) }), 'bad');
      return;
    }
    const seen = structuredClone(tk); // the version the decision is made on
    if (name === 'accept' || name === 'close') {
      send(seen, { action: name });
      return;
    }
    ask(name, seen, (action) => send(seen, action));
  }

  function field(id, labelText, control) {
    control.id = id;
    return h('div', { class: 'field' }, h('label', { for: id }, labelText), control);
  }

  /** Opens the dialog for `name`; `run(action)` is called on submit. */
  function ask(name, seen, run, { bulkCount = 0 } = {}) {
    clear(body);
    error.textContent = '';
    title.textContent = bulkCount ? t('dialog.bulkTitle', { action: label(name), n: bulkCount }) : t('dialog.title', { action: label(name), id: seen.id });
    let read;
    if (name === 'dispatch') {
      const list = ctx.departments;
      let control;
      if (list.length) {
        control = h('select', { required: true }, list.map((d) => h('option', { value: d }, d)));
        if (seen?.department && list.includes(seen.department)) control.value = seen.department;
        body.append(field('a-department', t('dialog.department'), control));
      } else {
        control = h('input', { type: 'text', required: true, maxlength: 128, autocomplete: 'off' });
        body.append(field('a-department', t('dialog.departmentFree'), control));
      }
      read = () => ({ action: 'dispatch', department: control.value.trim() });
    } else if (name === 'resolve') {
      const note = h('textarea', { required: true, maxlength: 2000, rows: 4 });
      body.append(field('a-note', t('dialog.note'), note));
      read = () => ({ action: 'resolve', note: note.value.trim() });
    } else if (name === 'reject') {
      const reason = h('textarea', { required: true, maxlength: 2000, rows: 3 });
      const templates = h(
        'div',
        { class: 'templates', role: 'group', 'aria-label': t('dialog.templates') },
        REASONS.map((key) => {
          const b = h('button', { type: 'button', class: 'chip' }, t(key));
          b.addEventListener('click', () => {
            reason.value = t(key);
            reason.focus();
          });
          return b;
        }),
      );
      body.append(h('p', { class: 'muted' }, t('dialog.templates')), templates, field('a-reason', t('dialog.reason'), reason));
      read = () => ({ action: 'reject', reason: reason.value.trim() });
    } else if (name === 'escalate') {
      const reason = h('textarea', { required: true, maxlength: 2000, rows: 3 });
      body.append(field('a-reason', t('dialog.escalateReason'), reason));
      read = () => ({ action: 'escalate', reason: reason.value.trim() });
    } else if (name === 'extend') {
      const hours = h('input', { type: 'number', required: true, min: 1, max: 8784, step: 1, value: 24 });
      const reason = h('textarea', { required: true, maxlength: 2000, rows: 3 });
      body.append(field('a-hours', t('dialog.hours'), hours), field('a-reason', t('dialog.extendReason'), reason));
      read = () => ({ action: 'extend', hours: Number(hours.value), reason: reason.value.trim() });
    } else if (name === 'mark_duplicate') {
      const of = h('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', pattern: '^[Tt][0-9A-Za-z]+$' });
      // The server's ranked candidates (or the local 50 m list) arrive while the dialog is open.
      const list = h('fieldset', { class: 'candidates', hidden: true }, h('legend', {}, t('dialog.candidates')));
      body.append(list);
      dialogCandidates(ctx.store, seen).then((candidates) => {
        if (!candidates.length || !list.isConnected) return;
        list.append(
          ...candidates.slice(0, 8).map((c, i) => {
            const radio = h('input', { type: 'radio', name: 'dup-of', value: c.id, id: `dup-${i}` });
            radio.addEventListener('change', () => {
              of.value = c.id;
            });
            return h('div', { class: 'candidate' }, radio, h('label', { for: `dup-${i}` }, `${c.id} · ${t(`status.${c.status}`)} · ${c.label}`));
          }),
        );
        list.hidden = false;
      });
      body.append(field('a-of', t('dialog.of'), of));
      read = () => ({ action: 'mark_duplicate', of: of.value.trim().toUpperCase() });
    }
    pending = { read, run };
    confirm.textContent = label(name);
    dialog.showModal();
    const first = body.querySelector('input:not([type=radio]), select, textarea');
    (body.querySelector('input[type=radio]') || first)?.focus();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!pending) return;
    const action = pending.read();
    const { run } = pending;
    confirm.disabled = true;
    try {
      const outcome = await run(action);
      if (outcome?.result === 'validation') {
        error.textContent = `${outcome.error.field ? `${outcome.error.field}: ` : ''}${outcome.error.message}`;
        return;
      }
      pending = null;
      dialog.close();
    } finally {
      confirm.disabled = false;
    }
  });
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  byId('action-cancel').addEventListener('click', () => {
    pending = null;
    dialog.close();
  });

  const FIELDS = [
    ['status', 'detail.label'],
    ['department', 'detail.department'],
    ['resolution_note', 'detail.resolution'],
    ['reject_reason', 'detail.rejectReason'],
    ['duplicate_of', 'detail.duplicateOf'],
  ];

  /** Shows what changed between `seen` and `fresh`, and offers the retry. */
  function showConflict(seen, fresh, action) {
    clear(conflictBody);
    conflictTitle.textContent = t('conflict.title', { id: fresh.id });
    const show = (key, value) => (value === undefined || value === null ? '—' : key === 'status' ? t(`status.${value}`) : String(value));
    const diffs = FIELDS.filter(([key]) => (seen[key] ?? null) !== (fresh[key] ?? null)).map(([key, labelKey]) =>
      h('li', { class: 'diff' }, t('conflict.field', { field: key === 'status' ? t('sort.status') : t(labelKey), old: show(key, seen[key]), new: show(key, fresh[key]) })),
    );
    const events = (fresh.history || [])
      .filter((ev) => ev.version > seen.version)
      .map((ev) =>
        h(
          'li',
          {},
          h('span', { class: `badge st-${ev.status}` }, t(`status.${ev.status}`)),
          ' ',
          `v${ev.version} · ${t('detail.by', { by: ev.by, time: formatTime(ev.at) })}`,
          ev.department || ev.note || ev.reason || ev.duplicate_of ? h('div', { class: 'note' }, ev.department || ev.note || ev.reason || ev.duplicate_of) : null,
        ),
      );
    conflictBody.append(
      h('p', {}, t('conflict.intro', { mine: seen.version, theirs: fresh.version })),
      h('ul', { class: 'diffs' }, diffs),
      h('ol', { class: 'history' }, events),
    );
    const allowed = allowedActions(fresh.status).includes(action.action);
    conflictRetry.hidden = !allowed;
    conflictRetry.textContent = t('conflict.retry', { action: label(action.action) });
    if (!allowed) conflictBody.append(h('p', { class: 'warn-text' }, t('conflict.notAllowed', { status: t(`status.${fresh.status}`), action: label(action.action) })));
    conflictRetry.onclick = () => {
      conflict.close();
      send(structuredClone(fresh), action);
    };
    conflict.showModal();
    (allowed ? conflictRetry : byId('conflict-close')).focus();
  }
  byId('conflict-close').addEventListener('click', () => conflict.close());

  /** Runs `action` on every selected ticket whose status allows it. */
  async function bulk(name, action) {
    const ids = [...ctx.selection];
    const tally = { ok: 0, skipped: 0, conflicts: 0, failed: 0 };
    const todo = [];
    for (const id of ids) {
      const tk = ctx.store.get(id);
      if (!tk || !allowedActions(tk.status).includes(name)) tally.skipped += 1;
      else todo.push(structuredClone(tk));
    }
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const seen = todo[next];
        next += 1;
        const { result } = await send(seen, action, { quiet: true });
        if (result === 'ok') {
          tally.ok += 1;
          ctx.selection.delete(seen.id);
        } else if (result === 'conflict' || result === 'invalid') tally.conflicts += 1;
        else tally.failed += 1;
      }
    };
    await Promise.all(Array.from({ length: BULK_PARALLEL }, worker));
    ctx.worklist.apply();
    toast(t('bulk.done', { action: label(name), ...tally }), tally.conflicts || tally.failed ? 'bad' : 'ok');
    return { result: tally.failed ? 'failed' : 'ok' };
  }

  function bulkAccept() {
    if (ctx.selection.size) bulk('accept', { action: 'accept' });
  }

  function bulkDispatch() {
    if (!ctx.selection.size) return;
    ask('dispatch', {}, (action) => bulk('dispatch', action), { bulkCount: ctx.selection.size });
  }

  byId('bulk-accept').addEventListener('click', bulkAccept);
  byId('bulk-dispatch').addEventListener('click', bulkDispatch);

  return { start, bulkAccept, bulkDispatch, toast };
}
