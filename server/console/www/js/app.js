// The console's entry point: sign-in, then the desk (worklist, map, ticket, actions) over the
// documented API. Riders' tokens are refused here (GET /v1/me says the role); the server would
// refuse their triage actions anyway.

import { byId } from './dom.js';
import { t, lang, setLang, applyStatic, formatShort } from './i18n.js';
import * as api from './api.js';
import { TicketStore } from './tickets.js';
import { createWorklist, emptyFilter } from './worklist.js';
import { createMap } from './map.js';
import { createDetail } from './detail.js';
import { createActions } from './actions.js';
import { installKeys } from './keys.js';

const signin = byId('signin');
const desk = byId('desk');
const form = byId('signin-form');
const tokenInput = byId('token');
const signinError = byId('signin-error');
const syncStatus = byId('sync-status');

/** Everything the modules share. Rebuilt at each sign-in. */
let ctx = null;

function newContext(me, catalog, grids, departments) {
  const kinds = new Map(catalog.kinds.map((k) => [k.code, k]));
  const c = {
    me,
    catalog,
    grids,
    departments: departments.departments || [],
    store: new TicketStore(),
    filter: emptyFilter(),
    sort: 'received_desc',
    selection: new Set(),
    currentId: null,
    kindName: (code) => {
      const k = kinds.get(code);
      return k ? (lang() === 'en' ? k.name : k.name_zh || k.name) : t(`kind.${code}`);
    },
    category: (kind, code) => kinds.get(kind)?.categories.find((x) => x.code === code),
    categoryName: (kind, code) => {
      const cat = c.category(kind, code);
      return cat ? (lang() === 'en' ? cat.name : cat.name_zh || cat.name) : code;
    },
    /** The grids this user works in: their own, or all of them for an admin. */
    myGrids: () => {
      const features = grids.features || [];
      const own = new Set(me.grids || []);
      const list = me.role === 'admin' ? features : features.filter((f) => own.has(f.id));
      return list.map((f) => ({ id: f.id, name: f.properties?.name || '' }));
    },
  };
  return c;
}

async function signIn(token, { remember = true } = {}) {
  api.setToken(token, false);
  const me = await api.me();
  if (me.role === 'rider') {
    api.clearToken();
    const e = new Error(t('signin.rider'));
    e.rider = true;
    throw e;
  }
  api.setToken(token, remember);
  const [catalog, grids, departments] = await Promise.all([api.catalog(), api.grids(), api.departments()]);
  startDesk(me, catalog, grids, departments);
}

function describeSigninError(e) {
  if (e.rider) return e.message;
  if (e instanceof api.ApiError) {
    if (e.status === 401) return t('signin.invalid');
    if (e.status === 429) return t('signin.limited', { s: e.retryAfter || 1 });
    return `${e.code}: ${e.message}`;
  }
  return t('signin.network', { msg: e.message });
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const token = tokenInput.value.trim();
  signinError.textContent = '';
  if (!token) {
    signinError.textContent = t('signin.empty');
    return;
  }
  performance.mark('gl-signin');
  const button = byId('signin-submit');
  button.disabled = true;
  signinError.textContent = t('signin.checking');
  try {
    await signIn(token);
    tokenInput.value = '';
    signinError.textContent = '';
  } catch (e) {
    api.clearToken();
    signinError.textContent = describeSigninError(e);
    tokenInput.select();
  } finally {
    button.disabled = false;
  }
});

