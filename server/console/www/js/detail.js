// The ticket pane: what the rider filed (note, kind-specific fields, outreach figures), where
// (WGS-84 and GCJ-02, accuracy, the device's quality warnings), the photos, who and when,
// the outcome so far, the full history, and duplicate candidates computed here from the
// tickets in memory: open tickets of the same category within 50 m, nearest first.

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

export function createDetail(ctx) {
  const pane = byId('detail');
  const photoDialog = byId('photo-dialog');
  const photoImg = byId('photo-full');
  const photoTitle = byId('photo-title');
  const urls = new Map(); // sha256 -> Promise<object URL>

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

    const dups = duplicateCandidates(ctx.store, tk);
    pane.append(
      h(
        'section',
        { class: 'd-section', id: 'dups' },
        h('h3', {}, t('detail.dups', { m: DUPLICATE_RADIUS_M })),
        dups.length
          ? h(
              'ul',
              { class: 'dups' },
              dups.slice(0, 12).map((c) =>
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
