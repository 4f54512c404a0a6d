//! JPEG output. The encoder writes SOI, one minimal JFIF APP0 (version, 1:1 aspect, no
//! thumbnail: nothing about the rider or the phone), quantisation and Huffman tables, the frame
//! and the scan. No EXIF, XMP, IPTC, ICC or comment segment is ever added, so metadata cannot
//! leak by forgetting to strip it: the output is built from pixels alone.

use jpeg_encoder::{
    ChromaSubsamplingMethod, Encoder, ImageBuffer, JpegColorType, SamplingFactor, rgb_to_ycbcr,
};

use super::PhotoError;
use super::raster::Raster;

/// MCU rows per restart-marker cycle: a part must start at an interval whose index is a
/// multiple of 8, so that the marker before it is RST7 and its own markers restart at RST0.
const ROWS_PER_MARKER_CYCLE: usize = 8;
/// Below this many MCU rows (256 px of colour) a second thread costs more than it saves.
const MIN_SPLIT_MCU_ROWS: usize = 2 * ROWS_PER_MARKER_CYCLE;

/// Encodes `image` as a baseline JPEG at `quality` (1..=100), 4:2:0 for colour, with a
/// restart marker after every row of MCUs. The markers make the entropy-coded rows
/// independent, so the top and bottom halves are encoded on two threads and spliced into
/// exactly the bytes one serial encode writes (`parts_splice_into_the_serial_encode`). They
/// cost ~3 bytes per row (~0.1 % of a 1600 px photo), and a damaged upload loses one row of
/// blocks instead of the rest of the image.
pub(crate) fn jpeg(image: &Raster, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    jpeg_in_parts(image, quality, threads.min(2))
}

/// [`jpeg`] with the rows split into up to `parts` pieces encoded side by side.
fn jpeg_in_parts(image: &Raster, quality: u8, parts: usize) -> Result<Vec<u8>, PhotoError> {
    let pixels = Pixels::of(image)?;
    let mcu = if image.channels == 1 { 8 } else { 16 };
    let mcu_rows = usize::from(pixels.height).div_ceil(mcu);
    // One interval per MCU row (at most 4096 MCUs: the width fits a u16).
    let interval = u16::try_from(usize::from(pixels.width).div_ceil(mcu)).unwrap_or(u16::MAX);
    if parts < 2 || mcu_rows < MIN_SPLIT_MCU_ROWS {
        return encode_rows(&pixels, 0, pixels.height, quality, interval);
    }
    // The split: the marker-cycle boundary nearest the middle.
    let cycles = mcu_rows / ROWS_PER_MARKER_CYCLE;
    let split_mcu_row = cycles.div_ceil(2).max(1) * ROWS_PER_MARKER_CYCLE;
    let split = u16::try_from(split_mcu_row * mcu).map_err(|_| too_big(image))?;
    let (top, bottom) = std::thread::scope(|scope| {
        let bottom =
            scope.spawn(|| encode_rows(&pixels, split, pixels.height - split, quality, interval));
        let top = encode_rows(&pixels, 0, split, quality, interval);
        let bottom = bottom
            .join()
            .unwrap_or_else(|_| Err(PhotoError::corrupt("a JPEG encoding worker failed")));
        (top, bottom)
    });
    splice(&top?, &bottom?, pixels.height)
}

