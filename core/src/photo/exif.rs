//! Reads the few EXIF facts the app may use before every metadata byte is thrown away:
//! orientation (to turn the pixels upright), capture time and GPS position (for "location
//! from photo"), and whether a camera wrote it at all (a fraud signal). EXIF is outside data
//! written by thousands of camera firmwares: anything malformed is ignored field by field, never a reason to refuse the photo, never a panic.

use exif::{In, Reader, Tag, Value};
use gridline_protocol::Timestamp;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

use super::{GpsCoordinates, Orientation};

/// The facts taken from an EXIF block.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct ExifInfo {
    pub orientation: Orientation,
    pub captured_at: Option<Timestamp>,
    pub gps: Option<GpsCoordinates>,
    /// The block names the camera that made it (`Make` or `Model`).
    pub camera: bool,
}

/// Parses a TIFF-structured EXIF block. `assumed_offset_minutes` is the UTC offset applied to a
/// capture time that carries none (EXIF's classic `DateTimeOriginal` is local wall-clock time).
pub(crate) fn parse(tiff: &[u8], assumed_offset_minutes: i32) -> ExifInfo {
    let mut reader = Reader::new();
    reader.continue_on_error(true);
    // kamadak-exif is defensive, but this is hostile input: a bug there must not take the
    // process down, so a panic is treated like an unreadable block.
    let parsed = std::panic::catch_unwind(|| {
        reader
            .read_raw(tiff.to_vec())
            .or_else(|e| e.distill_partial_result(|_| {}))
    });
    let Ok(Ok(exif)) = parsed else {
        return ExifInfo::default();
    };
    let field = |tag: Tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);

    let orientation = field(Tag::Orientation)
        .and_then(|v| v.get_uint(0))
        .map(Orientation::from_exif)
        .unwrap_or_default();

    let ascii = |tag: Tag| match field(tag) {
        Some(Value::Ascii(parts)) => parts.first().map(|p| trim_ascii(p)),
        _ => None,
    };
    let rationals = |tag: Tag| match field(tag) {
        Some(Value::Rational(v)) => Some(
            v.iter()
                .map(|r| {
                    if r.denom == 0 {
                        f64::NAN
                    } else {
                        f64::from(r.num) / f64::from(r.denom)
                    }
                })
                .collect::<Vec<_>>(),
        ),
        _ => None,
    };

    let gps = gps_position(
        rationals(Tag::GPSLatitude).as_deref(),
        ascii(Tag::GPSLatitudeRef),
        rationals(Tag::GPSLongitude).as_deref(),
        ascii(Tag::GPSLongitudeRef),
    );

    // Preference: a local time with its own offset; then the GPS clock (always UTC); then a
    // local time with the assumed offset.
    let local = [
        (
            Tag::DateTimeOriginal,
            Tag::OffsetTimeOriginal,
            Tag::SubSecTimeOriginal,
        ),
        (
            Tag::DateTimeDigitized,
            Tag::OffsetTimeDigitized,
            Tag::SubSecTimeDigitized,
        ),
    ]
    .into_iter()
    .find_map(|(dt, off, sub)| {
        let civil = parse_datetime(ascii(dt)?)?;
        let millis = ascii(sub).map_or(0, parse_subsec);
        Some((civil, ascii(off).and_then(parse_offset), millis))
    });
    let gps_time = gps_timestamp(
        ascii(Tag::GPSDateStamp),
        rationals(Tag::GPSTimeStamp).as_deref(),
    );
    let captured_at = match local {
        Some((civil, Some(offset), ms)) => at_offset(civil, offset, ms),
        _ => gps_time.or_else(|| {
            let (civil, _, ms) = local?;
            let offset =
                UtcOffset::from_whole_seconds(assumed_offset_minutes.checked_mul(60)?).ok()?;
            at_offset(civil, offset, ms)
        }),
    };

    let camera = [Tag::Make, Tag::Model]
        .into_iter()
        .any(|tag| ascii(tag).is_some_and(|text| !text.is_empty()));

    ExifInfo {
        orientation,
        captured_at,
        gps,
        camera,
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes[..end].trim_ascii()
}

