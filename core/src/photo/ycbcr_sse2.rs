//! RGB to Y, Cb, Cr for the encoder with SSE2 intrinsics (the x86_64 baseline), eight pixels
//! at a time. Plain loops are not vectorised in the release build (see `resample_sse2`).
//!
//! The arithmetic is jpeg-encoder's `rgb_to_ycbcr` exactly: the same 16-bit fixed-point
//! coefficients, summed by `pmaddwd` in pairs. Coefficients that do not fit an `i16` (38470,
//! 32768) are split into two equal halves over two pairs, which gives the same sums.

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_cvtsi128_si64, _mm_loadu_si128, _mm_madd_epi16, _mm_packs_epi32,
    _mm_packus_epi16, _mm_set1_epi32, _mm_setzero_si128, _mm_srai_epi32, _mm_unpackhi_epi16,
    _mm_unpacklo_epi16,
};

/// Two coefficients as `pmaddwd` pairs them: `first` for the low 16 bits of every lane.
#[inline]
#[target_feature(enable = "sse2")]
fn pair(first: i16, second: i16) -> __m128i {
    _mm_set1_epi32(((u32::from(second as u16) << 16) | u32::from(first as u16)) as i32)
}

/// Eight 16-bit lanes from an array.
#[inline]
#[target_feature(enable = "sse2")]
fn lanes(values: &[i16; 8]) -> __m128i {
    // SAFETY: `values` is 16 readable bytes; `loadu` has no alignment requirement.
    unsafe { _mm_loadu_si128(values.as_ptr().cast()) }
}

/// `(a + b + offset) >> 16` for the low and the high four pixels, packed to eight bytes
/// (all already in 0..=255).
#[inline]
#[target_feature(enable = "sse2")]
fn finish(low: (__m128i, __m128i), high: (__m128i, __m128i), offset: i32) -> [u8; 8] {
    let offset = _mm_set1_epi32(offset);
    let low = _mm_srai_epi32::<16>(_mm_add_epi32(_mm_add_epi32(low.0, low.1), offset));
    let high = _mm_srai_epi32::<16>(_mm_add_epi32(_mm_add_epi32(high.0, high.1), offset));
    let bytes = _mm_packus_epi16(_mm_packs_epi32(low, high), _mm_setzero_si128());
    _mm_cvtsi128_si64(bytes).to_le_bytes()
}

/// Four pixels' pairs: (r, g), (g, b), (b, b), (r, r).
#[derive(Clone, Copy)]
struct Pairs {
    rg: __m128i,
    gb: __m128i,
    bb: __m128i,
    rr: __m128i,
}

/// Converts whole groups of eight pixels from `rgb` into the three planes; returns how many
/// pixels it converted (the caller does the rest).
#[target_feature(enable = "sse2")]
pub(super) fn to_ycbcr(rgb: &[u8], luma: &mut [u8], blue: &mut [u8], red: &mut [u8]) -> usize {
    let y_rg = pair(19595, 19235);
    let y_gb = pair(19235, 7471);
    let cb_rg = pair(-11059, -21709);
    let half = pair(16384, 16384);
    let cr_gb = pair(-27439, -5329);
    let groups = rgb
        .chunks_exact(24)
        .zip(luma.chunks_exact_mut(8))
        .zip(blue.chunks_exact_mut(8))
        .zip(red.chunks_exact_mut(8));
    let mut done = 0;
    for (((px, y), cb), cr) in groups {
        let (mut r, mut g, mut b) = ([0i16; 8], [0i16; 8], [0i16; 8]);
        for (i, p) in px.chunks_exact(3).enumerate() {
            (r[i], g[i], b[i]) = (i16::from(p[0]), i16::from(p[1]), i16::from(p[2]));
        }
        let (r, g, b) = (lanes(&r), lanes(&g), lanes(&b));
        let low = Pairs {
            rg: _mm_unpacklo_epi16(r, g),
            gb: _mm_unpacklo_epi16(g, b),
            bb: _mm_unpacklo_epi16(b, b),
            rr: _mm_unpacklo_epi16(r, r),
        };
        let high = Pairs {
            rg: _mm_unpackhi_epi16(r, g),
            gb: _mm_unpackhi_epi16(g, b),
            bb: _mm_unpackhi_epi16(b, b),
            rr: _mm_unpackhi_epi16(r, r),
        };
        let centre = (128 << 16) + 0x7FFF;
        y.copy_from_slice(&finish(
            (_mm_madd_epi16(low.rg, y_rg), _mm_madd_epi16(low.gb, y_gb)),
            (_mm_madd_epi16(high.rg, y_rg), _mm_madd_epi16(high.gb, y_gb)),
            0x7FFF,
        ));
        cb.copy_from_slice(&finish(
            (_mm_madd_epi16(low.rg, cb_rg), _mm_madd_epi16(low.bb, half)),
            (
                _mm_madd_epi16(high.rg, cb_rg),
                _mm_madd_epi16(high.bb, half),
            ),
            centre,
        ));
        cr.copy_from_slice(&finish(
            (_mm_madd_epi16(low.rr, half), _mm_madd_epi16(low.gb, cr_gb)),
            (
                _mm_madd_epi16(high.rr, half),
                _mm_madd_epi16(high.gb, cr_gb),
            ),
            centre,
        ));
        done += 8;
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_encoders_scalar_conversion_for_every_colour_step() {
        // Every (r, g, b) on a grid of 3, the extremes included, eight pixels per call.
        let steps: Vec<u8> = (0..=255).step_by(3).chain([254, 255]).collect();
        let mut rgb = Vec::new();
        for &r in &steps {
            for &g in &steps {
                for &b in &steps {
                    rgb.extend_from_slice(&[r, g, b]);
                }
            }
        }
        let n = rgb.len() / 3 / 8 * 8;
        let (mut y, mut cb, mut cr) = (vec![0; n], vec![0; n], vec![0; n]);
        // SAFETY: SSE2 is part of the x86_64 baseline.
        let done = unsafe { to_ycbcr(&rgb[..n * 3], &mut y, &mut cb, &mut cr) };
        assert_eq!(done, n);
        for (i, p) in rgb[..n * 3].chunks_exact(3).enumerate() {
            let expected = jpeg_encoder::rgb_to_ycbcr(p[0], p[1], p[2]);
            assert_eq!((y[i], cb[i], cr[i]), expected, "rgb {p:?}");
        }
    }
}
