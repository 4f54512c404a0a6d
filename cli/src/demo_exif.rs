//! The EXIF block a phone camera writes, for the demo's synthetic photos: camera make and
//! model, the local capture time with its UTC offset, and the GPS position. The pipeline reads
//! these before it strips them, so the demo's photos raise fraud signals only where a scene
//! means them to (a gallery photo from last week, somewhere else).

use gridline_protocol::Timestamp;

/// What the camera records.
pub struct CameraFacts<'a> {
    /// `Make`, e.g. `Xiaomi`.
    pub make: &'a str,
    /// `Model`.
    pub model: &'a str,
    /// When the shutter fired.
    pub taken: Timestamp,
    /// Where (WGS-84 latitude, longitude; north and east).
    pub at: (f64, f64),
}

const ASCII: u16 = 2;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;
/// China Standard Time: what a mainland phone writes as local time.
const OFFSET_MS: i64 = 8 * 3_600_000;

/// The TIFF structure of an EXIF block (little-endian): IFD0, the Exif IFD, the GPS IFD.
pub fn tiff(facts: &CameraFacts) -> Vec<u8> {
    let text = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        b
    };
    let local = Timestamp::from_millis(facts.taken.as_millis() + OFFSET_MS).to_rfc3339();
    // "2026-11-28T09:29:50.000Z" -> "2026:11:28 09:29:50"
    let civil = format!(
        "{} {}",
        local.get(..10).unwrap_or_default().replace('-', ":"),
        local.get(11..19).unwrap_or_default()
    );
    let exif_entries = [
        (0x9003, ASCII, text(&civil)),
        (0x9011, ASCII, text("+08:00")),
    ];
    let gps_entries = [
        (0x0001, ASCII, text("N")),
        (0x0002, RATIONAL, degrees(facts.at.0)),
        (0x0003, ASCII, text("E")),
        (0x0004, RATIONAL, degrees(facts.at.1)),
    ];
    let ifd0_len = ifd_len(4, &[text(facts.make), text(facts.model)]);
    let exif_at = 8 + ifd0_len;
    let exif = ifd(exif_at, &exif_entries);
    let gps_at = exif_at + exif.len() as u32;
    let gps = ifd(gps_at, &gps_entries);
    let ifd0 = ifd(
        8,
        &[
            (0x010F, ASCII, text(facts.make)),
            (0x0110, ASCII, text(facts.model)),
            (0x8769, LONG, exif_at.to_le_bytes().to_vec()),
            (0x8825, LONG, gps_at.to_le_bytes().to_vec()),
        ],
    );
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend(ifd0);
    out.extend(exif);
    out.extend(gps);
    out
}

/// Degrees, minutes and seconds as three rationals.
fn degrees(value: f64) -> Vec<u8> {
    let value = value.abs();
    let d = value.trunc();
    let m = ((value - d) * 60.0).trunc();
    let s = ((value - d) * 60.0 - m) * 60.0;
    let mut out = Vec::with_capacity(24);
    for (num, den) in [
        (d as u32, 1u32),
        (m as u32, 1),
        ((s * 10_000.0) as u32, 10_000),
    ] {
        out.extend_from_slice(&num.to_le_bytes());
        out.extend_from_slice(&den.to_le_bytes());
    }
    out
}

/// Bytes of an IFD with `n` entries whose values beyond four bytes are `outside`.
fn ifd_len(n: usize, outside: &[Vec<u8>]) -> u32 {
    let data: usize = outside.iter().filter(|v| v.len() > 4).map(Vec::len).sum();
    (2 + 12 * n + 4 + data) as u32
}

/// One IFD starting at offset `at`: entries (tag, type, value bytes), values longer than four
/// bytes placed after the entry table, no next IFD.
fn ifd(at: u32, entries: &[(u16, u16, Vec<u8>)]) -> Vec<u8> {
    let mut table = (entries.len() as u16).to_le_bytes().to_vec();
    let mut data = Vec::new();
    let data_at = at + 2 + 12 * entries.len() as u32 + 4;
    for (tag, kind, value) in entries {
        let count = match *kind {
            RATIONAL => value.len() / 8,
            LONG => value.len() / 4,
            _ => value.len(),
        } as u32;
        table.extend_from_slice(&tag.to_le_bytes());
        table.extend_from_slice(&kind.to_le_bytes());
        table.extend_from_slice(&count.to_le_bytes());
        if value.len() <= 4 {
            let mut inline = value.clone();
            inline.resize(4, 0);
            table.extend(inline);
        } else {
            table.extend_from_slice(&(data_at + data.len() as u32).to_le_bytes());
            data.extend_from_slice(value);
        }
    }
    table.extend_from_slice(&0u32.to_le_bytes());
    table.extend(data);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core reads back what the demo writes: the block is real EXIF, not just bytes.
    #[test]
    fn the_core_reads_the_camera_time_and_position_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jpg");
        let taken = Timestamp::parse_rfc3339("2026-11-28T01:29:50Z").unwrap();
        let facts = CameraFacts {
            make: "Xiaomi",
            model: "Redmi Note 12",
            taken,
            at: (29.8683, 121.544),
        };
        let mut encoder = jpeg_encoder::Encoder::new_file(&path, 85).unwrap();
        encoder.add_exif_metadata(&tiff(&facts)).unwrap();
        encoder
            .encode(&[128u8; 16 * 16 * 3], 16, 16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let meta = gridline_core::photo::read_metadata(&path, &Default::default()).unwrap();
        assert_eq!(meta.captured_at, Some(taken));
        assert!(meta.camera);
        let gps = meta.gps.unwrap();
        assert!((gps.lat - 29.8683).abs() < 1e-5 && (gps.lon - 121.544).abs() < 1e-5);
    }
}
