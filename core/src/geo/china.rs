//! Is a WGS-84 point in the area where Chinese maps use GCJ-02?
//!
//! The usual answer in open-source code is a bounding box (lon 73.66..135.05, lat 3.86..53.55),
//! which also covers Seoul, Pyongyang, Hanoi, Delhi and Ulaanbaatar and shifts them by hundreds of
//! metres, while a coarse land outline misses islands and coastal waters (Shengsi, Dongtou). We
//! use OpenStreetMap's boundary of China, Hong Kong and Macao, which runs along the territorial
//! sea (12 nmi from the baselines) and so takes in every island and the water around it, minus
//! every place another country's boundary also covers (Taiwan, Kinmen, Matsu). See
//! docs/decisions/0008-china-outline-coast.md for the rule and the evidence.
//!
//! `china_outline.bin` is made offline by `scripts/build-china-outline`, which also documents its
//! format: a grid of 0.5° cells, each fully outside, fully inside, or holding the outline clipped
//! to the cell. A query is one array look-up and, in a boundary cell, one point-in-polygon test
//! with `geo`'s robust [`CoordinatePosition`] over a few dozen vertices.

use std::sync::OnceLock;

use geo::{
    Coord, CoordinatePosition, LineString, MultiPolygon, Polygon, coordinate_position::CoordPos,
};

/// The outline data, made by `scripts/build-china-outline` (data © OpenStreetMap contributors,
/// ODbL 1.0, via the npm package `@geo-maps/countries-maritime-10m` 0.6.0).
static OUTLINE_BIN: &[u8] = include_bytes!("china_outline.bin");

const OUTSIDE: u8 = 0;
const INSIDE: u8 = 1;
const MIXED: u8 = 2;

/// Units per degree of the quantised coordinates.
const Q: f64 = 10_000.0;

/// The decoded outline: cell states and, for boundary cells, the clipped polygons.
struct Outline {
    lon0: f64,
    lat0: f64,
    cell: f64,
    cols: usize,
    rows: usize,
    /// Per cell (row-major from the south-west): `OUTSIDE`, `INSIDE` or `MIXED`.
    state: Vec<u8>,
    /// Per cell: index into `parts` for a `MIXED` cell.
    slot: Vec<u32>,
    /// The outline clipped to each mixed cell.
    parts: Vec<MultiPolygon<f64>>,
}

/// Reads `china_outline.bin`; `None` if it is malformed (a build error the tests catch).
fn decode(bytes: &[u8]) -> Option<Outline> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4)? != b"GLCN" || r.take(1)? != [1] {
        return None;
    }
    let lon0 = r.i32()?;
    let lat0 = r.i32()?;
    let cell = i64::from(r.u32()?);
    let cols = usize::from(r.u16()?);
    let rows = usize::from(r.u16()?);
    let state = r.take(cols.checked_mul(rows)?)?.to_vec();
    let mut slot = vec![u32::MAX; state.len()];
    let mut parts = Vec::new();
    for (i, &s) in state.iter().enumerate() {
        match s {
            OUTSIDE | INSIDE => continue,
            MIXED => {}
            _ => return None,
        }
        let (row, col) = ((i / cols) as i64, (i % cols) as i64);
        let origin = (i64::from(lon0) + col * cell, i64::from(lat0) + row * cell);
        let mut polygons = Vec::new();
        for _ in 0..r.varint()? {
            let mut rings = Vec::new();
            for _ in 0..r.varint()? {
                let n = usize::try_from(r.varint()?).ok()?;
                let (mut x, mut y) = origin;
                let mut coords = Vec::with_capacity(n.min(1 << 16) + 1);
                for _ in 0..n {
                    x += r.zigzag()?;
                    y += r.zigzag()?;
                    coords.push(Coord {
                        x: x as f64 / Q,
                        y: y as f64 / Q,
                    });
                }
                rings.push(LineString::new(coords)); // Polygon::new closes each ring.
            }
            let mut rings = rings.into_iter();
            let exterior = rings.next()?;
            polygons.push(Polygon::new(exterior, rings.collect()));
        }
        slot[i] = u32::try_from(parts.len()).ok()?;
        parts.push(MultiPolygon::new(polygons));
    }
    (r.at == bytes.len()).then_some(Outline {
        lon0: f64::from(lon0) / Q,
        lat0: f64::from(lat0) / Q,
        cell: cell as f64 / Q,
        cols,
        rows,
        state,
        slot,
        parts,
    })
}

/// A cursor over the little-endian outline bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let out = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.take(1)?.first()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn zigzag(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }
}

fn outline() -> Option<&'static Outline> {
    static OUTLINE: OnceLock<Option<Outline>> = OnceLock::new();
    OUTLINE.get_or_init(|| decode(OUTLINE_BIN)).as_ref()
}

/// Whether GCJ-02 applies at this WGS-84 position: mainland China, Hong Kong, Macao, their
/// islands and territorial sea (the boundary itself counts as inside). Non-finite input is not
/// in China.
pub fn is_in_china(lon: f64, lat: f64) -> bool {
    let Some(o) = outline() else {
        return false;
    };
    let col = ((lon - o.lon0) / o.cell).floor();
    let row = ((lat - o.lat0) / o.cell).floor();
    // Also rejects NaN, whose comparisons are all false.
    if !(col >= 0.0 && row >= 0.0 && col < o.cols as f64 && row < o.rows as f64) {
        return false;
    }
    let i = row as usize * o.cols + col as usize;
    match o.state[i] {
        INSIDE => true,
        MIXED => {
            let c = Coord { x: lon, y: lat };
            o.parts[o.slot[i] as usize]
                .iter()
                .any(|p| p.coordinate_position(&c) != CoordPos::Outside)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_outline_decodes_whole() {
        let o = decode(OUTLINE_BIN).expect("china_outline.bin is well formed");
        assert!(o.parts.len() > 100 && o.state.contains(&INSIDE));
        assert!(decode(&OUTLINE_BIN[..OUTLINE_BIN.len() - 1]).is_none());
        assert!(decode(b"GLCN").is_none());
    }

    #[test]
    fn chinese_cities_are_inside() {
        let cities = [
            ("Beijing", 116.4074, 39.9042),
            ("Shanghai", 121.4737, 31.2304),
            ("Ningbo", 121.5440, 29.8683),
            ("Urumqi", 87.6168, 43.8256),
            ("Lhasa", 91.1409, 29.6456),
            ("Harbin", 126.5350, 45.8038),
            ("Kashgar", 75.9897, 39.4704),
            ("Mohe", 122.5386, 52.9722),
        ];
        for (name, lon, lat) in cities {
            assert!(is_in_china(lon, lat), "{name} should be inside");
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
            (-1e300, -1e300),
        ] {
            assert!(!is_in_china(lon, lat));
        }
    }
}
