//! The eight EXIF orientations and the pixel shuffles that make a photo upright. Applied after
//! resizing, so the shuffle touches at most `max_edge`² pixels.

use super::raster::Raster;

/// How a camera stored the pixels relative to the upright scene (EXIF tag 0x0112).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    /// 1: stored upright.
    #[default]
    Normal,
    /// 2: mirrored left-right.
    MirrorHorizontal,
    /// 3: upside down.
    Rotate180,
    /// 4: mirrored top-bottom.
    MirrorVertical,
    /// 5: mirrored along the top-left/bottom-right diagonal.
    Transpose,
    /// 6: needs a 90° clockwise turn to be upright.
    Rotate90,
    /// 7: mirrored along the top-right/bottom-left diagonal.
    Transverse,
    /// 8: needs a 90° counter-clockwise turn to be upright.
    Rotate270,
}

impl Orientation {
    /// Maps the EXIF value; anything outside 1..=8 means "as stored".
    pub fn from_exif(value: u32) -> Self {
        match value {
            2 => Self::MirrorHorizontal,
            3 => Self::Rotate180,
            4 => Self::MirrorVertical,
            5 => Self::Transpose,
            6 => Self::Rotate90,
            7 => Self::Transverse,
            8 => Self::Rotate270,
            _ => Self::Normal,
        }
    }

    /// True when upright width and height are the stored height and width.
    pub fn swaps_dimensions(self) -> bool {
        matches!(
            self,
            Self::Transpose | Self::Rotate90 | Self::Transverse | Self::Rotate270
        )
    }

    /// Upright (width, height) of a stored `width` x `height` image.
    pub fn upright_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.swaps_dimensions() {
            (height, width)
        } else {
            (width, height)
        }
    }
}

/// Returns `image` turned upright.
pub(crate) fn apply(image: Raster, orientation: Orientation) -> Raster {
    if orientation == Orientation::Normal {
        return image;
    }
    let (w, h) = (image.width as usize, image.height as usize);
    let ch = usize::from(image.channels);
    let (out_w, out_h) = if orientation.swaps_dimensions() {
        (h, w)
    } else {
        (w, h)
    };
    // For the upright pixel (x, y), the stored pixel it comes from.
    let source = |x: usize, y: usize| -> (usize, usize) {
        match orientation {
            Orientation::Normal => (x, y),
            Orientation::MirrorHorizontal => (w - 1 - x, y),
            Orientation::Rotate180 => (w - 1 - x, h - 1 - y),
            Orientation::MirrorVertical => (x, h - 1 - y),
            Orientation::Transpose => (y, x),
            Orientation::Rotate90 => (y, h - 1 - x),
            Orientation::Transverse => (w - 1 - y, h - 1 - x),
            Orientation::Rotate270 => (w - 1 - y, x),
        }
    };
    let mut out = vec![0u8; image.pixels.len()];
    for (y, row) in out.chunks_exact_mut(out_w * ch).enumerate() {
        for (x, px) in row.chunks_exact_mut(ch).enumerate() {
            let (sx, sy) = source(x, y);
            let at = (sy * w + sx) * ch;
            px.copy_from_slice(&image.pixels[at..at + ch]);
        }
    }
    Raster {
        width: out_w as u32,
        height: out_h as u32,
        channels: image.channels,
        pixels: out,
    }
}