/// Degrees, minutes, seconds and an N/S or E/W reference to a signed decimal degree.
fn dms(parts: Option<&[f64]>, reference: Option<&[u8]>, negative: u8, max: f64) -> Option<f64> {
    let parts = parts?;
    let (d, m, s) = (
        *parts.first()?,
        parts.get(1).copied().unwrap_or(0.0),
        parts.get(2).copied().unwrap_or(0.0),
    );
    let value = d + m / 60.0 + s / 3600.0;
    if !value.is_finite() || !(0.0..=max).contains(&value) {
        return None;
    }
    let sign = match reference?.first()?.to_ascii_uppercase() {
        r if r == negative => -1.0,
        b'N' | b'E' => 1.0,
        _ => return None,
    };
    Some(sign * value)
}

fn gps_position(
    lat: Option<&[f64]>,
    lat_ref: Option<&[u8]>,
    lon: Option<&[f64]>,
    lon_ref: Option<&[u8]>,
) -> Option<GpsCoordinates> {
    let lat = dms(lat, lat_ref, b'S', 90.0)?;
    let lon = dms(lon, lon_ref, b'W', 180.0)?;
    // Several phones write 0/0 when they had no fix; "null island" is never a real report.
    if lat == 0.0 && lon == 0.0 {
        return None;
    }
    Some(GpsCoordinates { lat, lon })
}

fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn civil_date(year: &[u8], month: &[u8], day: &[u8]) -> Option<Date> {
    let year = i32::try_from(digits(year)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(month)?).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(digits(day)?).ok()?).ok()
}

