//! WebP, the format chat apps and some gallery apps save pictures in, decoded with the `image`
//! crate (its pure-Rust `image-webp` codec and its allocation limit), then box-reduced and
//! flattened like PNG. WebP has no DCT scaling and no row streaming, so the full frame exists
//! once: its size is checked against `max_decode_bytes` from the header, before decoding.

use std::io::{BufRead, Seek};
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::codecs::webp::WebPDecoder;
use image::{ColorType, ImageDecoder, ImageError, Limits};

use super::decode::{BoxReducer, Extras, io_error};
use super::limits::{check_buffer, check_pixels};
use super::raster::Raster;
use super::{PhotoError, PhotoOptions};

/// Size and EXIF from the chunk headers, without decoding pixels.
pub(crate) fn header<R: BufRead + Seek>(
    reader: R,
) -> Result<(u32, u32, Option<Vec<u8>>), PhotoError> {
    let mut decoder = open(reader)?;
    let (width, height) = decoder.dimensions();
    let exif = decoder.exif_metadata().ok().flatten();
    Ok((width, height, exif))
}

/// Decodes a WebP (its first frame, when animated), compositing alpha on white and
/// box-reducing by the largest integer factor that keeps the long edge at or above
/// `target_edge`.
pub(crate) fn decode<R: BufRead + Seek>(
    reader: R,
    target_edge: u32,
    opts: &PhotoOptions,
) -> Result<(Raster, Extras), PhotoError> {
    let mut decoder = open(reader)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, opts.max_pixels)?;
    let color = decoder.color_type();
    let (channels, reduce_as) = match color {
        ColorType::Rgb8 => (3, png::ColorType::Rgb),
        ColorType::Rgba8 => (4, png::ColorType::Rgba),
        ColorType::L8 => (1, png::ColorType::Grayscale),
        ColorType::La8 => (2, png::ColorType::GrayscaleAlpha),
        other => return Err(PhotoError::unsupported(format!("WebP pixels as {other:?}"))),
    };
    check_buffer(width, height, channels, opts.max_decode_bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(opts.max_decode_bytes);
    decoder.set_limits(limits).map_err(image_error)?;
    let extras = Extras {
        exif: decoder.exif_metadata().ok().flatten(),
        icc: decoder.icc_profile().ok().flatten(),
    };
    let size = usize::try_from(decoder.total_bytes())
        .map_err(|_| PhotoError::corrupt("WebP frame size overflows"))?;
    let mut frame = vec![0u8; size];
    catch_unwind(AssertUnwindSafe(|| decoder.read_image(&mut frame)))
        .map_err(|_| PhotoError::corrupt("the WebP decoder gave up on this file"))?
        .map_err(image_error)?;

    let factor = (width.max(height) / target_edge.max(1)).max(1);
    let mut reducer = BoxReducer::new(width, height, factor, reduce_as)?;
    let stride = width as usize * channels as usize;
    for row in frame.chunks_exact(stride).take(height as usize) {
        reducer.push_row(row);
    }
    Ok((reducer.finish()?, extras))
}

fn open<R: BufRead + Seek>(reader: R) -> Result<WebPDecoder<R>, PhotoError> {
    catch_unwind(AssertUnwindSafe(|| WebPDecoder::new(reader)))
        .map_err(|_| PhotoError::corrupt("the WebP decoder gave up on this file"))?
        .map_err(image_error)
}

fn image_error(e: ImageError) -> PhotoError {
    match e {
        ImageError::IoError(e) => io_error(e),
        ImageError::Limits(_) => PhotoError::corrupt("the WebP needs more memory than allowed"),
        ImageError::Unsupported(e) => PhotoError::unsupported(format!("WebP variant ({e})")),
        other => {
            let detail = other.to_string();
            let lower = detail.to_ascii_lowercase();
            if lower.contains("eof") || lower.contains("end of") {
                PhotoError::truncated(detail)
            } else {
                PhotoError::corrupt(detail)
            }
        }
    }
}
