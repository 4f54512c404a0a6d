//! JPEG output. The encoder writes SOI, one minimal JFIF APP0 (version, 1:1 aspect, no
//! thumbnail: nothing about the rider or the phone), quantisation and Huffman tables, the frame
//! and the scan. No EXIF, XMP, IPTC, ICC or comment segment is ever added, so metadata cannot
//! leak by forgetting to strip it: the output is built from pixels alone.

use jpeg_encoder::{
    ChromaSubsamplingMethod, Encoder, ImageBuffer, JpegColorType, SamplingFactor, rgb_to_ycbcr,
};

use super::PhotoError;
use super::raster::Raster;

/// Encodes `image` as a baseline JPEG at `quality` (1..=100), 4:2:0 for colour.
pub(crate) fn jpeg(image: &Raster, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let pixels = Pixels::of(image)?;
    let mut out = Vec::with_capacity(image.pixels.len() / 8);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    // Averaging chroma costs little and avoids colour fringes on thin lines (cables, cracks).
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    // Standard Huffman tables: optimised ones save ~2 % of bytes but cost a second pass
    // (~40 % of the encode time) and force one scan per component.
    encoder
        .encode_image(pixels)
        .map_err(|e| PhotoError::corrupt(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

/// A gray or RGB raster as the encoder reads it. One type for both: `Encoder::encode` would
/// compile the encoder for each of its nine pixel formats (twice on x86: with and without
/// AVX2), ~50 KB of machine code in the mobile library for two formats used.
struct Pixels<'a> {
    image: &'a Raster,
    width: u16,
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
        let start = usize::from(y) * stride;
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
/// `rgb_to_ycbcr`); on x86_64 with AVX2 the same loop compiled for it, as the encoder's own
/// AVX2 path does. aarch64 vectorises it with its NEON baseline.
fn to_ycbcr(rgb: &[u8], luma: &mut [u8], blue: &mut [u8], red: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above); the function is otherwise safe code.
        unsafe { to_ycbcr_avx2(rgb, luma, blue, red) };
        return;
    }
    to_ycbcr_body(rgb, luma, blue, red);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn to_ycbcr_avx2(rgb: &[u8], luma: &mut [u8], blue: &mut [u8], red: &mut [u8]) {
    to_ycbcr_body(rgb, luma, blue, red);
}

#[inline(always)]
fn to_ycbcr_body(rgb: &[u8], luma: &mut [u8], blue: &mut [u8], red: &mut [u8]) {
    let pixels = rgb.chunks_exact(3).zip(luma).zip(blue).zip(red);
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