/// Encodes rows `first..first + height` of `pixels` as a JPEG of their own.
fn encode_rows(
    pixels: &Pixels<'_>,
    first: u16,
    height: u16,
    quality: u8,
    restart_interval: u16,
) -> Result<Vec<u8>, PhotoError> {
    let rows = Pixels {
        first_row: pixels.first_row + first,
        height,
        ..*pixels
    };
    let mut out = Vec::with_capacity(pixels.image.pixels.len() / 8);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    // Averaging chroma costs little and avoids colour fringes on thin lines (cables, cracks).
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    encoder.set_restart_interval(restart_interval);
    // Standard Huffman tables: optimised ones save ~2 % of bytes but cost a second pass
    // (~40 % of the encode time) and force one scan per component.
    encoder
        .encode_image(rows)
        .map_err(|e| PhotoError::corrupt(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

/// The top part's header and scan (its frame height set to `height`), RST7, the bottom
/// part's scan, EOI: what one encoder writes for the whole image.
fn splice(top: &[u8], bottom: &[u8], height: u16) -> Result<Vec<u8>, PhotoError> {
    let broken = || PhotoError::corrupt("the JPEG encoder wrote an unexpected layout");
    let top_layout = scan_layout(top).ok_or_else(broken)?;
    let bottom_layout = scan_layout(bottom).ok_or_else(broken)?;
    let top_scan = top.get(..top.len() - 2).ok_or_else(broken)?;
    let bottom_scan = bottom
        .get(bottom_layout.scan_start..bottom.len() - 2)
        .ok_or_else(broken)?;
    let mut out = Vec::with_capacity(top.len() + bottom_scan.len() + 4);
    out.extend_from_slice(top_scan);
    out[top_layout.height_at..top_layout.height_at + 2].copy_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[0xFF, 0xD7]);
    out.extend_from_slice(bottom_scan);
    out.extend_from_slice(&[0xFF, 0xD9]);
    Ok(out)
}

/// Where the frame height and the entropy-coded data are in a JPEG this encoder wrote.
struct ScanLayout {
    height_at: usize,
    scan_start: usize,
}

/// Walks the encoder's own segments up to SOS; `None` for anything else, or no EOI at the end.
fn scan_layout(jpeg: &[u8]) -> Option<ScanLayout> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) || !jpeg.ends_with(&[0xFF, 0xD9]) {
        return None;
    }
    let mut at = 2;
    let mut height_at = None;
    loop {
        let [0xFF, marker, high, low] = *jpeg.get(at..)?.first_chunk::<4>()? else {
            return None;
        };
        let next = at + 2 + usize::from(u16::from_be_bytes([high, low]));
        match marker {
            0xC0 => height_at = Some(at + 5),
            0xDA => {
                return Some(ScanLayout {
                    height_at: height_at?,
                    scan_start: next,
                });
            }
            _ => {}
        }
        at = next;
    }
}

/// A gray or RGB raster as the encoder reads it. One type for both: `Encoder::encode` would
/// compile the encoder for each of its nine pixel formats (twice on x86: with and without
/// AVX2), ~50 KB of machine code in the mobile library for two formats used.
#[derive(Clone, Copy)]
struct Pixels<'a> {
    image: &'a Raster,
    width: u16,
    /// The first row of `image` this buffer starts at (a part of a split encode).
    first_row: u16,
    height: u16,
}

impl<'a> Pixels<'a> {
    fn of(image: &'a Raster) -> Result<Self, PhotoError> {
        let width = u16::try_from(image.width).map_err(|_| too_big(image))?;
        let height = u16::try_from(image.height).map_err(|_| too_big(image))?;
        let needed = usize::from(width) * usize::from(height) * usize::from(image.channels);
        if !matches!(image.channels, 1 | 3) || image.pixels.len() < needed {
            return Err(PhotoError::corrupt(format!(
                "a {}x{} raster of {} channel(s) holds {} bytes",
                image.width,
                image.height,
                image.channels,
                image.pixels.len()
            )));
        }
        Ok(Self {
            image,
            width,
            first_row: 0,
            height,
        })
    }
}

impl ImageBuffer for Pixels<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        if self.image.channels == 1 {
            JpegColorType::Luma
        } else {
            JpegColorType::Ycbcr
        }
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let channels = usize::from(self.image.channels);
        let stride = usize::from(self.width) * channels;
        let start = (usize::from(self.first_row) + usize::from(y)) * stride;
        // `of` checked the length; a row past the end (never asked for) adds nothing.
        let row = self.image.pixels.get(start..start + stride).unwrap_or(&[]);
        if channels == 1 {
            buffers[0].extend_from_slice(row);
            return;
        }
        let [luma, blue, red, _] = buffers;
        let (from, n) = (luma.len(), row.len() / 3);
        for plane in [&mut *luma, &mut *blue, &mut *red] {
            plane.resize(from + n, 0);
        }
        to_ycbcr(row, &mut luma[from..], &mut blue[from..], &mut red[from..]);
    }
}

/// One row of RGB to the Y, Cb and Cr planes (the JFIF matrix, jpeg-encoder's fixed-point
/// `rgb_to_ycbcr`); on x86_64 groups of eight pixels through SSE2 (`ycbcr_sse2`, same
/// arithmetic), the rest one by one.
fn to_ycbcr(rgb: &[u8], luma: &mut [u8], blue: &mut [u8], red: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of the x86_64 baseline; the function is otherwise safe code.
    let done = unsafe { super::ycbcr_sse2::to_ycbcr(rgb, luma, blue, red) };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    let pixels = rgb.chunks_exact(3).zip(luma).zip(blue).zip(red).skip(done);
    for (((px, l), b), r) in pixels {
        (*l, *b, *r) = rgb_to_ycbcr(px[0], px[1], px[2]);
    }
}

