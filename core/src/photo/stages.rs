//! The pipeline's steps one at a time, so `benches/photo_stages.rs` can say what each costs
//! (feature `test-fixtures`; not for production builds: [`super::process_file`] is the API).

use std::path::Path;

use super::raster::Raster;
use super::{PhotoError, PhotoOptions, encode};

/// Pixels between two steps.
pub struct StagePixels(Raster);

impl StagePixels {
    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.0.width, self.0.height)
    }
}

/// Step 3: the input decoded at the reduced size the pipeline asks for (DCT scaling for JPEG,
/// strips on restart-marked files), before the resample.
pub fn decode_input(input: &Path, opts: &PhotoOptions) -> Result<StagePixels, PhotoError> {
    super::decode_input(input, opts).map(|(raster, _icc, _exif)| StagePixels(raster))
}

/// Step 4: the Lanczos3 resample to fit within `max_edge`.
pub fn resize(pixels: &StagePixels, max_edge: u32) -> Result<StagePixels, PhotoError> {
    pixels.0.resized_to_fit(max_edge).map(StagePixels)
}

/// Step 6: the JPEG encode.
pub fn encode_jpeg(pixels: &StagePixels, quality: u8) -> Result<Vec<u8>, PhotoError> {
    encode::jpeg(&pixels.0, quality)
}
