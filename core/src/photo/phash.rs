//! Perceptual hash: 64 bits that stay nearly the same when a photo of the same scene is
//! re-encoded, resized, slightly cropped or brightened, and differ in about half their bits
//! between unrelated scenes. It is what lets two riders' photos of one pothole be recognised
//! as one problem, where the SHA-256 (the photo's id) only recognises the identical file.
//!
//! The classic DCT hash: the upright image's luma is resampled to 32 x 32 (aspect ratio
//! dropped on purpose, so a crop or a different aspect moves little), a 2-D DCT-II is taken,
//! and the 8 x 8 lowest frequencies except the DC term (63 coefficients, plus the DC position
//! kept as a zero bit so the hash is a plain `u64`) are compared with their median: one bit
//! per coefficient, set when above. Brightness only moves the DC term, which is left out;
//! contrast scales every coefficient alike, which the median absorbs.
//!
//! The device computes it from the thumbnail raster it already holds; the server computes it
//! itself from the uploaded JPEG (it never trusts a device's hash). Both sources are the same
//! pixels at different sizes, so they agree within a few bits (tested).

use super::PhotoError;
use super::raster::Raster;

/// Side of the square the image is resampled to before the DCT.
const SIDE: usize = 32;
/// Side of the low-frequency block that makes the hash.
const LOW: usize = 8;

/// Photos whose hashes differ in at most this many of the 64 bits are taken to show the same
/// scene. Measured on the synthetic scene set in this module's tests and on real street
/// photos (docs/photo.md, docs/decisions/0062-duplicates.md).
pub const SAME_SCENE_MAX_DISTANCE: u32 = 14;

/// A 64-bit DCT perceptual hash; compare two with [`hamming`] or [`similarity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerceptualHash(pub u64);

impl PerceptualHash {
    /// Lowercase hex, 16 digits: how the hash is stored and sent.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }

    /// Parses [`PerceptualHash::to_hex`]'s form; `None` for anything else.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(s, 16).ok().map(Self)
    }

    /// The hash as a signed integer with the same bits, for SQL columns and FFI records
    /// that have no unsigned 64-bit type.
    pub fn to_i64(self) -> i64 {
        i64::from_ne_bytes(self.0.to_ne_bytes())
    }

    /// The inverse of [`PerceptualHash::to_i64`].
    pub fn from_i64(v: i64) -> Self {
        Self(u64::from_ne_bytes(v.to_ne_bytes()))
    }
}

/// Number of differing bits, 0..=64.
pub fn hamming(a: PerceptualHash, b: PerceptualHash) -> u32 {
    (a.0 ^ b.0).count_ones()
}

/// How alike two hashes are, 0.0 (every bit differs) ..= 1.0 (identical). Unrelated
/// photos land around 0.5, since about half the bits differ by chance.
pub fn similarity(a: PerceptualHash, b: PerceptualHash) -> f64 {
    1.0 - f64::from(hamming(a, b)) / 64.0
}

/// Whether two hashes are within [`SAME_SCENE_MAX_DISTANCE`].
pub fn same_scene(a: PerceptualHash, b: PerceptualHash) -> bool {
    hamming(a, b) <= SAME_SCENE_MAX_DISTANCE
}

/// The hash of an upright gray or RGB raster.
pub(crate) fn of_raster(image: &Raster) -> Result<PerceptualHash, PhotoError> {
    let luma = to_luma(image)?;
    let small = luma.resized(SIDE as u32, SIDE as u32)?;
    let pixels: Vec<f64> = small.pixels.iter().map(|&p| f64::from(p)).collect();
    Ok(hash_of_square(&pixels))
}

/// BT.601 luma; a gray raster is returned as is (cloned).
fn to_luma(image: &Raster) -> Result<Raster, PhotoError> {
    let pixels = match image.channels {
        1 => image.pixels.clone(),
        3 => image
            .pixels
            .chunks_exact(3)
            .map(|p| {
                let y = 299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]);
                u8::try_from((y + 500) / 1000).unwrap_or(u8::MAX)
            })
            .collect(),
        c => {
            return Err(PhotoError::corrupt(format!(
                "perceptual hash: {c} channels is not gray or RGB"
            )));
        }
    };
    Ok(Raster {
        width: image.width,
        height: image.height,
        channels: 1,
        pixels,
    })
}

