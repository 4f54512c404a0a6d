// Coordinates for the console: WGS-84 (what devices send and the server stores) to GCJ-02
// (what AMap and Tencent maps take, so a supervisor can paste a ticket's point there), and
// great-circle distances for duplicate candidates.
//
// The GCJ-02 formula is the published one (the same as gcoord and coordtransform; the core's
// `geo::convert` agrees with both to 1e-9 degrees). One difference from the core: "outside
// China" here is the usual bounding box, while the core uses the real outline (docs/geo.md), so
// near the borders (Korea, Mongolia, Taiwan, the sea) the two may disagree. For a district's
// own tickets they agree; node's test (server/console/tests/geo.test.mjs) checks that against
// `gridline geo convert`.

const A = 6378245.0; // Krasovsky 1940 semi-major axis, as the formula has it
const EE = 0.00669342162296594323; // its first eccentricity squared
const EARTH_RADIUS_M = 6371008.8; // mean radius, as core/src/geo/distance.rs

/** True where the GCJ-02 offset is not applied (the usual bounding box). */
export function outOfChina(lon, lat) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function transformLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return r;
}

function transformLon(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return r;
}

/** WGS-84 -> GCJ-02, longitude first like the rest of Gridline: `[lon, lat]`. */
export function wgs84ToGcj02(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  let dLat = transformLat(lon - 105.0, lat - 35.0);
  let dLon = transformLon(lon - 105.0, lat - 35.0);
  const radLat = (lat / 180.0) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dLon = (dLon * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lon + dLon, lat + dLat];
}

/** Great-circle distance in metres between two WGS-84 points (haversine, mean radius). */
export function distanceM(lon1, lat1, lon2, lat2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a =
    Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** `lon,lat` with six decimals (~0.1 m): the order AMap's and Tencent's search boxes and
 * APIs take when pasted. */
export function formatLonLat(lon, lat) {
  return `${lon.toFixed(6)},${lat.toFixed(6)}`;
}
