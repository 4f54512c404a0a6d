//! Refusals that happen before any decoding: file size, empty files, the format sniffed from
//! the first bytes, and the pixel count a header claims. Everything here is cheap and runs
//! before a pixel buffer exists, so a decompression bomb costs a few hundred bytes of reading.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{PhotoError, PhotoOptions};

/// The container formats the pipeline decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Jpeg,
    Png,
    Webp,
}

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Opens `path`, applies the size limits, sniffs the format and leaves the file at offset 0.
pub(crate) fn open_input(path: &Path, opts: &PhotoOptions) -> Result<(File, Format), PhotoError> {
    let mut file = File::open(path)?;
    let bytes = file.metadata()?.len();
    if bytes == 0 {
        return Err(PhotoError::Empty);
    }
    if bytes > opts.max_input_bytes {
        return Err(PhotoError::TooLarge {
            bytes,
            limit: opts.max_input_bytes,
        });
    }
    let mut head = [0u8; 32];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    let format = sniff(&head[..filled])?;
    file.seek(SeekFrom::Start(0))?;
    Ok((file, format))
}

/// Recognises JPEG, PNG and WebP by their signatures and names the usual impostors, so a rider
/// who picked a HEIC or GIF file gets a message that says so.
pub(crate) fn sniff(head: &[u8]) -> Result<Format, PhotoError> {
    if head.starts_with(JPEG_MAGIC) {
        return Ok(Format::Jpeg);
    }
    if head.starts_with(PNG_MAGIC) {
        return Ok(Format::Png);
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP".as_slice()) {
        return Ok(Format::Webp);
    }
    if head.is_empty() {
        return Err(PhotoError::Empty);
    }
    // A file cut inside the signature itself.
    let riff_cut = head.starts_with(b"RIFF") && head.len() < 12;
    if JPEG_MAGIC.starts_with(head) || PNG_MAGIC.starts_with(head) || riff_cut {
        return Err(PhotoError::truncated("the file ends inside the signature"));
    }
    Err(PhotoError::unsupported(describe_unsupported(head)))
}

fn describe_unsupported(head: &[u8]) -> String {
    let at = |range: std::ops::Range<usize>| head.get(range).unwrap_or(&[]);
    let name = if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        "GIF"
    } else if at(4..8) == b"ftyp" {
        match at(8..12) {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                "HEIC/HEIF (convert to JPEG in the app shell first)"
            }
            b"avif" | b"avis" => "AVIF",
            _ => "an ISO media file (video?)",
        }
    } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        "TIFF"
    } else if head.starts_with(b"BM") {
        "BMP"
    } else if head.starts_with(b"%PDF") {
        "PDF"
    } else if head.starts_with(&[0xFF, 0x0A]) || at(4..12) == b"jxl \r\n\x87\n" {
        "JPEG XL"
    } else {
        "not a JPEG, PNG or WebP image"
    };
    name.to_owned()
}

/// Refuses a header whose pixel count is over `limit` (or has a zero side).
pub(crate) fn check_pixels(width: u32, height: u32, limit: u64) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(PhotoError::corrupt(format!(
            "the header claims a {width}x{height} image"
        )));
    }
    if u64::from(width) * u64::from(height) > limit {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit,
        });
    }
    Ok(())
}

/// Refuses an image whose unavoidable full-size working buffer (`bytes_per_pixel` per pixel,
/// e.g. the coefficients of a progressive JPEG) would exceed `max_bytes`.
pub(crate) fn check_buffer(
    width: u32,
    height: u32,
    bytes_per_pixel: u64,
    max_bytes: u64,
) -> Result<(), PhotoError> {
    let needed = u64::from(width) * u64::from(height) * bytes_per_pixel;
    if needed > max_bytes {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit: max_bytes / bytes_per_pixel.max(1),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats_and_names_impostors() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).ok(), Some(Format::Jpeg));
        assert_eq!(sniff(PNG_MAGIC).ok(), Some(Format::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").ok(), Some(Format::Webp));
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        for (head, word) in [
            (&b"GIF89a\x01\0"[..], "GIF"),
            (&b"RIFF\0\0\0\0AVI LIST"[..], "not a JPEG"),
            (&heic[..], "HEIC"),
            (&b"hello world"[..], "not a JPEG"),
        ] {
            match sniff(head) {
                Err(PhotoError::UnsupportedFormat { format }) => {
                    assert!(format.contains(word), "{format}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            sniff(&[0xFF, 0xD8]),
            Err(PhotoError::Truncated { .. })
        ));
        assert!(matches!(sniff(&[]), Err(PhotoError::Empty)));
    }

    #[test]
    fn pixel_limits() {
        assert!(check_pixels(4000, 3000, 200_000_000).is_ok());
        assert!(matches!(
            check_pixels(60_000, 60_000, 200_000_000),
            Err(PhotoError::TooManyPixels { width: 60_000, .. })
        ));
        assert!(matches!(
            check_pixels(0, 10, 100),
            Err(PhotoError::Corrupt { .. })
        ));
        assert!(check_buffer(1000, 1000, 3, 3_000_000).is_ok());
        assert!(check_buffer(1000, 1001, 3, 3_000_000).is_err());
    }
}
