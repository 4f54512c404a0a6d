//! Distances on the Earth and the bounding box of a radius, for nearby-duplicate hints: the
//! store narrows candidates with the box in SQL, then ranks them by [`haversine_m`].

use geo::{Distance, Haversine, Point};

/// Mean Earth radius (IUGG / GRS80), metres: the radius of `geo`'s [`Haversine`]. Haversine on a
/// sphere is within 0.5 % of the ellipsoid.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two WGS-84 points, each `lon, lat` in degrees
/// (`geo`'s [`Haversine`]).
pub fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    Haversine.distance(Point::new(lon1, lat1), Point::new(lon2, lat2))
}

/// A latitude/longitude rectangle in degrees, edges included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    /// Westernmost longitude.
    pub min_lon: f64,
    /// Southernmost latitude.
    pub min_lat: f64,
    /// Easternmost longitude.
    pub max_lon: f64,
    /// Northernmost latitude.
    pub max_lat: f64,
}

impl BoundingBox {
    /// Whether the box contains the point (`lon, lat`).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }
}

/// A box that contains every point within `radius_m` metres of (`lon, lat`), for a cheap SQL
/// prefilter (`lat BETWEEN min_lat AND max_lat AND lon BETWEEN …`) before exact distances.
///
/// It is a superset, never a subset: near a pole, or when the circle crosses the antimeridian,
/// it widens to all longitudes rather than returning two boxes. Non-finite or negative radii are
/// treated as zero; the centre is expected to be a valid WGS-84 point.
pub fn bbox_around(lon: f64, lat: f64, radius_m: f64) -> BoundingBox {
    let radius_m = if radius_m.is_finite() && radius_m > 0.0 {
        radius_m
    } else {
        0.0
    };
    let angle = radius_m / EARTH_RADIUS_M;
    let dlat = angle.to_degrees();
    let min_lat = (lat - dlat).max(-90.0);
    let max_lat = (lat + dlat).min(90.0);
    // Widest longitude half-span of a spherical cap of angular radius `angle` centred at `lat`:
    // asin(sin(angle) / cos(lat)), unless the cap reaches a pole.
    let s = angle.sin() / lat.to_radians().cos();
    let reaches_pole = min_lat <= -90.0 || max_lat >= 90.0 || angle >= std::f64::consts::FRAC_PI_2;
    let dlon = if reaches_pole || s.is_nan() || s >= 1.0 {
        180.0
    } else {
        s.asin().to_degrees()
    };
    let (min_lon, max_lon) = if dlon >= 180.0 || lon - dlon < -180.0 || lon + dlon > 180.0 {
        (-180.0, 180.0)
    } else {
        (lon - dlon, lon + dlon)
    };
    BoundingBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_radius_is_geos() {
        assert_eq!(Haversine.radius(), EARTH_RADIUS_M);
    }

    #[test]
    fn known_distances() {
        // One degree of latitude is ~111.195 km on the mean sphere.
        let d = haversine_m(121.5, 29.0, 121.5, 30.0);
        assert!((d - 111_195.0).abs() < 1.0, "{d}");
        assert_eq!(haversine_m(121.5, 29.8, 121.5, 29.8), 0.0);
        // Ningbo (Tianyi Square) to Shanghai (People's Square): ~150 km.
        let d = haversine_m(121.5509, 29.8707, 121.4737, 31.2304);
        assert!((150_000.0..152_000.0).contains(&d), "{d}");
        // Antipodes: half the circumference, no NaN from rounding.
        let d = haversine_m(0.0, 0.0, 180.0, 0.0);
        assert!(
            (d - std::f64::consts::PI * EARTH_RADIUS_M).abs() < 1e-6,
            "{d}"
        );
    }

    #[test]
    fn bbox_contains_the_whole_circle() {
        for &(lon, lat) in &[(121.544, 29.8683), (0.0, 0.0), (10.0, 75.0), (-70.0, -50.0)] {
            for &r in &[1.0, 50.0, 5_000.0, 200_000.0] {
                let b = bbox_around(lon, lat, r);
                for k in 0..360 {
                    let bearing = (k as f64).to_radians();
                    let (lon2, lat2) = destination(lon, lat, bearing, r * 0.999_999);
                    assert!(
                        b.contains(lon2, lat2),
                        "{lon},{lat} r={r} k={k}: {lon2},{lat2} {b:?}"
                    );
                }
                // And it is not absurdly large: width at most ~1.5x the diameter at mid latitudes.
                if lat.abs() < 60.0 {
                    let w = haversine_m(b.min_lon, lat, b.max_lon, lat);
                    assert!(w < 3.0 * r + 1.0, "{w} for r={r}");
                }
            }
        }
    }

    #[test]
    fn bbox_widens_at_poles_and_antimeridian_and_tolerates_bad_radius() {
        let b = bbox_around(179.9999, 10.0, 1_000.0);
        assert_eq!((b.min_lon, b.max_lon), (-180.0, 180.0));
        let b = bbox_around(0.0, 89.9999, 1_000.0);
        assert_eq!((b.min_lon, b.max_lon, b.max_lat), (-180.0, 180.0, 90.0));
        for r in [f64::NAN, -5.0, f64::NEG_INFINITY] {
            let b = bbox_around(121.5, 29.8, r);
            assert_eq!(
                (b.min_lon, b.min_lat, b.max_lon, b.max_lat),
                (121.5, 29.8, 121.5, 29.8)
            );
        }
    }

    /// Point at `dist` metres along `bearing` (radians) on the sphere.
    fn destination(lon: f64, lat: f64, bearing: f64, dist: f64) -> (f64, f64) {
        let d = dist / EARTH_RADIUS_M;
        let (p1, l1) = (lat.to_radians(), lon.to_radians());
        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * bearing.cos()).asin();
        let l2 = l1 + (bearing.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
        (l2.to_degrees(), p2.to_degrees())
    }
}
