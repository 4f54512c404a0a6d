// The triage console end to end: a real `gridline serve` with a district seeded through the
// CLI (reports filed offline and synced through POST /v1/reports:batch, a real JPEG uploaded),
// driven in headless Chromium. Screenshots go to target/console-e2e/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { district, serve, phone, triageCli, writePng, browser, page, signIn, gridline, OUT, DEPARTMENTS } from './harness.mjs';

const MARKUP = '<img src=x onerror="window.__xss=1"><b>粗体</b> & <script>window.__xss=2</script>';

let d;
let server;
let b;
let tokens;
const ids = {}; // name -> ticket id

async function api(token, path, init = {}) {
  const r = await fetch(`${server.url}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers || {}) } });
  return { status: r.status, body: await r.json().catch(() => null) };
}
const ticket = async (name) => (await api(tokens.wang, `/v1/tickets/${ids[name]}`)).body;

/** Opens ticket `name` by searching for its id and clicking its row. */
async function open(p, name) {
  await p.fill('#f-text', ids[name]);
  await p.click(`.row[data-id="${ids[name]}"] .row-open`);
  await p.waitForSelector(`#detail .d-id:text-is("${ids[name]}")`);
}

async function statusOf(p, name) {
  return p.textContent(`#detail h2 .badge`);
}

before(async () => {
  d = await district();
  tokens = {
    li: await d.user('rider-li', 'rider'),
    wang: await d.user('sup-wang', 'supervisor', ['HS-A', 'HS-B']),
    liu: await d.user('sup-liu', 'supervisor', ['HS-A', 'HS-B']),
    zhou: await d.user('sup-zhou', 'supervisor', ['ZS-X']),
    // A rider who works grid HS-A: offered its verification tasks (核查).
    zhao: await d.user('rider-zhao', 'rider', ['HS-A']),
  };
  server = await serve(d.data);
  const li = phone(d.dir, 'rider-li', tokens.li);
  const photo = writePng(join(d.dir, 'pothole.png'), 640, 480, 3);
  const reports = {
    P1: { lat: 29.865, lon: 121.545, note: '非机动车道大坑，电动车易摔', photo, severity: 'high' },
    P2: { lat: 29.86518, lon: 121.545, note: '同一个坑，又有人报' },
    B1: { kind: 'garbage_sorting', category: 'overflowing_bin', lat: 29.865, lon: 121.555, attrs: ['bin_types=kitchen,residual'], note: MARKUP },
    O1: { kind: 'anti_fraud_outreach', category: 'community_lecture', lat: 29.862, lon: 121.552, attrs: ['topics=telecom_fraud', 'duration_min=45'], people: 35, venue: 'community', materials: 30, note: '社区老年活动室反诈讲座' },
    W1: { lat: 29.868, lon: 121.548, note: '定位可疑', accuracy: 250, mock: true },
    R1: { lat: 29.861, lon: 121.541, note: '小区内部道路' },
    C1: { lat: 29.869, lon: 121.559, note: '冲突测试' },
    L1: { lat: 29.863, lon: 121.558, note: '实时刷新测试' },
    M1: { lat: 29.8665, lon: 121.5466, note: '手动输入重复号' },
    K1: { lat: 29.8612, lon: 121.5512, note: '批量 一' },
    K2: { lat: 29.8622, lon: 121.5522, note: '批量 二' },
    K3: { lat: 29.8632, lon: 121.5532, note: '批量 三' },
  };
  const byReport = {};
  for (const [name, r] of Object.entries(reports)) byReport[await li.report(r)] = name;
  const synced = await li.sync(server.url);
  assert.equal(synced.sent, Object.keys(reports).length, JSON.stringify(synced));
  const all = await api(tokens.wang, '/v1/tickets?limit=500');
  for (const t of all.body.tickets) ids[byReport[t.report_id]] = t.id;
  assert.equal(Object.keys(ids).length, Object.keys(reports).length);
  b = await browser();
});

after(async () => {
  await b?.close();
  await server?.stop();
  d?.cleanup();
});

describe('sign-in', () => {
  it('refuses a garbage token and a rider token with a clear message', async () => {
    const p = await page(b);
    await signIn(p, server.url, `glt_${'f'.repeat(64)}`, { wait: false });
    await p.waitForSelector('#signin-error:has-text("令牌无效或已过期")');
    await p.fill('#token', 'not even a token');
    await p.click('#signin-submit');
    await p.waitForSelector('#signin-error:has-text("令牌无效或已过期")');
    await p.fill('#token', tokens.li);
    await p.click('#signin-submit');
    await p.waitForSelector('#signin-error:has-text("骑手")');
    assert.equal(await p.isVisible('#desk'), false);
    assert.equal(await p.evaluate(() => sessionStorage.getItem('gridline.console.token')), null);
    assert.deepEqual(p.problems, []);
    await p.context().close();
  });

  it('shows a supervisor of another grid none of these tickets', async () => {
    const p = await page(b);
    await signIn(p, server.url, tokens.zhou);
    assert.equal(await p.locator('.row:not([hidden])').count(), 0);
    assert.equal(await p.textContent('#list-empty'), '您的网格暂无工单');
    assert.equal(await p.textContent('.count.st-all .count-n'), '0');
    assert.equal(await p.locator('#map circle.pt').count(), 0);
    assert.deepEqual(p.problems, []);
    await p.context().close();
  });
});

describe('the desk', () => {
  let p;
  before(async () => {
    p = await page(b);
    await signIn(p, server.url, tokens.wang);
  });
  after(async () => {
    await p.context().close();
  });

  it('lists every ticket of the grids with counts, and keeps the token in this tab only', async () => {
    const n = Object.keys(ids).length;
    assert.equal(await p.textContent('#list-shown'), `显示 ${n} / 共 ${n}`);
    assert.equal(await p.textContent('.count.st-submitted .count-n'), String(n));
    assert.equal(await p.evaluate(() => document.cookie), '');
    assert.equal(await p.evaluate(() => sessionStorage.getItem('gridline.console.token')), tokens.wang);
    assert.ok(!p.url().includes('glt_'));
    await p.screenshot({ path: join(OUT, 'worklist.png') });
    assert.deepEqual(p.problems, []);
  });

  it('filters by text, kind, category, grid and status, with the map in step', async () => {
    const shown = () => p.locator('.row:not([hidden])').count();
    const points = () => p.locator('#map circle.pt').count();
    await p.fill('#f-text', '同一个坑');
    assert.equal(await shown(), 1);
    assert.equal(await points(), 1);
    await p.fill('#f-text', ids.B1.toLowerCase());
    assert.equal(await shown(), 1);
    await p.fill('#f-text', '');
    await p.selectOption('#f-kind', 'garbage_sorting');
    assert.equal(await shown(), 1);
    await p.selectOption('#f-kind', 'road_damage');
    await p.selectOption('#f-category', 'pothole');
    assert.equal(await shown(), 10);
    assert.equal(await points(), 10);
    await p.selectOption('#f-grid', 'HS-B');
    const inB = await p.locator('.row:not([hidden]) .row-grid').allTextContents();
    assert.ok(inB.length > 0 && inB.every((g) => g === 'HS-B'), inB.join());
    assert.equal(await points(), inB.length);
    await p.click('#f-reset');
    const today = await p.evaluate(() => new Date().toLocaleDateString('sv'));
    await p.fill('#f-from', today);
    await p.dispatchEvent('#f-from', 'change');
    assert.equal(await shown(), Object.keys(ids).length);
    await p.fill('#f-to', '2020-01-01');
    await p.dispatchEvent('#f-to', 'change');
    assert.equal(await shown(), 0);
    await p.click('#f-reset');
    await p.click('.count.st-accepted');
    assert.equal(await shown(), 0);
    await p.click('.count.st-all');
    assert.equal(await shown(), Object.keys(ids).length);
    assert.deepEqual(p.problems, []);
  });

  it('opens a ticket from its map point and shows GCJ-02 as gridline geo convert does', async () => {
    await p.fill('#f-text', '大坑');
    await p.click(`#map circle.pt[data-id="${ids.P1}"]`);
    await p.waitForSelector(`#detail .d-id:text-is("${ids.P1}")`);
    await p.screenshot({ path: join(OUT, 'map.png'), clip: await p.locator('#map-pane').boundingBox() });
    const cli = JSON.parse(await gridline(['--json', 'geo', 'convert', '--from', 'wgs84', '--to', 'gcj02', '121.545', '29.865']));
    assert.equal(await p.textContent('#detail .gcj'), `${cli.lon.toFixed(6)},${cli.lat.toFixed(6)}`);
    assert.equal(await p.textContent('#detail .wgs'), '121.545000,29.865000');
  });

  it('shows the photo (a real JPEG, fetched with the token), fields, reporter and duplicate candidates', async () => {
    await open(p, 'P1');
    const thumb = p.locator('#detail img.thumb-img');
    await p.waitForFunction(() => document.querySelector('#detail img.thumb-img')?.naturalWidth > 0);
    assert.match(await thumb.getAttribute('src'), /^blob:/);
    const t = await ticket('P1');
    assert.equal(t.photos.length, 1);
    assert.ok(t.photos[0].uploaded);
    const jpeg = await fetch(`${server.url}/v1/media/${t.photos[0].sha256}`, { headers: { Authorization: `Bearer ${tokens.wang}` } });
    const bytes = Buffer.from(await jpeg.arrayBuffer());
    assert.equal(bytes[0], 0xff);
    assert.equal(bytes[1], 0xd8, 'a JPEG');
    await thumb.click();
    await p.waitForFunction(() => document.getElementById('photo-full').naturalWidth > 0);
    assert.equal(await p.evaluate(() => document.getElementById('photo-full').naturalWidth), t.photos[0].width);
    await p.click('#photo-close');
    const detail = await p.textContent('#detail');
    assert.ok(detail.includes('Larger than a wheel'), 'the attribute value by its catalog name');
    assert.ok(detail.includes('rider-li'));
    // The server's ranked candidates, each with its reason in the console's words.
    await p.waitForSelector('#dups[data-source="server"]');
    const dup = p.locator(`#dups li[data-id="${ids.P2}"]`);
    assert.equal(await dup.count(), 1);
    const row = await dup.textContent();
    assert.match(row, /相距 20 米/);
    assert.match(row, /同类别/);
    assert.match(row, /相似度 \d+%/);
    const ranked = await (await fetch(`${server.url}/v1/tickets/${ids.P1}/candidates`, { headers: { Authorization: `Bearer ${tokens.wang}` } })).json();
    const mine = ranked.candidates.find((c) => c.ticket_id === ids.P2);
    assert.ok(mine, 'the server ranks P2 as a candidate of P1');
    assert.equal(await dup.getAttribute('title'), mine.reason, 'the server\'s reason is the row\'s tooltip');
    await p.screenshot({ path: join(OUT, 'ticket.png') });
  });

  it('shows outreach figures and the device\'s location warnings', async () => {
    await open(p, 'O1');
    const outreach = await p.textContent('#detail');
    assert.ok(outreach.includes('覆盖人数') && outreach.includes('35') && outreach.includes('社区'));
    await open(p, 'W1');
    const warnings = await p.textContent('#detail .warnings');
    assert.ok(warnings.includes('模拟定位') && warnings.includes('精度差'), warnings);
  });

  it('shows a note with markup as literal text', async () => {
    await open(p, 'B1');
    assert.equal(await p.textContent('#detail section .note'), MARKUP);
    assert.equal(await p.textContent(`.row[data-id="${ids.B1}"] .row-note`), MARKUP);
    assert.equal(await p.locator('#detail img:not(.thumb-img), #detail b, #detail script').count(), 0);
    assert.equal(await p.evaluate(() => window.__xss), undefined);
  });

  it('marks a duplicate from the candidates and by a typed id', async () => {
    await open(p, 'P2');
    await p.keyboard.press('u');
    await p.check(`input[name="dup-of"][value="${ids.P1}"]`);
    await p.click('#action-confirm');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '重复');
    const t = await ticket('P2');
    assert.equal(t.status, 'duplicate');
    assert.equal(t.duplicate_of, ids.P1);

    await open(p, 'M1');
    await p.keyboard.press('u');
    await p.fill('#a-of', ids.P1.toLowerCase());
    await p.click('#action-confirm');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '重复');
    assert.equal((await ticket('M1')).duplicate_of, ids.P1);

    // The surviving ticket keeps the merged reports' evidence in sight.
    await open(p, 'P1');
    await p.waitForSelector(`#merged li[data-id="${ids.P2}"]`);
    await p.waitForSelector(`#merged li[data-id="${ids.M1}"]`);
    assert.ok((await p.textContent('#merged')).includes('已合并的重复上报（2）'));
  });

  it('accepts, dispatches, resolves and closes with the keyboard', async () => {
    // An outreach record: no on-the-spot verification, so resolve leads to 已处置.
    await open(p, 'O1');
    await p.locator('#list').focus();
    await p.keyboard.press('a');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '已立案');
    await p.keyboard.press('d');
    await p.selectOption('#a-department', DEPARTMENTS[1]);
    await p.click('#action-confirm');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '已派遣');
    await p.keyboard.press('s');
    await p.fill('#a-note', '已填补压实 <done>');
    await p.keyboard.press('Control+Enter');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '已处置');
    await p.keyboard.press('c');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '已结案');
    const t = await ticket('O1');
    assert.equal(t.status, 'closed');
    assert.equal(t.department, DEPARTMENTS[1]);
    assert.equal(t.resolution_note, '已填补压实 <done>');
    assert.deepEqual(t.history.map((e) => e.status), ['submitted', 'accepted', 'dispatched', 'resolved', 'closed']);
    assert.ok(t.history.slice(1).every((e) => e.by === 'sup-wang'));
    assert.ok((await p.textContent('#detail .history')).includes('已填补压实 <done>'));
  });

  it('shows the deadline, filters overdue tickets, escalates, and closes once a rider verified the fix', async () => {
    await open(p, 'P1');
    await p.locator('#list').focus();
    await p.keyboard.press('a');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '已立案');
    await p.keyboard.press('d');
    await p.click('#action-confirm');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '已派遣');
    assert.ok((await p.textContent('#detail')).includes('处置时限'));
    // Two days later by the administrator's deadline check (the server's own runs each minute).
    const later = new Date(Date.now() + 49 * 3600 * 1000).toISOString();
    const checked = JSON.parse(await gridline(['--json', 'server', 'check-deadlines', '--data', d.data, '--at', later]));
    assert.equal(checked.marked_overdue, 1);
    await p.waitForSelector(`.row[data-id="${ids.P1}"] .badge:has-text("超期")`, { timeout: 10000 });
    await p.fill('#f-text', '');
    await p.check('#f-overdue');
    await p.waitForFunction(() => document.querySelectorAll('.row:not([hidden])').length === 1);
    await p.screenshot({ path: join(OUT, 'overdue.png') });
    await p.uncheck('#f-overdue');
    await open(p, 'P1');
    await p.locator('#list').focus();
    await p.keyboard.press('e');
    await p.fill('#a-reason', '超期未处置，请今日完成');
    await p.click('#action-confirm');
    await p.waitForFunction(() => document.querySelector('#detail .history')?.textContent.includes('督办'));
    assert.equal((await ticket('P1')).escalations, 1);
    await p.keyboard.press('s');
    await p.fill('#a-note', '已修补');
    await p.click('#action-confirm');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '待核查');

    // Rider zhao pulls the task, verifies on the spot, syncs.
    const db = join(d.dir, 'rider-zhao.db');
    await gridline(['--json', 'sync', '--db', db, '--server', server.url, '--token', tokens.zhao]);
    const tasks = JSON.parse(await gridline(['--json', 'tasks', '--db', db]));
    const task = tasks.find((x) => x.ticket_id === ids.P1);
    assert.ok(task, JSON.stringify(tasks));
    await gridline(['--json', 'verify', '--db', db, '--reporter', 'rider-zhao', ids.P1, '--fixed', '--lat', String(task.lat), '--lon', String(task.lon), '--note', '已修好']);
    const sent = JSON.parse(await gridline(['--json', 'sync', '--db', db, '--server', server.url, '--token', tokens.zhao]));
    assert.equal(sent.sent, 1, JSON.stringify(sent));
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '已处置', null, { timeout: 10000 });
    const history = await p.textContent('#detail .history');
    assert.ok(history.includes('核查通过') && history.includes('核查证据'), history);
    await p.keyboard.press('c');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '已结案');
    const t = await ticket('P1');
    assert.deepEqual(t.history.map((e) => e.action), ['submit', 'accept', 'dispatch', 'overdue', 'escalate', 'resolve', 'verified_fixed', 'close']);
    assert.deepEqual(p.problems, []);
  });

  it('rejects with a reason template', async () => {
    await open(p, 'R1');
    await p.click('#detail button.act-reject');
    await p.click('.templates .chip >> nth=0');
    await p.click('#action-confirm');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '不予立案');
    assert.equal((await ticket('R1')).reject_reason, '位于私人区域，不属于公共空间案件');
  });

  it('accepts and dispatches selected tickets in bulk', async () => {
    await p.fill('#f-text', '批量');
    await p.waitForFunction(() => document.querySelectorAll('.row:not([hidden])').length === 3);
    for (const name of ['K1', 'K2', 'K3']) await p.check(`.row[data-id="${ids[name]}"] .row-check`);
    assert.equal(await p.textContent('#bulk-count'), '已选 3 件');
    await p.click('#bulk-accept');
    await p.waitForSelector('#toast:has-text("成功 3")');
    await p.click('#bulk-all');
    await p.keyboard.press('D');
    await p.selectOption('#a-department', DEPARTMENTS[0]);
    await p.click('#action-confirm');
    await p.waitForSelector('#toast:has-text("批量派遣：成功 3")');
    for (const name of ['K1', 'K2', 'K3']) {
      const t = await ticket(name);
      assert.equal(t.status, 'dispatched');
      assert.equal(t.department, DEPARTMENTS[0]);
    }
    await p.fill('#f-text', '');
  });

  it('updates a ticket triaged elsewhere in place, from the changes feed', async () => {
    const liu = triageCli(d.dir, 'sup-liu', tokens.liu, server.url);
    const pushed = await liu.act(ids.L1, 'accept');
    assert.equal(pushed.applied, 1);
    await p.waitForSelector(`.row[data-id="${ids.L1}"] .badge:text-is("已立案")`, { timeout: 10000 });
  });

  it('handles a 409 from a concurrent CLI action: shows what changed, retries on the fresh ticket', async () => {
    await open(p, 'C1');
    await p.keyboard.press('r'); // the reject dialog holds version 1
    const liu = triageCli(d.dir, 'sup-liu', tokens.liu, server.url);
    assert.equal((await liu.act(ids.C1, 'accept')).applied, 1);
    await p.fill('#a-reason', '重复测试，不予立案');
    await p.click('#action-confirm');
    await p.waitForSelector('#conflict-dialog[open]');
    const text = await p.textContent('#conflict-dialog');
    assert.ok(text.includes(ids.C1) && text.includes('版本 1') && text.includes('版本 2'), text);
    assert.ok(text.includes('待受理 → 已立案') && text.includes('sup-liu'), text);
    await p.screenshot({ path: join(OUT, 'conflict.png') });
    await p.click('#conflict-retry');
    await p.waitForFunction(() => document.querySelector('#detail h2 .badge')?.textContent === '不予立案');
    const t = await ticket('C1');
    assert.equal(t.status, 'rejected');
    assert.equal(t.version, 3);
    assert.equal(t.reject_reason, '重复测试，不予立案');
  });

  it('lists the shortcuts in a help overlay, and switches to English', async () => {
    await p.locator('#list').focus();
    await p.keyboard.press('?');
    await p.waitForSelector('#help-dialog[open]');
    assert.ok((await p.textContent('#help-list')).includes('下一件工单'));
    await p.keyboard.press('Escape');
    assert.equal(await p.isVisible('#help-dialog'), false);
    await p.click('#f-reset');
    await p.locator('#list').focus();
    // The detail pane renders after the key press: wait for it (the wait times out, and the
    // test fails, if j/k do not move the selection).
    const detailBecomes = (test, id) =>
      p.waitForFunction(
        ([test, id]) => {
          const shown = document.querySelector('#detail .d-id')?.textContent;
          return shown && (test === 'is' ? shown === id : shown !== id);
        },
        [test, id],
      );
    await p.keyboard.press('j');
    await detailBecomes('not', '');
    const first = await p.textContent('#detail .d-id');
    await p.keyboard.press('j');
    await detailBecomes('not', first);
    await p.keyboard.press('k');
    await detailBecomes('is', first);
    assert.equal(await p.textContent('#detail .d-id'), first);
    await p.click('.top .lang-toggle');
    assert.equal(await p.textContent('.count.st-all .count-label'), 'All');
    assert.equal(await p.getAttribute('html', 'lang'), 'en');
    await p.click('.top .lang-toggle');
    assert.equal(await p.textContent('.count.st-all .count-label'), '全部');
    assert.deepEqual(p.problems, []);
  });

  it('shows what the server checked (signature, fraud signals) and filters doubtful tickets', async () => {
    await open(p, 'W1');
    assert.equal(await p.getAttribute('#trust .badge[data-signature]', 'data-signature'), 'valid');
    const mock = p.locator('#trust li[data-signal="mock_location"]');
    assert.equal(await mock.count(), 1);
    assert.ok((await mock.textContent()).includes('模拟定位'));
    assert.ok((await mock.textContent()).includes('mock-location app'), await mock.textContent());
    // The rider's gallery PNG carries no camera EXIF: flagged, not refused.
    await open(p, 'P1');
    assert.equal(await p.locator('#trust li[data-signal="no_camera_exif"]').count(), 1);
    await open(p, 'B1');
    assert.ok((await p.textContent('#trust')).includes('无欺诈信号'));
    await p.fill('#f-text', '');
    await p.check('#f-doubt');
    await p.waitForFunction(() => document.querySelectorAll('.row:not([hidden])').length < 12);
    const shown = await p.$$eval('.row:not([hidden])', (rows) => rows.map((r) => r.dataset.id));
    assert.ok(shown.includes(ids.W1) && shown.includes(ids.P1), JSON.stringify(shown));
    assert.ok(!shown.includes(ids.B1), JSON.stringify(shown));
    await p.screenshot({ path: join(OUT, 'doubtful.png') });
    await p.uncheck('#f-doubt');
    assert.deepEqual(p.problems, []);
  });

  it('signs out and forgets the token', async () => {
    await p.click('#signout');
    await p.waitForSelector('#signin:not([hidden])');
    assert.equal(await p.evaluate(() => sessionStorage.getItem('gridline.console.token')), null);
    await p.reload();
    await p.waitForSelector('#signin:not([hidden])');
    assert.equal(await p.isVisible('#desk'), false);
  });
});

describe('a 1024x768 tablet', () => {
  it('fits the desk without sideways scrolling, controls labelled', async () => {
    const p = await page(b, { width: 1024, height: 768 });
    await signIn(p, server.url, tokens.wang);
    await p.locator('#list').focus();
    await p.keyboard.press('j');
    await p.waitForSelector('#detail .d-id');
    assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= 1024));
    const unlabelled = await p.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unlabelled, []);
    await p.screenshot({ path: join(OUT, 'tablet-1024.png') });
    assert.deepEqual(p.problems, []);
    await p.context().close();
  });
});
