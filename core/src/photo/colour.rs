//! Colour correctness without shipping a profile: pixels described by an embedded RGB ICC
//! profile other than sRGB (Display P3 from recent phones, Adobe RGB from cameras) are
//! converted to sRGB with moxcms, so the profile can be dropped and the photo still looks
//! right on every screen. Profiles that already describe sRGB primaries are left alone (no
//! work); gray and CMYK profiles, and profiles that fail to parse, are ignored and the pixels
//! are taken as sRGB (see docs/photo.md).

use std::panic::{AssertUnwindSafe, catch_unwind};

use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions, Xyzd};

use super::raster::Raster;

/// How close (in XYZ) colorants must be to sRGB's to count as sRGB.
const SAME_PRIMARIES: f64 = 0.002;

/// Converts an RGB `image` from the colour space of `icc` to sRGB, in place. Returns whether
/// a conversion ran.
pub(crate) fn to_srgb(image: &mut Raster, icc: Option<&[u8]>) -> bool {
    let Some(icc) = icc else {
        return false;
    };
    if image.channels != 3 {
        return false;
    }
    // The profile is outside data: a panic in the CMS means "no usable profile".
    let converted = catch_unwind(AssertUnwindSafe(|| -> Option<Vec<u8>> {
        let source = ColorProfile::new_from_slice(icc).ok()?;
        if source.color_space != DataColorSpace::Rgb || is_srgb(&source) {
            return None;
        }
        let srgb = ColorProfile::new_srgb();
        let transform = source
            .create_transform_8bit(Layout::Rgb, &srgb, Layout::Rgb, TransformOptions::default())
            .ok()?;
        let mut out = vec![0u8; image.pixels.len()];
        transform.transform(&image.pixels, &mut out).ok()?;
        Some(out)
    }));
    match converted {
        Ok(Some(pixels)) => {
            image.pixels = pixels;
            true
        }
        _ => false,
    }
}

fn is_srgb(profile: &ColorProfile) -> bool {
    let srgb = ColorProfile::new_srgb();
    let near = |a: Xyzd, b: Xyzd| {
        (a.x - b.x).abs() < SAME_PRIMARIES
            && (a.y - b.y).abs() < SAME_PRIMARIES
            && (a.z - b.z).abs() < SAME_PRIMARIES
    };
    near(profile.red_colorant, srgb.red_colorant)
        && near(profile.green_colorant, srgb.green_colorant)
        && near(profile.blue_colorant, srgb.blue_colorant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raster(rgb: [u8; 3]) -> Raster {
        Raster {
            width: 1,
            height: 1,
            channels: 3,
            pixels: rgb.to_vec(),
        }
    }

    #[test]
    fn converts_display_p3_and_leaves_srgb_alone() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        let mut img = raster([20, 200, 20]);
        assert!(to_srgb(&mut img, Some(&p3)));
        // P3 green is more saturated than sRGB can show: green stays high, red goes to 0.
        assert!(
            img.pixels[0] < 10 && img.pixels[1] > 200,
            "{:?}",
            img.pixels
        );

        let mut img = raster([20, 200, 20]);
        assert!(!to_srgb(&mut img, Some(&srgb)));
        assert_eq!(img.pixels, vec![20, 200, 20]);
        assert!(!to_srgb(&mut img, Some(b"not a profile")));
        assert!(!to_srgb(&mut img, None));
    }
}
