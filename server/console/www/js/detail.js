// The ticket pane: what the rider filed (note, kind-specific fields, outreach figures), where
// (WGS-84 and GCJ-02, accuracy, the device's quality warnings), the photos, who and when,
// the outcome so far, the full history, the evidence of reports merged into it, and the
// server's duplicate candidates (ranked by photo similarity, distance, category and time, each
// with its reason); when the server cannot be asked, the open tickets of the same category
// within 50 m that are in memory, nearest first.

import { h, byId, clear } from './dom.js';
import { t, has, formatTime, formatAge } from './i18n.js';
import { wgs84ToGcj02, formatLonLat, distanceM } from './geo.js';
import { allowedActions, OPEN } from './tickets.js';
import * as api from './api.js';

export const DUPLICATE_RADIUS_M = 50;
const ACTION_KEYS = { accept: 'a', dispatch: 'd', resolve: 's', close: 'c', reject: 'r', mark_duplicate: 'u', escalate: 'e', extend: 'l' };

/** Open tickets of `ticket`'s category within `radius` metres, nearest first:
 * `[{ticket, distance, recv}]`. */
export function duplicateCandidates(store, ticket, radius = DUPLICATE_RADIUS_M) {
  const out = [];
  const { lon, lat } = ticket.location;
  for (const e of store.entries) {
    const other = e.t;
    if (other.id === ticket.id || other.category !== ticket.category || !OPEN.has(other.status)) continue;
    if (Math.abs(other.location.lat - lat) > 0.001) continue; // ~110 m: cheap reject first
    const d = distanceM(lon, lat, other.location.lon, other.location.lat);
    if (d <= radius) out.push({ ticket: other, distance: d, recv: e.recv });
  }
  return out.sort((a, b) => a.distance - b.distance || b.recv - a.recv);
}

/** The server's candidates per `id@version`, as promises (a handful of tickets stay cached). */
const serverCandidates = new Map();
const CACHED_CANDIDATE_LISTS = 64;

/** The server's duplicate candidates of `ticket` (cached per version): a promise of
 * `[{id, status, distance, score, similarity, sameCategory, reason, submittedAt}]`. */
export function rankedCandidates(ticket) {
  const key = `${ticket.id}@${ticket.version}`;
  if (!serverCandidates.has(key)) {
    const p = api.candidates(ticket.id).then((list) =>
      (list.candidates || []).map((c) => ({
        id: c.ticket_id,
        status: c.status,
        distance: c.distance_m,
        score: c.score,
        similarity: c.similarity,
        sameCategory: c.same_category,
        category: c.category,
        reason: c.reason,
        submittedAt: Date.parse(c.submitted_at),
      })),
    );
    p.catch(() => serverCandidates.delete(key));
    serverCandidates.set(key, p);
    if (serverCandidates.size > CACHED_CANDIDATE_LISTS) serverCandidates.delete(serverCandidates.keys().next().value);
  }
  return serverCandidates.get(key);
}

/** The candidates for the duplicate dialog: the server's when already fetched, else the local
 * 50 m list, both as `[{id, status, distance, label}]`. */
export async function dialogCandidates(store, ticket) {
  try {
    const ranked = await rankedCandidates(ticket);
    return ranked.map((c) => ({ ...c, label: `${Math.round(c.score * 100)}% · ${c.reason}` }));
  } catch {
    return duplicateCandidates(store, ticket).map((c) => ({
      id: c.ticket.id,
      status: c.ticket.status,
      distance: c.distance,
      label: `${Math.round(c.distance)} m · ${(c.ticket.note || '').slice(0, 40)}`,
    }));
  }
}

