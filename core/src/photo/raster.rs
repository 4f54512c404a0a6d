//! The in-memory image between decoder and encoder (8-bit gray or RGB, rows packed) and the
//! one resampling step: Lanczos3 through fast_image_resize, which picks SSE4.1/AVX2/NEON at run
//! time.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::PhotoError;

/// Packed 8-bit pixels: 1 channel (gray) or 3 (RGB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Raster {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub pixels: Vec<u8>,
}

/// The size whose long edge is at most `max_edge`, keeping the aspect ratio and never
/// enlarging. Neither side drops below one pixel.
pub(crate) fn fit_within(width: u32, height: u32, max_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max_edge || max_edge == 0 {
        return (width, height);
    }
    let scale = |side: u32| -> u32 {
        let scaled =
            (u64::from(side) * u64::from(max_edge) + u64::from(long) / 2) / u64::from(long);
        (scaled as u32).clamp(1, max_edge)
    };
    (scale(width), scale(height))
}

impl Raster {
    /// Resamples to fit within `max_edge` (Lanczos3); returns `self` when it already fits.
    pub fn fit(self, max_edge: u32) -> Result<Raster, PhotoError> {
        let (w, h) = fit_within(self.width, self.height, max_edge);
        if (w, h) == (self.width, self.height) {
            return Ok(self);
        }
        self.resized(w, h)
    }

    /// Resamples to exactly `width` x `height`.
    pub fn resized(&self, width: u32, height: u32) -> Result<Raster, PhotoError> {
        let pixel_type = match self.channels {
            1 => PixelType::U8,
            _ => PixelType::U8x3,
        };
        let internal = |e: &dyn std::fmt::Display| PhotoError::corrupt(format!("resize: {e}"));
        let src = ImageRef::new(self.width, self.height, &self.pixels, pixel_type)
            .map_err(|e| internal(&e))?;
        let mut dst = Image::new(width, height, pixel_type);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
        Resizer::new()
            .resize(&src, &mut dst, &options)
            .map_err(|e| internal(&e))?;
        Ok(Raster {
            width,
            height,
            channels: self.channels,
            pixels: dst.into_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_long_edge_without_upscaling() {
        assert_eq!(fit_within(4032, 3024, 1600), (1600, 1200));
        assert_eq!(fit_within(3024, 4032, 1600), (1200, 1600));
        assert_eq!(fit_within(800, 600, 1600), (800, 600));
        assert_eq!(fit_within(100_000, 3, 1600), (1600, 1));
        assert_eq!(fit_within(1600, 1600, 320), (320, 320));
    }
}
