// The worklist: filters, counts per status, sorting and a virtual list that draws only the
// rows in view, so 10,000 tickets scroll and filter without lag. Filtering runs over the
// tickets in memory (one pass computes the counts and the rows); the map draws the same rows.

import { h, byId, clear } from './dom.js';
import { t, formatShort } from './i18n.js';
import { STATUSES } from './tickets.js';

const ROW = 52; // px; keep in step with .row in console.css
const OVERSCAN = 6;
const SEVERITY_RANK = { urgent: 3, high: 2, medium: 1, low: 0 };

const SORTS = {
  received_desc: (a, b) => b.recv - a.recv,
  received_asc: (a, b) => a.recv - b.recv,
  updated_desc: (a, b) => b.upd - a.upd,
  severity_desc: (a, b) => (SEVERITY_RANK[b.t.severity] ?? 0) - (SEVERITY_RANK[a.t.severity] ?? 0) || b.recv - a.recv,
  status: (a, b) => STATUSES.indexOf(a.t.status) - STATUSES.indexOf(b.t.status) || b.recv - a.recv,
  category: (a, b) => (a.t.category < b.t.category ? -1 : a.t.category > b.t.category ? 1 : b.recv - a.recv),
  due_asc: (a, b) => (a.due ?? Infinity) - (b.due ?? Infinity) || b.recv - a.recv,
};

/** A ticket a supervisor should not take at face value: a fraud signal, or a signature that
 * is not valid (unsigned tickets from apps that predate signing are not doubtful by that). */
export function isDoubtful(tk) {
  const e = tk.evidence;
  return Boolean(e && ((e.signals && e.signals.length) || (e.signature !== 'valid' && e.signature !== 'unsigned')));
}

/** A fresh, empty filter. */
export function emptyFilter() {
  return { statuses: new Set(), kind: '', category: '', grid: '', from: null, to: null, text: '', overdue: false, doubt: false };
}

/** Local midnight of an `<input type=date>` value, in ms (null when empty). */
function dayStart(value) {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d).getTime();
}