/// The DCT-II basis, `cos((2x + 1) u pi / 2N)` for the low `u` only: the rest is never used.
fn basis() -> [[f64; SIDE]; LOW] {
    let mut b = [[0.0; SIDE]; LOW];
    for (u, row) in b.iter_mut().enumerate() {
        for (x, v) in row.iter_mut().enumerate() {
            *v = (((2 * x + 1) * u) as f64 * std::f64::consts::PI / (2 * SIDE) as f64).cos();
        }
    }
    b
}

/// Hash of a SIDE x SIDE luma square (row-major).
fn hash_of_square(pixels: &[f64]) -> PerceptualHash {
    let b = basis();
    // Rows first: each of the 32 rows to its 8 low horizontal frequencies.
    let mut rows = [[0.0f64; LOW]; SIDE];
    for (y, out) in rows.iter_mut().enumerate() {
        let line = &pixels[y * SIDE..(y + 1) * SIDE];
        for (u, o) in out.iter_mut().enumerate() {
            *o = line.iter().zip(b[u].iter()).map(|(p, c)| p * c).sum();
        }
    }
    // Then columns: the 8 x 8 low block. Of the orthonormal scale factors only the relative
    // one matters for the median: frequency 0 on an axis weighs 1/sqrt(2) of the others.
    let weight = |f: usize| {
        if f == 0 {
            std::f64::consts::FRAC_1_SQRT_2
        } else {
            1.0
        }
    };
    let mut coeffs = [0.0f64; LOW * LOW];
    for v in 0..LOW {
        for u in 0..LOW {
            let sum: f64 = (0..SIDE).map(|y| rows[y][u] * b[v][y]).sum();
            coeffs[v * LOW + u] = sum * weight(u) * weight(v);
        }
    }
    let mut ac: Vec<f64> = coeffs[1..].to_vec();
    ac.sort_by(f64::total_cmp);
    let median = ac[ac.len() / 2];
    let mut bits = 0u64;
    for (i, c) in coeffs.iter().enumerate().skip(1) {
        if *c > median {
            bits |= 1 << i;
        }
    }
    PerceptualHash(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_signed_forms_round_trip() {
        for v in [
            0u64,
            1,
            u64::MAX,
            0x8000_0000_0000_0001,
            0x0123_4567_89ab_cdef,
        ] {
            let h = PerceptualHash(v);
            assert_eq!(PerceptualHash::from_hex(&h.to_hex()), Some(h));
            assert_eq!(PerceptualHash::from_i64(h.to_i64()), h);
        }
        for bad in [
            "",
            "0123",
            "0123456789abcdefg",
            "zzzzzzzzzzzzzzzz",
            "+123456789abcdef",
        ] {
            assert_eq!(PerceptualHash::from_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn distance_and_similarity() {
        let a = PerceptualHash(0);
        assert_eq!(hamming(a, PerceptualHash(u64::MAX)), 64);
        assert_eq!(similarity(a, a), 1.0);
        assert_eq!(similarity(a, PerceptualHash(u64::MAX)), 0.0);
        assert_eq!(similarity(a, PerceptualHash(0xFFFF_FFFF)), 0.5);
        assert!(same_scene(a, PerceptualHash(0x3FFF)));
        assert!(!same_scene(a, PerceptualHash(0x7FFF)));
    }

    #[test]
    fn a_flat_image_does_not_panic_and_hashes_to_zero() {
        let r = Raster {
            width: 40,
            height: 30,
            channels: 3,
            pixels: vec![128; 40 * 30 * 3],
        };
        // Every AC coefficient is (nearly) zero: none is strictly above the median.
        let h = of_raster(&r).unwrap();
        assert!(h.0.count_ones() < 32, "{:016x}", h.0);
    }

    #[test]
    fn refuses_a_raster_of_the_wrong_shape() {
        let r = Raster {
            width: 4,
            height: 4,
            channels: 2,
            pixels: vec![0; 32],
        };
        assert!(of_raster(&r).is_err());
    }
}