export function createDetail(ctx) {
  const pane = byId('detail');
  const photoDialog = byId('photo-dialog');
  const photoImg = byId('photo-full');
  const photoTitle = byId('photo-title');
  const urls = new Map(); // sha256 -> Promise<object URL>
  let mergedFor = null; // {id, list: Promise<merged reports>} of the ticket last opened

  function photoUrl(sha) {
    if (!urls.has(sha)) {
      const p = api.photo(sha).then((blob) => URL.createObjectURL(blob));
      p.catch(() => urls.delete(sha));
      urls.set(sha, p);
    }
    return urls.get(sha);
  }

  function section(titleKey, ...body) {
    return h('section', { class: 'd-section' }, h('h3', {}, t(titleKey)), ...body);
  }

  function dl(pairs) {
    return h('dl', { class: 'kv' }, pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  }

  function attrValue(def, value) {
    const one = (v) => def?.values?.find((x) => x.key === v)?.name || String(v);
    return Array.isArray(value) ? value.map(one).join('、') : one(value);
  }

  function render() {
    const tk = ctx.currentId && ctx.store.get(ctx.currentId);
    clear(pane);
    if (!tk) {
      pane.append(h('p', { class: 'placeholder' }, t('detail.empty')));
      return;
    }
    const cat = ctx.category(tk.kind, tk.category);
    const actions = allowedActions(tk.status);
    pane.append(
      h(
        'header',
        { class: 'd-head' },
        h('h2', { id: 'detail-title' }, h('span', { class: 'd-id' }, tk.id), ' ', h('span', { class: `badge st-${tk.status}` }, t(`status.${tk.status}`))),
        h('p', { class: 'd-sub' }, `${ctx.kindName(tk.kind)} · ${ctx.categoryName(tk.kind, tk.category)} · ${t(`severity.${tk.severity}`)} · ${t('detail.version', { v: tk.version })}`),
      ),
      h(
        'div',
        { class: 'd-actions', role: 'group', 'aria-label': t('detail.actions') },
        actions.length
          ? actions.map((a) => h('button', { type: 'button', class: `act act-${a}`, dataset: { action: a }, 'aria-keyshortcuts': ACTION_KEYS[a] }, t(`action.${a}`), h('kbd', {}, ACTION_KEYS[a])))
          : h('p', { class: 'muted' }, t('detail.noActions')),
      ),
      section('detail.note', h('p', { class: 'note' }, tk.note || t('detail.noNote'))),
    );

    const attrs = Object.entries(tk.attributes || {});
    if (attrs.length) {
      pane.append(
        section(
          'detail.fields',
          dl(attrs.map(([code, value]) => {
            const def = cat?.attributes?.find((a) => a.code === code);
            return [def?.description || code, attrValue(def, value)];
          })),
        ),
      );
    }
    if (tk.outreach) {
      const o = tk.outreach;
      pane.append(
        section(
          'detail.outreach',
          dl([
            [t('detail.people'), String(o.people_reached)],
            [t('detail.materials'), String(o.materials_handed_out)],
            [t('detail.venue'), has(`venue.${o.venue_type}`) ? t(`venue.${o.venue_type}`) : o.venue_type],
          ]),
        ),
      );
    }

    const loc = tk.location;
    const [glon, glat] = wgs84ToGcj02(loc.lon, loc.lat);
    const gcjText = formatLonLat(glon, glat);
    const copy = h('button', { type: 'button', class: 'small', 'aria-label': `${t('detail.copy')} GCJ-02` }, t('detail.copy'));
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(gcjText);
        copy.textContent = t('detail.copied');
      } catch {
        const field = pane.querySelector('.gcj');
        getSelection().selectAllChildren(field);
      }
    });
    const warnings = [...(tk.location_warnings || [])];
    if (loc.mock && !warnings.includes('mock_location')) warnings.push('mock_location');
    pane.append(
      section(
        'detail.location',
        dl([
          [t('detail.wgs'), h('span', { class: 'mono wgs' }, formatLonLat(loc.lon, loc.lat))],
          [t('detail.gcj'), h('span', {}, h('span', { class: 'mono gcj' }, gcjText), ' ', copy)],
          ['', t('detail.accuracy', { m: Math.round(loc.accuracy_m), provider: has(`provider.${loc.provider}`) ? t(`provider.${loc.provider}`) : loc.provider, time: formatTime(loc.fix_time) })],
          [t('detail.grid'), tk.grid_id || '—'],
        ]),
        warnings.length
          ? h('div', { class: 'warnings', role: 'note', 'aria-label': t('detail.warnings') }, h('strong', {}, t('detail.warnings')), h('ul', {}, warnings.map((w) => h('li', {}, has(`warn.${w}`) ? t(`warn.${w}`) : w))))
          : null,
      ),
    );

    pane.append(trustSection(tk));

    const photos = tk.photos || [];
    const strip = h('div', { class: 'thumbs' });
    photos.forEach((p, i) => {
      if (!p.uploaded) {
        strip.append(h('div', { class: 'thumb pending' }, t('detail.photoPending')));
        return;
      }
      const img = h('img', { class: 'thumb-img', alt: t('detail.photoAlt', { n: i + 1, id: tk.id }), width: 120, height: 90, dataset: { sha: p.sha256 } });
      const button = h('button', { type: 'button', class: 'thumb', 'aria-label': t('detail.photoAlt', { n: i + 1, id: tk.id }) }, img);
      button.addEventListener('click', () => openPhoto(tk, i));
      strip.append(button);
      photoUrl(p.sha256).then(
        (url) => {
          img.src = url;
        },
        () => {
          button.replaceWith(h('div', { class: 'thumb pending' }, t('detail.photoFailed')));
        },
      );
    });
    pane.append(section('detail.photos', photos.length ? strip : h('p', { class: 'muted' }, t('detail.noPhotos'))));

    const outcome = [
      tk.department && [t('detail.department'), tk.department],
      tk.resolution_note && [t('detail.resolution'), h('span', { class: 'note' }, tk.resolution_note)],
      tk.reject_reason && [t('detail.rejectReason'), h('span', { class: 'note' }, tk.reject_reason)],
      tk.duplicate_of && [t('detail.duplicateOf'), ticketLink(tk.duplicate_of)],
      tk.due_at && [
        t('detail.due'),
        h('span', { class: tk.overdue ? 'overdue' : '' }, formatTime(tk.due_at), tk.overdue ? ` · ${t('detail.overdue')}` : ''),
      ],
      tk.escalations && [t('detail.escalations'), String(tk.escalations)],
      tk.verifies && [t('detail.verifies'), ticketLink(tk.verifies)],
    ].filter(Boolean);
    if (outcome.length) pane.append(section('detail.outcome', dl(outcome)));

    pane.append(
      section(
        'detail.reporter',
        dl([
          [t('detail.reporter'), tk.reporter],
          [t('detail.submittedBy'), tk.submitted_by],
          [t('detail.created'), formatTime(tk.created_at)],
          [t('detail.submitted'), formatTime(tk.submitted_at)],
          [t('detail.received'), formatTime(tk.received_at)],
          [t('detail.updated'), formatTime(tk.updated_at)],
        ]),
      ),
    );

    const history = h(
      'ol',
      { class: 'history' },
      (tk.history || []).map((ev) => {
        const extra = ev.department || ev.note || ev.reason || ev.duplicate_of || '';
        const what = ev.action && has(`event.${ev.action}`) ? t(`event.${ev.action}`) : '';
        return h(
          'li',
          { dataset: { action: ev.action || '' } },
          h('span', { class: `badge st-${ev.status}` }, t(`status.${ev.status}`)),
          ' ',
          what ? h('strong', { class: 'ev-action' }, what) : null,
          what ? ' ' : null,
          h('span', { class: 'muted' }, `v${ev.version} · ${t('detail.by', { by: ev.by, time: formatTime(ev.at) })}`),
          extra ? h('div', { class: 'note' }, extra) : null,
          ev.due_at ? h('div', { class: 'muted' }, t('detail.dueAt', { time: formatTime(ev.due_at) })) : null,
          ev.verification ? h('div', {}, t('detail.evidence'), ' ', ticketLink(ev.verification)) : null,
        );
      }),
    );
    pane.append(section('detail.history', history));

    // The reports merged into this one come with the ticket itself (asked once per opening:
    // merging a duplicate does not change the surviving ticket's version).
    const merged = h('section', { class: 'd-section', id: 'merged', hidden: true });
    pane.append(merged);
    if (mergedFor?.id !== tk.id) mergedFor = { id: tk.id, list: api.ticket(tk.id).then((full) => full.merged || []) };
    mergedFor.list.then(
      (list) => ctx.currentId === tk.id && list.length && fillMerged(merged, list),
      () => {
        mergedFor = null;
      },
    );
    const dups = h('section', { class: 'd-section', id: 'dups', 'aria-busy': 'true' }, h('h3', {}, t('detail.dupsRanked')), h('p', { class: 'muted' }, t('detail.dupsLoading')));
    pane.append(dups);
    rankedCandidates(tk).then(
      (list) => ctx.currentId === tk.id && fillCandidates(dups, list),
      () => ctx.currentId === tk.id && fillLocalCandidates(dups, tk),
    );
  }

  /** The server's ranked candidates, best first, each with its reason in the console's words. */
  function fillCandidates(dups, list) {
    clear(dups);
    dups.removeAttribute('aria-busy');
    dups.dataset.source = 'server';
    dups.append(h('h3', {}, t('detail.dupsRanked')));
    if (!list.length) {
      dups.append(h('p', { class: 'muted' }, t('detail.noRankedDups')));
      return;
    }
    dups.append(
      h(
        'ul',
        { class: 'dups' },
        list.map((c) => {
          const why = [
            c.similarity != null ? t('detail.dupPhoto', { pct: Math.round(c.similarity * 100) }) : null,
            t('detail.dupDist', { dist: Math.round(c.distance) }),
            c.sameCategory ? t('detail.dupSameCat') : t('detail.dupOtherCat'),
            Number.isFinite(c.submittedAt) ? formatAge(c.submittedAt) : null,
          ].filter(Boolean);
          const other = ctx.store.get(c.id);
          return h(
            'li',
            { dataset: { id: c.id, score: String(c.score) }, title: c.reason },
            ticketLink(c.id),
            ' ',
            h('span', { class: `badge st-${c.status}` }, t(`status.${c.status}`)),
            ' ',
            h('span', { class: 'badge score' }, t('detail.dupScore', { pct: Math.round(c.score * 100) })),
            ' ',
            h('span', { class: 'muted why' }, why.join(' · ')),
            other?.note ? h('div', { class: 'note clip' }, other.note) : null,
          );
        }),
      ),
    );
  }

  /** The server could not be asked: open tickets of the same category within 50 m in memory. */
  function fillLocalCandidates(dups, tk) {
    clear(dups);
    dups.removeAttribute('aria-busy');
    dups.dataset.source = 'local';
    const local = duplicateCandidates(ctx.store, tk);
    dups.append(
      h('h3', {}, t('detail.dups', { m: DUPLICATE_RADIUS_M })),
      h('p', { class: 'muted' }, t('detail.dupsOffline')),
      local.length
        ? h(
            'ul',
            { class: 'dups' },
            local.slice(0, 12).map((c) =>
              h(
                'li',
                { dataset: { id: c.ticket.id } },
                ticketLink(c.ticket.id),
                ' ',
                h('span', { class: `badge st-${c.ticket.status}` }, t(`status.${c.ticket.status}`)),
                ' ',
                h('span', { class: 'muted' }, t('detail.dupRow', { dist: Math.round(c.distance), age: formatAge(c.recv) })),
                h('div', { class: 'note clip' }, c.ticket.note || ''),
              ),
            ),
          )
        : h('p', { class: 'muted' }, t('detail.noDups')),
    );
  }

  /** The reports merged into this ticket (marked its duplicates): their evidence stays here. */
  function fillMerged(section, merged) {
    clear(section);
    section.hidden = false;
    section.append(
      h('h3', {}, t('detail.merged', { n: merged.length })),
      h(
        'ul',
        { class: 'merged' },
        merged.map((m) => {
          const sig = m.evidence?.signature;
          const signals = m.evidence?.signals || [];
          return h(
            'li',
            { dataset: { id: m.ticket_id } },
            ticketLink(m.ticket_id),
            ' ',
            h('span', { class: 'muted' }, t('detail.by', { by: m.reporter, time: formatTime(m.submitted_at) })),
            ' · ',
            h('span', { class: 'muted' }, t('detail.mergedPhotos', { n: (m.photos || []).length })),
            sig ? h('span', {}, ' ', h('span', { class: `badge sig-${sig}`, dataset: { signature: sig } }, has(`sig.${sig}`) ? t(`sig.${sig}`) : sig)) : null,
            signals.length ? h('span', { class: 'muted' }, ' ⚠ ', signals.map((s) => s.name).join(', ')) : null,
            m.note ? h('div', { class: 'note clip' }, m.note) : null,
          );
        }),
      ),
    );
  }

  /** What the server found checking the report: the device signature and the fraud signals. */
  function trustSection(tk) {
    const e = tk.evidence;
    if (!e) return section('detail.trust', h('p', { class: 'muted' }, t('detail.noEvidence')));
    const sig = has(`sig.${e.signature}`) ? t(`sig.${e.signature}`) : e.signature;
    const signals = e.signals || [];
    return h(
      'section',
      { class: 'd-section', id: 'trust' },
      h('h3', {}, t('detail.trust')),
      dl([[t('detail.signature'), h('span', {}, h('span', { class: `badge sig-${e.signature}`, dataset: { signature: e.signature } }, sig), ' ', h('span', { class: 'muted' }, e.detail))]]),
      signals.length
        ? h(
            'ul',
            { class: 'signals', 'aria-label': t('detail.signals') },
            signals.map((s) =>
              h(
                'li',
                { class: `signal sev-${s.severity}`, dataset: { signal: s.name } },
                h('strong', {}, has(`signal.${s.name}`) ? t(`signal.${s.name}`) : s.name),
                ' ',
                h('span', { class: 'badge' }, has(`sev.${s.severity}`) ? t(`sev.${s.severity}`) : s.severity),
                h('div', { class: 'note' }, s.explanation),
              ),
            ),
          )
        : h('p', { class: 'muted' }, t('detail.noSignals')),
    );
  }

  function ticketLink(id) {
    const b = h('button', { type: 'button', class: 'link mono', dataset: { open: id } }, id);
    b.addEventListener('click', () => ctx.open(id));
    return b;
  }

  function openPhoto(tk, i) {
    const photos = tk.photos.filter((p) => p.uploaded);
    const p = tk.photos[i];
    photoTitle.textContent = `${tk.id} · ${t('photo.title', { n: photos.indexOf(p) + 1, of: photos.length })}`;
    photoImg.removeAttribute('src');
    photoImg.alt = t('detail.photoAlt', { n: i + 1, id: tk.id });
    photoUrl(p.sha256).then((url) => {
      photoImg.src = url;
    });
    photoDialog.showModal();
  }

  byId('photo-close').addEventListener('click', () => photoDialog.close());

  pane.addEventListener('click', (ev) => {
    const b = ev.target.closest('button.act');
    if (b) ctx.actions.start(b.dataset.action);
  });

  /** Frees every photo kept in memory (sign-out). */
  function forget() {
    for (const p of urls.values()) p.then((u) => URL.revokeObjectURL(u), () => {});
    urls.clear();
  }

  return { render, forget };
}