function startDesk(me, catalog, grids, departments) {
  ctx = newContext(me, catalog, grids, departments);
  const c = ctx;
  c.signOut = signOut;
  c.onRows = (rows) => c.map?.setPoints(rows);
  c.open = (id) => {
    c.currentId = id;
    c.detail.render();
    c.map.setCurrent(id);
    c.worklist.reveal();
  };
  c.toggleSelected = () => {
    if (!c.currentId) return;
    if (c.selection.has(c.currentId)) c.selection.delete(c.currentId);
    else c.selection.add(c.currentId);
    c.worklist.draw();
  };
  c.toggleMap = () => {
    const pane = byId('map-pane');
    pane.hidden = !pane.hidden;
    byId('map-toggle').setAttribute('aria-pressed', String(!pane.hidden));
    if (!pane.hidden) c.map.refresh();
  };
  c.worklist = createWorklist(c);
  c.map = createMap(c);
  c.detail = createDetail(c);
  c.actions = createActions(c);
  c.worklist.fillSelects();

  byId('who').textContent = t('top.who', { name: me.name, role: t(`role.${me.role}`) });
  signin.hidden = true;
  desk.hidden = false;
  c.map.setGrids(grids);
  c.detail.render();
  c.worklist.apply();

  let firstRows = true;
  let queued = 0;
  const redraw = () => {
    queued = 0;
    c.worklist.apply();
  };
  c.store.subscribe((ids) => {
    if (!queued) queued = requestAnimationFrame(redraw);
    if (c.currentId && ids.has(c.currentId)) c.detail.render();
  });
  syncStatus.textContent = t('sync.loading', { n: 0 });
  c.store
    .load((store) => {
      syncStatus.textContent = t('sync.loading', { n: store.entries.length });
      c.worklist.apply();
      if (firstRows) {
        firstRows = false;
        performance.mark('gl-first-rows');
        desk.dataset.firstRows = 'yes';
        // The frame after this one has painted the rows (for scripts/bench-console).
        requestAnimationFrame(() => setTimeout(() => performance.mark('gl-first-rows-painted')));
      }
    })
    .then(() => {
      performance.mark('gl-loaded');
      desk.dataset.loaded = 'yes';
      c.worklist.apply();
      return c.store.follow((store, err) => {
        if (store !== ctx?.store) return;
        if (err instanceof api.ApiError && err.status === 401) {
          signOut(t('signin.expired'));
          return;
        }
        syncStatus.textContent = err ? t('sync.error', { msg: err.message }) : t('sync.live', { time: formatShort(store.lastSync) });
        syncStatus.classList.toggle('bad', Boolean(err));
      });
    })
    .catch((e) => {
      if (e instanceof api.ApiError && e.status === 401) signOut(t('signin.expired'));
      else syncStatus.textContent = t('sync.error', { msg: e.message });
    });
}

function signOut(message = '') {
  api.clearToken();
  if (ctx) {
    ctx.store.stop();
    ctx.detail.forget();
    ctx = null;
  }
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  // Drop every node that showed ticket data: a fresh page is built for the next sign-in.
  if (message) sessionStorage.setItem('gridline.console.notice', message);
  location.reload();
}

byId('signout').addEventListener('click', () => signOut());
byId('map-toggle').addEventListener('click', () => ctx?.toggleMap());
for (const b of document.querySelectorAll('.lang-toggle')) {
  b.addEventListener('click', () => {
    setLang(lang() === 'en' ? 'zh-CN' : 'en');
    if (ctx) {
      byId('who').textContent = t('top.who', { name: ctx.me.name, role: t(`role.${ctx.me.role}`) });
      ctx.worklist.fillSelects();
      ctx.worklist.apply();
      ctx.detail.render();
    }
  });
}

let keysInstalled = false;
function boot() {
  document.documentElement.lang = lang();
  applyStatic(document);
  const notice = sessionStorage.getItem('gridline.console.notice');
  sessionStorage.removeItem('gridline.console.notice');
  if (notice) signinError.textContent = notice;
  if (!keysInstalled) {
    keysInstalled = true;
    installKeys(new Proxy({}, { get: (_, key) => ctx?.[key] }));
  }
  const saved = api.savedToken();
  if (saved) {
    signIn(saved).catch((e) => {
      api.clearToken();
      signin.hidden = false;
      signinError.textContent = describeSigninError(e);
    });
  } else {
    signin.hidden = false;
    tokenInput.focus();
  }
}

boot();
