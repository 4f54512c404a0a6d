//! Conversions between WGS-84 (GNSS), GCJ-02 (AMap, Tencent) and BD-09 (Baidu).
//!
//! - WGS-84 -> GCJ-02 is the published obfuscation formula (Krasovsky ellipsoid constants), applied
//!   only inside China's outline ([`super::china::is_in_china`], tested on the WGS-84 position);
//!   everywhere else GCJ-02 equals WGS-84.
//! - GCJ-02 -> BD-09 is Baidu's published formula, applied everywhere: BD-09 is defined on top of
//!   GCJ-02, so outside China it is the BD offset applied to WGS-84 (what Baidu's own converter and
//!   the common libraries do). Baidu's overseas tiles may use other conventions; see docs/geo.md.
//! - The inverses are not the usual one-step approximation (metres off) but solve
//!   `forward(x) = y` by fixed-point iteration to 1e-10 degrees (about 10 micrometres), see
//!   docs/decisions/0004-exact-inverse.md. The forward offsets change slowly with position, so
//!   each step gains about three digits and four to six steps suffice.
//!
//! Near the outline's border the forward map is discontinuous (a shifted point may land on the
//! other side), so a GCJ-02 point there can have two WGS-84 preimages or none; we prefer the one
//! inside China. Round trips are exact everywhere inside the outline.

use std::f64::consts::PI;

use gridline_protocol::CoordSystem;
use gridline_protocol::location::validate_lat_lon;

use super::GeoError;
use super::china::is_in_china;

/// Semi-major axis of the Krasovsky 1940 ellipsoid, as used by GCJ-02.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's angular factor.
const BD_FACTOR: f64 = PI * 3000.0 / 180.0;
/// Convergence threshold of the inverses, degrees (~10 micrometres).
const INVERSE_TOL_DEG: f64 = 1e-10;
/// Iteration cap; convergence normally takes 4-6 steps.
const INVERSE_MAX_STEPS: usize = 30;

/// Converts a point between coordinate systems.
///
/// Input is `lon, lat` in degrees; NaN, infinities and out-of-range values are refused with
/// [`GeoError::InvalidPoint`] naming `point.lon` or `point.lat`. A result that would leave the valid
/// range (only possible for BD-09 within metres of the poles or the antimeridian) is refused the
/// same way, naming `result.lon`/`result.lat`.
pub fn convert(
    lon: f64,
    lat: f64,
    from: CoordSystem,
    to: CoordSystem,
) -> Result<(f64, f64), GeoError> {
    validate_lat_lon("point", lat, lon)?;
    let (lon, lat) = convert_unchecked(lon, lat, from, to);
    validate_lat_lon("result", lat, lon)?;
    Ok((lon, lat))
}

/// [`convert`] without range checks, for callers that validated already (grid import).
pub(crate) fn convert_unchecked(
    lon: f64,
    lat: f64,
    from: CoordSystem,
    to: CoordSystem,
) -> (f64, f64) {
    use CoordSystem::{Bd09, Gcj02, Wgs84};
    match (from, to) {
        (Wgs84, Wgs84) | (Gcj02, Gcj02) | (Bd09, Bd09) => (lon, lat),
        (Wgs84, Gcj02) => wgs84_to_gcj02(lon, lat),
        (Gcj02, Wgs84) => gcj02_to_wgs84(lon, lat),
        (Gcj02, Bd09) => gcj02_to_bd09(lon, lat),
        (Bd09, Gcj02) => bd09_to_gcj02(lon, lat),
        (Wgs84, Bd09) => {
            let (x, y) = wgs84_to_gcj02(lon, lat);
            gcj02_to_bd09(x, y)
        }
        (Bd09, Wgs84) => {
            let (x, y) = bd09_to_gcj02(lon, lat);
            gcj02_to_wgs84(x, y)
        }
    }
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset `(dlon, dlat)` at a WGS-84 position, ignoring the China test.
fn gcj_offset(lon: f64, lat: f64) -> (f64, f64) {
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    (
        dlon * 180.0 / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI),
        dlat * 180.0 / (KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (magic * sqrt_magic) * PI),
    )
}

fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !is_in_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = gcj_offset(lon, lat);
    (lon + dlon, lat + dlat)
}

/// Solves `f(x) = target` for `x` near `target`, where `f(x) - x` changes slowly, by the fixed-point
/// iteration `x <- x - (f(x) - target)`.
fn solve(target: (f64, f64), f: impl Fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    let (mut x, mut y) = target;
    for _ in 0..INVERSE_MAX_STEPS {
        let (fx, fy) = f(x, y);
        let (ex, ey) = (fx - target.0, fy - target.1);
        x -= ex;
        y -= ey;
        if ex.abs() < INVERSE_TOL_DEG && ey.abs() < INVERSE_TOL_DEG {
            break;
        }
    }
    (x, y)
}

fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y) = solve((lon, lat), |x, y| {
        let (dx, dy) = gcj_offset(x, y);
        (x + dx, y + dy)
    });
    // Prefer a preimage inside China; if there is none, the point was never shifted.
    if x.is_finite() && y.is_finite() && is_in_china(x, y) {
        (x, y)
    } else {
        (lon, lat)
    }
}

fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = lon.hypot(lat) + 0.00002 * (lat * BD_FACTOR).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * BD_FACTOR).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    solve((lon, lat), gcj02_to_bd09)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CoordSystem::{Bd09, Gcj02, Wgs84};

    /// Metres between two nearby points (equirectangular; fine below a kilometre).
    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        let k = 111_195.0;
        let dx = (a.0 - b.0) * k * (a.1.to_radians()).cos();
        let dy = (a.1 - b.1) * k;
        dx.hypot(dy)
    }

    #[test]
    fn ningbo_shifts_by_hundreds_of_metres() {
        let w = (121.544, 29.8683);
        let g = convert(w.0, w.1, Wgs84, Gcj02).unwrap();
        let b = convert(w.0, w.1, Wgs84, Bd09).unwrap();
        assert!((300.0..800.0).contains(&metres(w, g)), "{g:?}");
        assert!((800.0..2000.0).contains(&metres(w, b)), "{b:?}");
    }

    #[test]
    fn identity_outside_china_for_gcj_and_offset_only_for_bd() {
        for (lon, lat) in [(126.978, 37.5665), (105.8342, 21.0278), (-0.1276, 51.5072)] {
            assert_eq!(convert(lon, lat, Wgs84, Gcj02).unwrap(), (lon, lat));
            assert_eq!(convert(lon, lat, Gcj02, Wgs84).unwrap(), (lon, lat));
            let b = convert(lon, lat, Wgs84, Bd09).unwrap();
            assert_eq!(b, gcj02_to_bd09(lon, lat));
            let back = convert(b.0, b.1, Bd09, Wgs84).unwrap();
            assert!(metres(back, (lon, lat)) < 1e-3, "{back:?}");
        }
    }

    #[test]
    fn same_system_is_identity_and_validated() {
        for c in [Wgs84, Gcj02, Bd09] {
            assert_eq!(convert(121.5, 29.8, c, c), Ok((121.5, 29.8)));
        }
        assert!(convert(f64::NAN, 29.8, Wgs84, Wgs84).is_err());
    }

    #[test]
    fn hostile_inputs_name_the_field() {
        let cases = [
            (f64::NAN, 30.0, "point.lon"),
            (f64::INFINITY, 30.0, "point.lon"),
            (180.0001, 30.0, "point.lon"),
            (120.0, f64::NAN, "point.lat"),
            (120.0, f64::NEG_INFINITY, "point.lat"),
            (120.0, -90.5, "point.lat"),
        ];
        for (lon, lat, field) in cases {
            for (from, to) in [(Wgs84, Gcj02), (Gcj02, Wgs84), (Bd09, Wgs84)] {
                match convert(lon, lat, from, to) {
                    Err(GeoError::InvalidPoint(e)) => assert_eq!(e.field, field),
                    other => panic!("{lon},{lat}: {other:?}"),
                }
            }
        }
        // BD-09 near the antimeridian leaves the valid range: refused, not wrapped silently.
        match convert(179.999, 0.0, Wgs84, Bd09) {
            Err(GeoError::InvalidPoint(e)) => assert_eq!(e.field, "result.lon"),
            other => panic!("{other:?}"),
        }
    }

    /// Deterministic dense sample of points inside the China outline: one point per cell with a
    /// per-cell jitter over a 0.2 x 0.1 degree lattice (~110,000 candidates, about half inside).
    fn china_sample() -> impl Iterator<Item = (f64, f64)> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            // xorshift64*: reproducible, no dependency.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut pts = Vec::new();
        let mut lat = 18.0;
        while lat < 53.6 {
            let mut lon = 73.5;
            while lon < 135.1 {
                pts.push((lon + next() * 0.2, lat + next() * 0.1));
                lon += 0.2;
            }
            lat += 0.1;
        }
        pts.into_iter().filter(|&(x, y)| is_in_china(x, y))
    }

    #[test]
    fn round_trips_within_a_centimetre_across_china() {
        let mut n = 0;
        let mut worst: f64 = 0.0;
        for w in china_sample() {
            n += 1;
            let g = convert(w.0, w.1, Wgs84, Gcj02).unwrap();
            let b = convert(w.0, w.1, Wgs84, Bd09).unwrap();
            for back in [
                convert(g.0, g.1, Gcj02, Wgs84).unwrap(),
                convert(b.0, b.1, Bd09, Wgs84).unwrap(),
            ] {
                worst = worst.max(metres(back, w));
            }
            let gb = convert(b.0, b.1, Bd09, Gcj02).unwrap();
            worst = worst.max(metres(gb, g));
            let bg = convert(g.0, g.1, Gcj02, Bd09).unwrap();
            worst = worst.max(metres(bg, b));
        }
        assert!(n > 40_000, "sample too small: {n}");
        assert!(worst < 0.01, "worst round trip {worst} m");
    }
}
