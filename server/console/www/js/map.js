// The map panel, with no tiles and no internet: the grid polygons of GET /v1/grids and the
// worklist's filtered tickets drawn as SVG in a local equirectangular projection (fine at
// district scale). Wheel zooms about the pointer, dragging pans, clicking a point opens its
// ticket, clicking a grid filters the worklist by it. The pointer's position is shown in
// WGS-84 and GCJ-02.

import { s, byId, clear } from './dom.js';
import { t } from './i18n.js';
import { wgs84ToGcj02, formatLonLat } from './geo.js';
import { STATUSES } from './tickets.js';

const K = 100000; // map units per degree of latitude
const CIRCLES_UP_TO = 2000; // above this, one path per status (no element per ticket)
const HIT_PX = 10;

export function createMap(ctx) {
  const svg = byId('map');
  const readout = byId('map-readout');
  const count = byId('map-count');
  const gGrids = s('g', { class: 'grids' });
  const gPoints = s('g', { class: 'points' });
  const current = s('circle', { class: 'current-point', r: 1 });
  current.setAttribute('visibility', 'hidden');
  svg.append(gGrids, gPoints, current);

  let lat0 = 30;
  let cos0 = Math.cos((lat0 * Math.PI) / 180);
  let home = { x: 0, y: 0, w: 1, h: 1 };
  let view = { ...home };
  let shown = [];

  const px = (lon) => lon * cos0 * K;
  const py = (lat) => -lat * K;
  const unproject = (x, y) => [x / (cos0 * K), -y / K];

  /** Map units per screen pixel (the viewBox is fitted whole: the tighter side decides). */
  function unitsPerPx(v = view) {
    return Math.max(v.w / Math.max(1, svg.clientWidth || 400), v.h / Math.max(1, svg.clientHeight || 300));
  }

  function setView(v) {
    view = v;
    svg.setAttribute('viewBox', `${v.x} ${v.y} ${v.w} ${v.h}`);
    const perPx = unitsPerPx(v);
    svg.style.setProperty('--pr', `${4.5 * perPx}px`);
    svg.style.setProperty('--pr-current', `${8 * perPx}px`);
    svg.style.setProperty('--fs', `${11 * perPx}px`);
  }

  function rings(geometry) {
    if (geometry.type === 'Polygon') return [geometry.coordinates];
    if (geometry.type === 'MultiPolygon') return geometry.coordinates;
    return [];
  }

  /** Draws the grids and fits the view to the caller's own (all of them for admins). */
  function setGrids(doc) {
    clear(gGrids);
    const mine = new Set(ctx.myGrids().map((g) => g.id));
    let [minLon, minLat, maxLon, maxLat] = [180, 90, -180, -90];
    const all = doc.features || [];
    for (const f of all) {
      for (const poly of rings(f.geometry)) {
        for (const [lon, lat] of poly[0] || []) {
          if (mine.size && !mine.has(f.id)) continue;
          minLon = Math.min(minLon, lon);
          maxLon = Math.max(maxLon, lon);
          minLat = Math.min(minLat, lat);
          maxLat = Math.max(maxLat, lat);
        }
      }
    }
    if (minLon > maxLon) [minLon, minLat, maxLon, maxLat] = [121.5, 29.8, 121.6, 29.9];
    lat0 = (minLat + maxLat) / 2;
    cos0 = Math.cos((lat0 * Math.PI) / 180);
    for (const f of all) {
      const d = rings(f.geometry)
        .map((poly) => poly.map((ring) => `M${ring.map(([lon, lat]) => `${px(lon).toFixed(1)},${py(lat).toFixed(1)}`).join('L')}Z`).join(''))
        .join('');
      const own = mine.size === 0 || mine.has(f.id);
      const name = f.properties?.name || '';
      const path = s('path', { d, class: own ? 'grid own' : 'grid other', dataset: { grid: f.id } }, s('title', {}, t('map.grid', { id: f.id, name })));
      gGrids.append(path);
      const outer = rings(f.geometry)[0]?.[0] || [];
      if (own && outer.length) {
        const lons = outer.map((p) => p[0]);
        const lats = outer.map((p) => p[1]);
        const cx = px((Math.min(...lons) + Math.max(...lons)) / 2);
        const cy = py((Math.min(...lats) + Math.max(...lats)) / 2);
        gGrids.append(s('text', { x: cx.toFixed(1), y: cy.toFixed(1), class: 'grid-label' }, `${f.id} ${name}`));
      }
    }
    const x0 = px(minLon);
    const x1 = px(maxLon);
    const y0 = py(maxLat);
    const y1 = py(minLat);
    const pad = Math.max(x1 - x0, y1 - y0) * 0.06 || 100;
    home = { x: x0 - pad, y: y0 - pad, w: x1 - x0 + 2 * pad, h: y1 - y0 + 2 * pad };
    setView({ ...home });
  }

  /** Draws the worklist's rows as points. */
  function setPoints(rows) {
    shown = rows;
    clear(gPoints);
    if (rows.length <= CIRCLES_UP_TO) {
      for (const e of rows) {
        const tk = e.t;
        gPoints.append(
          s('circle', { cx: px(tk.location.lon).toFixed(1), cy: py(tk.location.lat).toFixed(1), class: `pt st-${tk.status}`, dataset: { id: tk.id } }, s('title', {}, `${tk.id} ${t(`status.${tk.status}`)} ${ctx.categoryName(tk.kind, tk.category)}`)),
        );
      }
    } else {
      const parts = Object.fromEntries(STATUSES.map((st) => [st, []]));
      for (const e of rows) parts[e.t.status].push(`M${px(e.t.location.lon).toFixed(1)} ${py(e.t.location.lat).toFixed(1)}h0`);
      for (const st of STATUSES) if (parts[st].length) gPoints.append(s('path', { d: parts[st].join(''), class: `pts st-${st}` }));
    }
    count.textContent = t('map.points', { n: rows.length });
    setCurrent(ctx.currentId);
  }

  function setCurrent(id) {
    const tk = id && ctx.store.get(id);
    if (!tk) {
      current.setAttribute('visibility', 'hidden');
      return;
    }
    current.setAttribute('cx', px(tk.location.lon).toFixed(1));
    current.setAttribute('cy', py(tk.location.lat).toFixed(1));
    current.setAttribute('visibility', 'visible');
  }

  function toMap(ev) {
    const m = svg.getScreenCTM();
    if (!m) return null;
    return new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m.inverse());
  }

  function nearest(pt) {
    const perPx = unitsPerPx();
    let best = null;
    let bestD = (HIT_PX * perPx) ** 2;
    for (const e of shown) {
      const dx = px(e.t.location.lon) - pt.x;
      const dy = py(e.t.location.lat) - pt.y;
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = e.t.id;
      }
    }
    return best;
  }

  function zoom(factor, about) {
    const c = about || { x: view.x + view.w / 2, y: view.y + view.h / 2 };
    const w = Math.min(home.w * 4, Math.max(home.w / 200, view.w * factor));
    const f = w / view.w;
    setView({ x: c.x - (c.x - view.x) * f, y: c.y - (c.y - view.y) * f, w, h: view.h * f });
  }

  svg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    zoom(ev.deltaY > 0 ? 1.25 : 0.8, toMap(ev));
  }, { passive: false });

  let drag = null;
  svg.addEventListener('pointerdown', (ev) => {
    drag = { x: ev.clientX, y: ev.clientY, view: { ...view }, moved: false };
  });
  svg.addEventListener('pointermove', (ev) => {
    const pt = toMap(ev);
    if (pt) {
      const [lon, lat] = unproject(pt.x, pt.y);
      const [glon, glat] = wgs84ToGcj02(lon, lat);
      readout.textContent = t('map.cursor', { wgs: formatLonLat(lon, lat), gcj: formatLonLat(glon, glat) });
    }
    if (!drag || !(ev.buttons & 1)) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (!drag.moved) return;
    const perPx = unitsPerPx(drag.view);
    setView({ ...drag.view, x: drag.view.x - dx * perPx, y: drag.view.y - dy * perPx });
  });
  svg.addEventListener('pointerup', () => {
    setTimeout(() => {
      drag = null;
    });
  });
  svg.addEventListener('click', (ev) => {
    if (drag?.moved) return;
    const direct = ev.target.closest?.('circle.pt');
    const id = direct ? direct.dataset.id : nearest(toMap(ev) || { x: Infinity, y: Infinity });
    if (id) {
      ctx.open(id);
      return;
    }
    const grid = ev.target.closest?.('path.grid');
    if (grid) ctx.worklist.setGrid(grid.dataset.grid);
  });

  byId('map-zoom-in').addEventListener('click', () => zoom(0.66));
  byId('map-zoom-out').addEventListener('click', () => zoom(1.5));
  byId('map-reset').addEventListener('click', () => setView({ ...home }));
  window.addEventListener('resize', () => setView(view));

  return { setGrids, setPoints, setCurrent, refresh: () => setView(view) };
}