export function createWorklist(ctx) {
  const el = {
    kind: byId('f-kind'),
    category: byId('f-category'),
    grid: byId('f-grid'),
    from: byId('f-from'),
    to: byId('f-to'),
    text: byId('f-text'),
    overdue: byId('f-overdue'),
    doubt: byId('f-doubt'),
    sort: byId('f-sort'),
    reset: byId('f-reset'),
    counts: byId('counts'),
    viewport: byId('list'),
    spacer: byId('list-spacer'),
    empty: byId('list-empty'),
    shown: byId('list-shown'),
    bulkBar: byId('bulk-bar'),
    bulkCount: byId('bulk-count'),
  };
  const pool = [];
  let rows = [];
  let frame = 0;

  function option(value, label) {
    return h('option', { value }, label);
  }

  /** Fills the selects from the catalog and grids (again after a language switch). */
  function fillSelects() {
    const keep = { kind: el.kind.value, category: el.category.value, grid: el.grid.value, sort: el.sort.value };
    clear(el.kind).append(option('', t('filters.any')), ...ctx.catalog.kinds.map((k) => option(k.code, ctx.kindName(k.code))));
    el.kind.value = keep.kind;
    fillCategories();
    el.category.value = keep.category;
    const grids = ctx.myGrids();
    clear(el.grid).append(option('', t('filters.any')), ...grids.map((g) => option(g.id, `${g.id} ${g.name || ''}`.trim())));
    if (ctx.me.role === 'admin') el.grid.append(option('-', t('filters.nogrid')));
    el.grid.value = keep.grid;
    clear(el.sort).append(...Object.keys(SORTS).map((k) => option(k, t(`sort.${k}`))));
    el.sort.value = keep.sort || 'received_desc';
  }

  function fillCategories() {
    const kinds = ctx.catalog.kinds.filter((k) => !el.kind.value || k.code === el.kind.value);
    const cats = kinds.flatMap((k) => k.categories.map((c) => option(c.code, ctx.categoryName(k.code, c.code))));
    clear(el.category).append(option('', t('filters.any')), ...cats);
  }

  function readFilter() {
    const f = ctx.filter;
    f.kind = el.kind.value;
    f.category = el.category.value;
    f.grid = el.grid.value;
    f.from = dayStart(el.from.value);
    const to = dayStart(el.to.value);
    f.to = to === null ? null : to + 86400000; // the whole last day
    f.text = el.text.value.trim().toLowerCase();
    f.overdue = el.overdue.checked;
    f.doubt = el.doubt.checked;
    ctx.sort = el.sort.value || 'received_desc';
  }

  /** Recomputes rows and counts from the store and the filter, and redraws. */
  function apply() {
    const f = ctx.filter;
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    let total = 0;
    const out = [];
    const gridNone = f.grid === '-';
    for (const e of ctx.store.entries) {
      const tk = e.t;
      if (f.kind && tk.kind !== f.kind) continue;
      if (f.category && tk.category !== f.category) continue;
      if (f.grid && (gridNone ? tk.grid_id !== null && tk.grid_id !== undefined : tk.grid_id !== f.grid)) continue;
      if (f.from !== null && e.recv < f.from) continue;
      if (f.to !== null && e.recv >= f.to) continue;
      if (f.text && !e.text.includes(f.text)) continue;
      if (f.overdue && !tk.overdue) continue;
      if (f.doubt && !isDoubtful(tk)) continue;
      counts[tk.status] += 1;
      total += 1;
      if (f.statuses.size && !f.statuses.has(tk.status)) continue;
      out.push(e);
    }
    const cmp = SORTS[ctx.sort] || SORTS.received_desc;
    out.sort((a, b) => cmp(a, b) || (a.t.id < b.t.id ? -1 : 1));
    rows = out;
    drawCounts(counts, total);
    el.spacer.style.height = `${rows.length * ROW}px`;
    el.shown.textContent = t('list.shown', { shown: rows.length, total: ctx.store.entries.length });
    el.empty.hidden = rows.length > 0 || !ctx.store.loaded && ctx.store.entries.length === 0;
    el.empty.textContent = ctx.store.entries.length === 0 ? t('list.none') : t('list.empty');
    draw();
    ctx.onRows(rows);
  }

  function drawCounts(counts, total) {
    const f = ctx.filter;
    const button = (status, label, n) =>
      h(
        'button',
        {
          type: 'button',
          class: `count st-${status || 'all'}`,
          'aria-pressed': status ? String(f.statuses.has(status)) : String(f.statuses.size === 0),
          dataset: { status: status || '' },
        },
        h('span', { class: 'count-label' }, label),
        h('span', { class: 'count-n' }, String(n)),
      );
    clear(el.counts).append(button('', t('counts.all'), total), ...STATUSES.map((s) => button(s, t(`status.${s}`), counts[s])));
  }

  el.counts.addEventListener('click', (ev) => {
    const b = ev.target.closest('button.count');
    if (!b) return;
    const s = b.dataset.status;
    const set = ctx.filter.statuses;
    if (!s) set.clear();
    else if (set.has(s)) set.delete(s);
    else set.add(s);
    apply();
  });

  function makeRow() {
    const check = h('input', { type: 'checkbox', class: 'row-check' });
    const open = h(
      'button',
      { type: 'button', class: 'row-open' },
      h('span', { class: 'row-id' }),
      h('span', { class: 'badge' }),
      h('span', { class: 'row-cat' }),
      h('span', { class: 'row-sev' }),
      h('span', { class: 'row-time' }),
      h('span', { class: 'row-note' }),
      h('span', { class: 'row-grid' }),
    );
    const row = h('div', { class: 'row' }, check, open);
    row.hidden = true;
    el.viewport.append(row);
    const parts = {
      row,
      check,
      open,
      id: open.children[0],
      badge: open.children[1],
      cat: open.children[2],
      sev: open.children[3],
      time: open.children[4],
      note: open.children[5],
      grid: open.children[6],
    };
    check.addEventListener('change', () => {
      const id = row.dataset.id;
      if (check.checked) ctx.selection.add(id);
      else ctx.selection.delete(id);
      drawBulk();
    });
    open.addEventListener('click', () => ctx.open(row.dataset.id));
    return parts;
  }

  function fill(p, tk) {
    p.row.dataset.id = tk.id;
    p.row.dataset.status = tk.status;
    p.row.classList.toggle('current', tk.id === ctx.currentId);
    if (tk.id === ctx.currentId) p.row.setAttribute('aria-current', 'true');
    else p.row.removeAttribute('aria-current');
    p.check.checked = ctx.selection.has(tk.id);
    p.check.setAttribute('aria-label', t('list.select', { id: tk.id }));
    p.id.textContent = tk.id;
    p.badge.textContent = tk.overdue ? `${t(`status.${tk.status}`)} · ${t('list.overdue')}` : t(`status.${tk.status}`);
    p.row.classList.toggle('overdue', Boolean(tk.overdue));
    p.row.classList.toggle('doubtful', isDoubtful(tk));
    p.row.title = isDoubtful(tk) ? t('list.doubt') : '';
    p.badge.className = `badge st-${tk.status}`;
    p.cat.textContent = ctx.categoryName(tk.kind, tk.category);
    p.sev.textContent = tk.severity === 'urgent' || tk.severity === 'high' ? t(`severity.${tk.severity}`) : '';
    p.sev.className = `row-sev sev-${tk.severity}`;
    p.time.textContent = formatShort(Date.parse(tk.received_at));
    p.note.textContent = (tk.note || '').replace(/\s+/g, ' ');
    p.grid.textContent = tk.grid_id || '—';
  }

  /** Draws the rows in view (called on scroll, resize and every change). */
  function draw() {
    const top = el.viewport.scrollTop;
    const height = el.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    while (pool.length < last - first) pool.push(makeRow());
    for (let i = 0; i < pool.length; i += 1) {
      const p = pool[i];
      const index = first + i;
      if (index < last) {
        fill(p, rows[index].t);
        p.row.style.transform = `translateY(${index * ROW}px)`;
        p.row.hidden = false;
      } else {
        p.row.hidden = true;
      }
    }
    drawBulk();
  }

  function drawBulk() {
    const n = ctx.selection.size;
    el.bulkBar.classList.toggle('active', n > 0);
    el.bulkCount.textContent = t('bulk.selected', { n });
    for (const b of el.bulkBar.querySelectorAll('button.needs-selection')) b.disabled = n === 0;
  }

  el.viewport.addEventListener('scroll', () => {
    if (!frame) frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  });
  window.addEventListener('resize', () => draw());

  const onFilterInput = () => {
    readFilter();
    apply();
  };
  for (const input of [el.category, el.grid, el.from, el.to, el.sort, el.overdue, el.doubt]) input.addEventListener('change', onFilterInput);
  el.text.addEventListener('input', onFilterInput);
  el.kind.addEventListener('change', () => {
    fillCategories();
    onFilterInput();
  });
  el.reset.addEventListener('click', () => {
    for (const input of [el.kind, el.category, el.grid, el.from, el.to, el.text]) input.value = '';
    el.overdue.checked = false;
    el.doubt.checked = false;
    fillCategories();
    ctx.filter = emptyFilter();
    onFilterInput();
  });

  byId('bulk-all').addEventListener('click', () => {
    for (const e of rows) ctx.selection.add(e.t.id);
    draw();
  });
  byId('bulk-clear').addEventListener('click', () => {
    ctx.selection.clear();
    draw();
  });

  /** The index of the current ticket in the rows, or -1. */
  function currentIndex() {
    return rows.findIndex((e) => e.t.id === ctx.currentId);
  }

  /** Moves the current ticket by `delta` rows (j/k) and scrolls it into view. */
  function move(delta) {
    if (!rows.length) return;
    const i = currentIndex();
    const next = i < 0 ? (delta > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, i + delta));
    ctx.open(rows[next].t.id);
  }

  /** Scrolls so the current ticket's row is visible. */
  function reveal() {
    const i = currentIndex();
    if (i < 0) return;
    const top = i * ROW;
    const view = el.viewport;
    if (top < view.scrollTop) view.scrollTop = top;
    else if (top + ROW > view.scrollTop + view.clientHeight) view.scrollTop = top + ROW - view.clientHeight;
    draw();
  }

  /** Sets the grid filter (the map's polygons call this). */
  function setGrid(id) {
    el.grid.value = el.grid.value === id ? '' : id;
    onFilterInput();
  }

  return {
    fillSelects,
    apply,
    draw,
    move,
    reveal,
    setGrid,
    rows: () => rows,
    focusSearch: () => el.text.focus(),
    drawBulk,
    readFilter,
  };
}
