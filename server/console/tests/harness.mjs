// What the console's browser tests share: the gridline binary, a district on a real
// `gridline serve` (grids, users, reports filed and synced with the CLI through the real batch
// API), and Debian's Chromium driven by playwright-core, which never downloads a browser.

import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../../..');
const TARGET = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
export const GRIDLINE = process.env.GRIDLINE_BIN || join(TARGET, 'debug', 'gridline');
/** Screenshots and other output of the browser tests. */
export const OUT = process.env.CONSOLE_OUT || join(TARGET, 'console-e2e');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Runs the gridline CLI; resolves to its stdout. */
export async function gridline(args, { env = {} } = {}) {
  const { stdout } = await run(GRIDLINE, args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return stdout;
}

/** Two grids in Haishu, Ningbo (as in the server's own tests) and a third far away. */
export const GRIDS = {
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', id: 'HS-A', properties: { name: '鼓楼西' }, geometry: { type: 'Polygon', coordinates: [[[121.54, 29.86], [121.55, 29.86], [121.55, 29.87], [121.54, 29.87], [121.54, 29.86]]] } },
    { type: 'Feature', id: 'HS-B', properties: { name: '鼓楼东' }, geometry: { type: 'Polygon', coordinates: [[[121.55, 29.86], [121.56, 29.86], [121.56, 29.87], [121.55, 29.87], [121.55, 29.86]]] } },
    { type: 'Feature', id: 'ZS-X', properties: { name: '舟山' }, geometry: { type: 'Polygon', coordinates: [[[122.1, 30.0], [122.11, 30.0], [122.11, 30.01], [122.1, 30.01], [122.1, 30.0]]] } },
  ],
};

export const DEPARTMENTS = ['海曙区住建局 road maintenance', '海曙区环卫所 sanitation'];

/** A data folder with the grids imported and no users yet. */
export async function district() {
  const dir = mkdtempSync(join(tmpdir(), 'gridline-console-'));
  const data = join(dir, 'data');
  writeFileSync(join(dir, 'grids.geojson'), JSON.stringify(GRIDS));
  await gridline(['server', 'import-grids', '--data', data, join(dir, 'grids.geojson')]);
  return {
    dir,
    data,
    async user(name, role, grids = []) {
      const out = await gridline(['--json', 'server', 'add-user', '--data', data, '--name', name, '--role', role, ...grids.flatMap((g) => ['--grid', g])]);
      return JSON.parse(out).token;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `gridline serve` on a free loopback port; resolves to `{url, stop()}`. */
export async function serve(data, extra = []) {
  const args = ['serve', '--data', data, '--listen', '127.0.0.1:0', ...DEPARTMENTS.flatMap((d) => ['--department', d]), ...extra];
  const child = spawn(GRIDLINE, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' } });
  let log = '';
  child.stderr.on('data', (d) => {
    log += d;
  });
  const url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the server did not start: ${log}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', (code) => fail(new Error(`the server exited (${code}): ${log}`)));
  });
  return {
    url,
    log: () => log,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', ok);
        child.kill('SIGTERM');
      }),
  };
}

/** A rider's phone: files reports with `gridline report` and sends them with `gridline sync`
 * (POST /v1/reports:batch, then the resumable photo upload). */
export function phone(dir, name, token) {
  const db = join(dir, `${name}.db`);
  return {
    db,
    async report({ kind = 'road_damage', category = 'pothole', lat, lon, note = '', attrs = ['size=large'], photo, severity = 'medium', accuracy, mock = false, people, venue, materials }) {
      const args = ['--json', 'report', '--db', db, '--reporter', name, '--kind', kind, '--category', category, '--lat', String(lat), '--lon', String(lon), '--note', note, '--severity', severity, '--provider', 'gps'];
      for (const a of attrs) args.push('--attr', a);
      if (photo) args.push('--photo', photo);
      if (accuracy !== undefined) args.push('--accuracy', String(accuracy));
      if (mock) args.push('--mock');
      if (people !== undefined) args.push('--people', String(people), '--venue', venue || 'community', '--materials', String(materials || 0));
      return JSON.parse(await gridline(args)).id;
    },
    async sync(url) {
      return JSON.parse(await gridline(['--json', 'sync', '--db', db, '--server', url, '--token', token]));
    },
    async ticketOf(reportId) {
      const rows = JSON.parse(await gridline(['--json', 'queue', '--db', db]));
      const list = Array.isArray(rows) ? rows : rows.reports;
      return list.find((r) => r.id === reportId)?.ticket_id;
    },
  };
}

/** A supervisor at the command line: `gridline triage pull / act / push`. */
export function triageCli(dir, name, token, url) {
  const db = join(dir, `${name}-desk.db`);
  return {
    async act(ticket, action, flags = []) {
      await gridline(['triage', 'pull', '--db', db, '--server', url, '--token', token]);
      await gridline(['triage', 'act', '--db', db, ticket, action, ...flags]);
      return JSON.parse(await gridline(['--json', 'triage', 'push', '--db', db, '--server', url, '--token', token]));
    },
  };
}

/** Writes a `w`x`h` PNG (a road-grey picture with a dark patch) that `gridline report`
 * turns into the JPEG the server stores. */
export function writePng(path, w = 640, h = 480, seed = 1) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y += 1) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x += 1) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      const dx = x - (200 + ((seed * 37) % 240));
      const dy = (y - 260) * 2;
      const sky = y < 120;
      const hole = dx * dx + dy * dy < 80 * 80;
      const g = (x * 7 + y * 13 + seed) % 23;
      const [r, gg, b] = sky ? [120, 170, 230] : hole ? [40, 35, 30] : [110 + g, 110 + g, 105 + g];
      raw[o] = r;
      raw[o + 1] = gg;
      raw[o + 2] = b;
    }
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  writeFileSync(path, png);
  return path;
}

/** Debian's Chromium, headless, with everything that phones home turned off. */
export async function browser() {
  mkdirSync(OUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** A page that fails the test on any script error, CSP violation or request off loopback. */
export async function page(b, { width = 1366, height = 768, locale = 'zh-CN' } = {}) {
  const context = await b.newContext({ viewport: { width, height }, locale });
  const p = await context.newPage();
  p.problems = [];
  p.on('pageerror', (e) => p.problems.push(`page error: ${e.message}`));
  p.on('console', (m) => {
    if (m.type() === 'error' && !/the server responded with a status of (401|404|409|422)/.test(m.text())) p.problems.push(`console: ${m.text()}`);
  });
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !['blob:', 'data:'].includes(u.protocol)) p.problems.push(`request off loopback: ${r.url()}`);
  });
  return p;
}

/** Signs in on the console at `url` with `token`; waits for the whole worklist. */
export async function signIn(p, url, token, { wait = true } = {}) {
  await p.goto(`${url}/console/`);
  await p.fill('#token', token);
  await p.click('#signin-submit');
  if (wait) await p.waitForSelector('#desk[data-loaded="yes"]', { timeout: 20000 });
}
