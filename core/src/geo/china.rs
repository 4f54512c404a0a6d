//! Is a WGS-84 point in the area where Chinese maps use GCJ-02?
//!
//! The usual answer in open-source code is a bounding box (lon 73.66..135.05, lat 3.86..53.55),
//! which also covers Seoul, Pyongyang, Hanoi, Delhi and Ulaanbaatar and shifts them by hundreds of
//! metres. We use a coarse polygon instead: Natural Earth's mainland China + Hong Kong + Macao,
//! buffered 20 km into the sea and cut back at land borders (see `china_outline.rs` for how it is
//! generated and docs/decisions/0003-china-outline.md for why). Taiwan is outside.
//!
//! The test is an even-odd crossing count over the outline's edges, bucketed by latitude band so a
//! query looks at a few dozen edges instead of 1,700.

use std::sync::OnceLock;

use super::china_outline::RINGS;

/// Height of one latitude band in degrees.
const BAND_DEG: f64 = 0.25;

struct Outline {
    min_lon: f64,
    max_lon: f64,
    min_lat: f64,
    max_lat: f64,
    /// Edges `(x1, y1, x2, y2)`.
    edges: Vec<[f64; 4]>,
    /// For each latitude band from `min_lat`, the indices of the edges whose latitude span meets it.
    bands: Vec<Vec<u32>>,
}

fn band_of(outline_min_lat: f64, lat: f64) -> usize {
    // Callers pass latitudes at or above `outline_min_lat`; the cast saturates anyway.
    ((lat - outline_min_lat) / BAND_DEG).floor() as usize
}

fn outline() -> &'static Outline {
    static OUTLINE: OnceLock<Outline> = OnceLock::new();
    OUTLINE.get_or_init(|| {
        let mut o = Outline {
            min_lon: f64::INFINITY,
            max_lon: f64::NEG_INFINITY,
            min_lat: f64::INFINITY,
            max_lat: f64::NEG_INFINITY,
            edges: Vec::new(),
            bands: Vec::new(),
        };
        for ring in RINGS {
            for w in ring.windows(2) {
                let ((x1, y1), (x2, y2)) = (w[0], w[1]);
                o.edges.push([x1, y1, x2, y2]);
                o.min_lon = o.min_lon.min(x1);
                o.max_lon = o.max_lon.max(x1);
                o.min_lat = o.min_lat.min(y1);
                o.max_lat = o.max_lat.max(y1);
            }
        }
        o.bands = vec![Vec::new(); band_of(o.min_lat, o.max_lat) + 1];
        for (i, e) in o.edges.iter().enumerate() {
            let (lo, hi) = (e[1].min(e[3]), e[1].max(e[3]));
            for band in &mut o.bands[band_of(o.min_lat, lo)..=band_of(o.min_lat, hi)] {
                band.push(i as u32);
            }
        }
        o
    })
}

/// Whether GCJ-02 applies at this WGS-84 position (mainland China, Hong Kong, Macao and their
/// coastal waters). Non-finite input is not in China.
pub fn is_in_china(lon: f64, lat: f64) -> bool {
    let o = outline();
    if !(lon >= o.min_lon && lon <= o.max_lon && lat >= o.min_lat && lat <= o.max_lat) {
        return false; // Also catches NaN.
    }
    let mut inside = false;
    for &i in &o.bands[band_of(o.min_lat, lat)] {
        let [x1, y1, x2, y2] = o.edges[i as usize];
        if (y1 > lat) != (y2 > lat) {
            let x = x1 + (lat - y1) * (x2 - x1) / (y2 - y1);
            if lon < x {
                inside = !inside;
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_cities_are_inside() {
        let cities = [
            ("Beijing", 116.4074, 39.9042),
            ("Shanghai", 121.4737, 31.2304),
            ("Ningbo", 121.5440, 29.8683),
            ("Urumqi", 87.6168, 43.8256),
            ("Lhasa", 91.1409, 29.6456),
            ("Harbin", 126.5350, 45.8038),
            ("Haikou", 110.3312, 20.0311),
            ("Sanya", 109.5119, 18.2528),
            ("Kashgar", 75.9897, 39.4704),
            ("Hong Kong (Central)", 114.1589, 22.2819),
            ("Hong Kong (Kowloon)", 114.1694, 22.3193),
            ("Macau", 113.5439, 22.1987),
            ("Zhoushan (island)", 122.2072, 29.9853),
            ("Dandong", 124.3545, 40.0003),
            ("Mohe", 122.5386, 52.9722),
        ];
        for (name, lon, lat) in cities {
            assert!(is_in_china(lon, lat), "{name} should be inside");
        }
    }

    #[test]
    fn neighbouring_capitals_are_outside() {
        let cities = [
            ("Seoul", 126.9780, 37.5665),
            ("Pyongyang", 125.7625, 39.0392),
            ("Sinuiju", 124.3980, 40.1000),
            ("Hanoi", 105.8342, 21.0278),
            ("Vientiane", 102.6331, 17.9757),
            ("Delhi", 77.2090, 28.6139),
            ("Kathmandu", 85.3240, 27.7172),
            ("Ulaanbaatar", 106.9057, 47.8864),
            ("Tokyo", 139.6917, 35.6895),
            ("Manila", 120.9842, 14.5995),
            ("Almaty", 76.8512, 43.2220),
            ("Taipei", 121.5654, 25.0330),
            ("Kaohsiung", 120.3014, 22.6273),
            ("Vladivostok", 131.8869, 43.1155),
            ("Blagoveshchensk", 127.5405, 50.2907),
            ("Thimphu", 89.6386, 27.4728),
            ("Naypyidaw", 96.1297, 19.7633),
        ];
        for (name, lon, lat) in cities {
            assert!(!is_in_china(lon, lat), "{name} should be outside");
        }
    }

    #[test]
    fn hostile_numbers_are_outside() {
        for (lon, lat) in [
            (f64::NAN, 30.0),
            (120.0, f64::NAN),
            (f64::INFINITY, 30.0),
            (120.0, f64::NEG_INFINITY),
            (1e300, 1e300),
        ] {
            assert!(!is_in_china(lon, lat));
        }
    }
}
