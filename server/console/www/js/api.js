// The console's only way to the server: the documented protocol v1 endpoints
// (docs/protocol.md), with the bearer token the supervisor signed in with. The token lives in
// this module and in sessionStorage (this tab only), never in a URL or a cookie.

const TOKEN_KEY = 'gridline.console.token';
let token = null;

/** A non-2xx answer: `status`, and the error body's `code`, `message`, `field`, `ticket`. */
export class ApiError extends Error {
  constructor(status, body, headers) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || `http_${status}`;
    this.field = body?.field;
    this.ticket = body?.ticket;
    this.retryAfter = Number(headers?.get('retry-after')) || 0;
  }
}

/** Uses `value` for every request; `remember` keeps it in sessionStorage for reloads. */
export function setToken(value, remember = true) {
  token = value;
  try {
    if (value && remember) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage off: memory only */
  }
}

/** The token kept in this tab, if any. */
export function savedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Forgets the token everywhere. */
export function clearToken() {
  setToken(null, false);
}

async function request(method, path, { json, headers = {}, accept = 'application/json' } = {}) {
  const init = {
    method,
    headers: { Authorization: `Bearer ${token}`, Accept: accept, ...headers },
    cache: 'no-store',
    credentials: 'omit',
    redirect: 'error',
  };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      /* not JSON: the status says enough */
    }
    throw new ApiError(response.status, body, response.headers);
  }
  return response;
}

const getJson = async (path) => (await request('GET', path)).json();
const q = (params) => {
  const usp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') usp.set(k, v);
  const text = usp.toString();
  return text ? `?${text}` : '';
};

/** `GET /v1/me`: name, role, grids. */
export const me = () => getJson('/v1/me');
/** `GET /v1/departments`. */
export const departments = () => getJson('/v1/departments');
/** `GET /v1/catalog`. */
export const catalog = () => getJson('/v1/catalog');
/** `GET /v1/grids` (GeoJSON). */
export const grids = () => getJson('/v1/grids');
/** `GET /v1/limits`. */
export const limits = () => getJson('/v1/limits');
/** One page of `GET /v1/tickets`. */
export const tickets = ({ cursor, limit } = {}) => getJson(`/v1/tickets${q({ cursor, limit })}`);
/** `GET /v1/tickets/{id}`. */
export const ticket = (id) => getJson(`/v1/tickets/${encodeURIComponent(id)}`);
/** `GET /v1/tickets/{id}/candidates`: the server's ranked duplicate candidates, with reasons. */
export const candidates = (id) => getJson(`/v1/tickets/${encodeURIComponent(id)}/candidates`);
/** One page of `GET /v1/changes`. */
export const changes = ({ cursor, limit } = {}) => getJson(`/v1/changes${q({ cursor, limit })}`);

/** `POST /v1/tickets/{id}/actions` at `version` (sent as If-Match); the updated ticket. */
export async function act(id, version, action) {
  const response = await request('POST', `/v1/tickets/${encodeURIComponent(id)}/actions`, {
    json: action,
    headers: { 'If-Match': `"${version}"` },
  });
  return response.json();
}

/** `GET /v1/media/{sha256}` as a Blob (an <img> cannot send the bearer token itself). */
export async function photo(sha256) {
  const response = await request('GET', `/v1/media/${encodeURIComponent(sha256)}`, { accept: 'image/jpeg' });
  return response.blob();
}