/// `YYYY:MM:DD HH:MM:SS` (dashes in the date are tolerated); all-zero or blank dates are `None`.
fn parse_datetime(text: &[u8]) -> Option<PrimitiveDateTime> {
    if text.len() < 19 || text[10] != b' ' && text[10] != b'T' {
        return None;
    }
    let date = civil_date(&text[0..4], &text[5..7], &text[8..10])?;
    let [h, m, s] = [&text[11..13], &text[14..16], &text[17..19]]
        .map(|p| digits(p).and_then(|v| u8::try_from(v).ok()));
    let time = Time::from_hms(h?, m?, s?).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// `+08:00`, `-05:30` or `Z`.
fn parse_offset(text: &[u8]) -> Option<UtcOffset> {
    if text == b"Z" {
        return Some(UtcOffset::UTC);
    }
    if text.len() != 6 || text[3] != b':' {
        return None;
    }
    let sign = match text[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = i32::try_from(digits(&text[1..3])?).ok()?;
    let minutes = i32::try_from(digits(&text[4..6])?).ok()?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    UtcOffset::from_whole_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// Fractional seconds written as digits ("123" or "5") to milliseconds.
fn parse_subsec(text: &[u8]) -> u16 {
    let mut ms = 0u16;
    for i in 0..3 {
        let d = text
            .get(i)
            .filter(|b| b.is_ascii_digit())
            .map_or(0, |b| b - b'0');
        ms = ms * 10 + u16::from(d);
    }
    ms
}

fn at_offset(civil: PrimitiveDateTime, offset: UtcOffset, millis: u16) -> Option<Timestamp> {
    let instant = civil.assume_offset(offset);
    let ms = i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).ok()?;
    Some(Timestamp::from_millis(ms + i64::from(millis)))
}

/// GPSDateStamp `YYYY:MM:DD` plus GPSTimeStamp hours, minutes, seconds (UTC).
fn gps_timestamp(date: Option<&[u8]>, hms: Option<&[f64]>) -> Option<Timestamp> {
    let date = date?;
    if date.len() != 10 {
        return None;
    }
    let date = civil_date(&date[0..4], &date[5..7], &date[8..10])?;
    let [h, m, s] = [hms?.first()?, hms?.get(1)?, hms?.get(2)?].map(|v| *v);
    if !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&m) || !(0.0..61.0).contains(&s) {
        return None;
    }
    let whole = Time::from_hms(h as u8, m as u8, 0).ok()?;
    let midnight = PrimitiveDateTime::new(date, whole);
    let base = at_offset(midnight, UtcOffset::UTC, 0)?;
    Some(Timestamp::from_millis(
        base.as_millis() + (s * 1000.0).round() as i64,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::ExifSpec;
    use super::*;

    const CST: i32 = 8 * 60;

    fn ts(text: &str) -> Option<Timestamp> {
        Timestamp::parse_rfc3339(text)
    }

    #[test]
    fn reads_orientation_time_and_signed_gps_in_both_byte_orders() {
        for big_endian in [false, true] {
            let spec = ExifSpec {
                orientation: Some(6),
                datetime_original: Some("2025:11:28 17:30:05".into()),
                offset_time_original: Some("+08:00".into()),
                subsec_original: Some("25".into()),
                gps: Some((29.8683, -121.544)),
                big_endian,
                ..ExifSpec::default()
            };
            let info = parse(&spec.to_tiff(), 0);
            assert_eq!(info.orientation, Orientation::Rotate90);
            assert_eq!(info.captured_at, ts("2025-11-28T09:30:05.250Z"));
            let gps = info.gps.unwrap();
            assert!((gps.lat - 29.8683).abs() < 1e-6, "{gps:?}");
            assert!((gps.lon + 121.544).abs() < 1e-6, "{gps:?}");
        }
    }

    #[test]
    fn time_falls_back_to_gps_clock_then_assumed_offset() {
        let spec = ExifSpec {
            datetime_original: Some("2025:11:28 17:30:05".into()),
            gps_time: Some(("2025:11:28".into(), [9.0, 30.0, 4.5])),
            ..ExifSpec::default()
        };
        assert_eq!(
            parse(&spec.to_tiff(), CST).captured_at,
            ts("2025-11-28T09:30:04.500Z")
        );
        let spec = ExifSpec {
            datetime_original: Some("2025:11:28 17:30:05".into()),
            ..ExifSpec::default()
        };
        assert_eq!(
            parse(&spec.to_tiff(), CST).captured_at,
            ts("2025-11-28T09:30:05Z")
        );
        assert_eq!(
            parse(&spec.to_tiff(), 0).captured_at,
            ts("2025-11-28T17:30:05Z")
        );
    }

    #[test]
    fn nonsense_values_are_dropped_not_fatal() {
        let spec = ExifSpec {
            orientation: Some(77),
            datetime_original: Some("0000:00:00 00:00:00".into()),
            gps: Some((0.0, 0.0)),
            ..ExifSpec::default()
        };
        let info = parse(&spec.to_tiff(), CST);
        assert_eq!(info, ExifInfo::default());
        assert_eq!(parse(b"", CST), ExifInfo::default());
        assert_eq!(parse(b"MM\0*\0\0\0\x08\xFF\xFF", CST), ExifInfo::default());
        assert_eq!(dms(Some(&[f64::NAN]), Some(b"N"), b'S', 90.0), None);
        assert_eq!(dms(Some(&[91.0]), Some(b"N"), b'S', 90.0), None);
        assert_eq!(dms(Some(&[10.0, 30.0]), Some(b"X"), b'S', 90.0), None);
        assert_eq!(parse_offset(b"+15:00"), None);
        assert_eq!(parse_subsec(b"7"), 700);
    }

    #[test]
    fn survives_random_bytes_and_truncations() {
        use rand::{Rng, SeedableRng};
        let spec = ExifSpec {
            orientation: Some(3),
            datetime_original: Some("2025:11:28 17:30:05".into()),
            gps: Some((29.8, 121.5)),
            ..ExifSpec::default()
        };
        let tiff = spec.to_tiff();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let mut data = tiff.clone();
            data.truncate(rng.random_range(0..=tiff.len()));
            for _ in 0..rng.random_range(0..4) {
                if !data.is_empty() {
                    let i = rng.random_range(0..data.len());
                    data[i] ^= 1 << rng.random_range(0..8);
                }
            }
            let _ = parse(&data, CST);
        }
    }
}
