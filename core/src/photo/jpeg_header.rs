//! A JPEG marker walker that reads only the segments before the first scan: frame size,
//! colour model, the EXIF block and the ICC profile. It gives the limits their numbers before
//! the decoder allocates anything, and it is all that "location from photo" needs.

use std::io::{self, Read};

use super::PhotoError;

/// Largest ICC profile kept (bigger ones are treated as "some non-sRGB profile").
const MAX_ICC_BYTES: usize = 1 << 20;

/// What the segments before the first scan say.
#[derive(Debug, Clone, Default)]
pub(crate) struct JpegHeader {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub precision: u8,
    /// The start-of-frame marker (0xC0 baseline, 0xC2 progressive, ...).
    pub sof: u8,
    /// The transform byte of an Adobe APP14 segment, if there is one.
    pub adobe_transform: Option<u8>,
    /// The TIFF structure of the first `Exif\0\0` APP1 segment.
    pub exif: Option<Vec<u8>>,
    /// The assembled ICC profile, when its chunks are complete and consistent.
    pub icc: Option<Vec<u8>>,
}

impl JpegHeader {
    /// True for progressive DCT frames, which keep all coefficients in memory while decoding.
    pub fn is_progressive(&self) -> bool {
        matches!(self.sof, 0xC2 | 0xC6 | 0xCA | 0xCE)
    }
}

/// Walks the markers of `reader` up to the first SOS.
pub(crate) fn read_header<R: Read>(reader: &mut R) -> Result<JpegHeader, PhotoError> {
    let mut header = JpegHeader::default();
    let mut icc_chunks: Vec<(u8, u8, Vec<u8>)> = Vec::new();
    let mut icc_bytes = 0usize;
    let mut seen_frame = false;

    let soi = read_array::<2, _>(reader)?;
    if soi != [0xFF, 0xD8] {
        return Err(PhotoError::corrupt("no JPEG start-of-image marker"));
    }
    loop {
        let marker = next_marker(reader)?;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(PhotoError::corrupt("a second start-of-image marker")),
            0xD9 => return Err(PhotoError::corrupt("end of image before any scan")),
            _ => {}
        }
        let length = u16::from_be_bytes(read_array::<2, _>(reader)?);
        if length < 2 {
            return Err(PhotoError::corrupt(format!(
                "segment 0xFF{marker:02X} has length {length}"
            )));
        }
        let mut payload = vec![0u8; usize::from(length) - 2];
        read_exact(reader, &mut payload)?;
        match marker {
            0xDA => {
                if !seen_frame {
                    return Err(PhotoError::corrupt("a scan before the frame header"));
                }
                break;
            }
            // SOF0..SOF15 minus DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if seen_frame {
                    return Err(PhotoError::corrupt("more than one frame header"));
                }
                if payload.len() < 6 {
                    return Err(PhotoError::corrupt("frame header too short"));
                }
                header.sof = marker;
                header.precision = payload[0];
                header.height = u32::from(u16::from_be_bytes([payload[1], payload[2]]));
                header.width = u32::from(u16::from_be_bytes([payload[3], payload[4]]));
                header.components = payload[5];
                seen_frame = true;
            }
            0xE1 if header.exif.is_none() && payload.starts_with(b"Exif\0\0") => {
                payload.drain(..6);
                header.exif = Some(payload);
            }
            0xE2 if payload.starts_with(b"ICC_PROFILE\0") && payload.len() > 14 => {
                icc_bytes += payload.len() - 14;
                if icc_bytes <= MAX_ICC_BYTES {
                    icc_chunks.push((payload[12], payload[13], payload[14..].to_vec()));
                }
            }
            0xEE if payload.starts_with(b"Adobe") && payload.len() >= 12 => {
                header.adobe_transform = Some(payload[11]);
            }
            _ => {}
        }
    }
    header.icc = assemble_icc(icc_chunks);
    Ok(header)
}

/// Joins ICC chunks by sequence number; `None` unless they are complete and consistent.
fn assemble_icc(mut chunks: Vec<(u8, u8, Vec<u8>)>) -> Option<Vec<u8>> {
    let count = chunks.first()?.1;
    if usize::from(count) != chunks.len() {
        return None;
    }
    chunks.sort_by_key(|c| c.0);
    let mut out = Vec::new();
    for (i, (seq, total, data)) in chunks.into_iter().enumerate() {
        if usize::from(seq) != i + 1 || total != count {
            return None;
        }
        out.extend_from_slice(&data);
    }
    Some(out)
}

/// Skips fill bytes and returns the next marker code.
fn next_marker<R: Read>(reader: &mut R) -> Result<u8, PhotoError> {
    let [first] = read_array::<1, _>(reader)?;
    if first != 0xFF {
        return Err(PhotoError::corrupt(format!(
            "expected a marker, found byte 0x{first:02X}"
        )));
    }
    loop {
        let [code] = read_array::<1, _>(reader)?;
        if code != 0xFF {
            return Ok(code);
        }
    }
}

fn read_array<const N: usize, R: Read>(reader: &mut R) -> Result<[u8; N], PhotoError> {
    let mut buf = [0u8; N];
    read_exact(reader, &mut buf)?;
    Ok(buf)
}

fn read_exact<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<(), PhotoError> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            PhotoError::truncated("the file ends inside the JPEG header")
        }
        _ => PhotoError::Io(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn sof(width: u16, height: u16) -> Vec<u8> {
        let mut p = vec![8];
        p.extend_from_slice(&height.to_be_bytes());
        p.extend_from_slice(&width.to_be_bytes());
        p.extend_from_slice(&[1, 1, 0x11, 0]);
        segment(0xC0, &p)
    }

    #[test]
    fn reads_frame_exif_icc_and_adobe() {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend(segment(0xE1, b"Exif\0\0MM\0*tiff"));
        jpeg.extend(segment(0xE2, b"ICC_PROFILE\0\x02\x02world"));
        jpeg.extend(segment(0xE2, b"ICC_PROFILE\0\x01\x02hello "));
        jpeg.extend(segment(0xEE, b"Adobe\0\x64\0\0\0\0\x02"));
        jpeg.extend([0xFF, 0xFF]); // fill byte before the next marker
        jpeg.extend(sof(60_000, 50_000));
        jpeg.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        let header = read_header(&mut jpeg.as_slice()).unwrap();
        assert_eq!(
            (header.width, header.height, header.components),
            (60_000, 50_000, 1)
        );
        assert_eq!(header.exif.as_deref(), Some(&b"MM\0*tiff"[..]));
        assert_eq!(header.icc.as_deref(), Some(&b"hello world"[..]));
        assert_eq!(header.adobe_transform, Some(2));
        assert!(!header.is_progressive());
    }

    #[test]
    fn refuses_broken_structures() {
        let mut no_frame = vec![0xFF, 0xD8];
        no_frame.extend(segment(0xDA, &[0]));
        assert!(matches!(
            read_header(&mut no_frame.as_slice()),
            Err(PhotoError::Corrupt { .. })
        ));
        let mut cut = vec![0xFF, 0xD8];
        cut.extend(sof(10, 10));
        cut.truncate(cut.len() - 3);
        assert!(matches!(
            read_header(&mut cut.as_slice()),
            Err(PhotoError::Truncated { .. })
        ));
        assert!(matches!(
            read_header(&mut &[0xFF, 0xD8, 0x12, 0x34][..]),
            Err(PhotoError::Corrupt { .. })
        ));
    }
}