fn too_big(image: &Raster) -> PhotoError {
    PhotoError::TooManyPixels {
        width: image.width,
        height: image.height,
        limit: u64::from(u16::MAX) * u64::from(u16::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(jpeg: &[u8]) -> (jpeg_decoder::ImageInfo, Vec<u8>) {
        let mut d = jpeg_decoder::Decoder::new(jpeg);
        let pixels = d.decode().unwrap();
        (d.info().unwrap(), pixels)
    }

    #[test]
    fn gray_and_colour_rasters_come_back_as_they_went_in() {
        let (w, h) = (37, 21); // not multiples of the 16 px blocks
        let gray = Raster {
            width: w,
            height: h,
            channels: 1,
            pixels: vec![90; (w * h) as usize],
        };
        let (info, px) = decode(&jpeg(&gray, 90).unwrap());
        assert_eq!((info.width, info.height), (37, 21));
        assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::L8);
        assert!(
            px.iter().all(|&v| v.abs_diff(90) <= 2),
            "flat gray stays flat"
        );

        let colour = Raster {
            width: w,
            height: h,
            channels: 3,
            pixels: [200u8, 40, 60].repeat((w * h) as usize),
        };
        let (info, px) = decode(&jpeg(&colour, 90).unwrap());
        assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
        for p in px.chunks_exact(3) {
            let far = p
                .iter()
                .zip([200u8, 40, 60])
                .any(|(a, b)| a.abs_diff(b) > 4);
            assert!(!far, "{p:?} is not the red that went in");
        }
    }

    /// Gradients with hard-edged blocks: chroma subsampling and the splice both show.
    fn photo_like(width: u32, height: u32, channels: u8) -> Raster {
        Raster::from_fn(width, height, channels, |x, y, c| {
            let edge = if (x / 29 + y / 17) % 2 == 0 { 70 } else { 0 };
            ((x * 2 + y * (u32::from(c) + 1) + edge) % 256) as u8
        })
    }

    #[test]
    fn parts_splice_into_the_serial_encode() {
        // Colour and gray, heights on and off the MCU grid, the smallest image that splits.
        for (w, h, c) in [(1600, 1200, 3), (333, 517, 3), (250, 256, 3), (301, 260, 1)] {
            let image = photo_like(w, h, c);
            let serial = jpeg_in_parts(&image, 80, 1).unwrap();
            let split = jpeg_in_parts(&image, 80, 2).unwrap();
            assert!(split == serial, "{w}x{h}x{c}: the splice differs");
            let (info, px) = decode(&split);
            assert_eq!((u32::from(info.width), u32::from(info.height)), (w, h));
            // Restart markers change only the entropy coding, never a coefficient: the pixels
            // are those of an encode without markers, so no row moved or went missing.
            let plain = encode_rows(&Pixels::of(&image).unwrap(), 0, h as u16, 80, 0).unwrap();
            assert!(
                plain.len() < split.len(),
                "{w}x{h}x{c}: no markers were written"
            );
            assert!(
                decode(&plain).1 == px,
                "{w}x{h}x{c}: pixels differ from the plain encode"
            );
            // One restart marker per MCU row but the last, in sequence.
            let mcu = if c == 1 { 8 } else { 16 };
            let markers: Vec<u8> = split
                .windows(2)
                .filter(|p| p[0] == 0xFF && (0xD0..=0xD7).contains(&p[1]))
                .map(|p| p[1] - 0xD0)
                .collect();
            assert_eq!(markers.len(), (h as usize).div_ceil(mcu) - 1, "{w}x{h}x{c}");
            assert!(
                markers
                    .iter()
                    .enumerate()
                    .all(|(i, &n)| usize::from(n) == i % 8)
            );
        }
    }

    #[test]
    fn a_small_image_is_encoded_in_one_piece() {
        let image = photo_like(64, 64, 3);
        assert!(jpeg_in_parts(&image, 80, 2).unwrap() == jpeg_in_parts(&image, 80, 1).unwrap());
    }

    #[test]
    fn a_raster_that_does_not_match_its_size_is_refused_not_read_past() {
        // Too short for RGB, too short for gray, and a channel count the encoder has no form for.
        for (channels, len) in [(3, 10), (1, 0), (4, 400)] {
            let bad = Raster {
                width: 10,
                height: 10,
                channels,
                pixels: vec![0; len],
            };
            assert!(matches!(jpeg(&bad, 80), Err(PhotoError::Corrupt { .. })));
        }
        let huge = Raster {
            width: 70_000,
            height: 1,
            channels: 1,
            pixels: vec![0; 70_000],
        };
        assert!(matches!(
            jpeg(&huge, 80),
            Err(PhotoError::TooManyPixels { .. })
        ));
    }
}
