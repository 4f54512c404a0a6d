//! JPEG output. The encoder writes SOI, one minimal JFIF APP0 (version, 1:1 aspect, no
//! thumbnail: nothing about the rider or the phone), quantisation and Huffman tables, the frame
//! and the scan. No EXIF, XMP, IPTC, ICC or comment segment is ever added, so metadata cannot
//! leak by forgetting to strip it: the output is built from pixels alone.

use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};

use super::PhotoError;
use super::raster::Raster;

/// Encodes `image` as a baseline JPEG at `quality` (1..=100), 4:2:0 for colour.
pub(crate) fn jpeg(image: &Raster, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let (width, height) = (
        u16::try_from(image.width).map_err(|_| too_big(image))?,
        u16::try_from(image.height).map_err(|_| too_big(image))?,
    );
    let color = if image.channels == 1 {
        ColorType::Luma
    } else {
        ColorType::Rgb
    };
    let mut out = Vec::with_capacity(image.pixels.len() / 8);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    // Averaging chroma costs little and avoids colour fringes on thin lines (cables, cracks).
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    // Standard Huffman tables: optimised ones save ~2 % of bytes but cost a second pass
    // (~40 % of the encode time) and force one scan per component.
    encoder
        .encode(&image.pixels, width, height, color)
        .map_err(|e| PhotoError::corrupt(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

fn too_big(image: &Raster) -> PhotoError {
    PhotoError::TooManyPixels {
        width: image.width,
        height: image.height,
        limit: u64::from(u16::MAX) * u64::from(u16::MAX),
    }
}
