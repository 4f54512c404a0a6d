// The console's WGS-84 -> GCJ-02 port (www/js/geo.js) against `gridline geo convert`, the
// core's conversion, at a few places in China and one outside it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wgs84ToGcj02, distanceM } from '../www/js/geo.js';
import { gridline } from './harness.mjs';

const PLACES = [
  ['Ningbo, Gulou', 121.545, 29.865],
  ['Ningbo, Haishu west', 121.4321, 29.8123],
  ['Beijing, Tiananmen', 116.3975, 39.9087],
  ['Shenzhen, Futian', 114.0579, 22.5431],
  ['Urumqi', 87.6168, 43.8256],
  ['Harbin', 126.535, 45.8038],
  ['Lhasa', 91.1172, 29.6469],
  ['Tokyo (outside China: unchanged)', 139.6917, 35.6895],
];

test('WGS-84 -> GCJ-02 agrees with gridline geo convert to 1e-8 degrees', async () => {
  for (const [name, lon, lat] of PLACES) {
    const out = JSON.parse(await gridline(['--json', 'geo', 'convert', '--from', 'wgs84', '--to', 'gcj02', String(lon), String(lat)]));
    const [glon, glat] = wgs84ToGcj02(lon, lat);
    assert.ok(Math.abs(glon - out.lon) < 1e-8 && Math.abs(glat - out.lat) < 1e-8, `${name}: js ${glon},${glat} cli ${out.lon},${out.lat}`);
    if (name.startsWith('Tokyo')) assert.deepEqual([glon, glat], [lon, lat]);
    else assert.ok(distanceM(lon, lat, glon, glat) > 50, `${name}: shifted`);
  }
});

test('distances are great-circle metres', () => {
  // One thousandth of a degree of latitude is ~111.2 m anywhere.
  assert.ok(Math.abs(distanceM(121.545, 29.865, 121.545, 29.866) - 111.2) < 0.2);
  assert.equal(distanceM(121.5, 29.8, 121.5, 29.8), 0);
});
