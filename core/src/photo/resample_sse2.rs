//! The two resampling loops of [`super::raster`] written with SSE2 intrinsics (the x86_64
//! baseline: every x86_64 CPU has it, so no run-time check; the functions carry the
//! `target_feature` attribute only because the intrinsics require it). The release build cannot rely on the compiler for this:
//! with fat LTO, loop vectorisation runs once, at link time, at the final artifact's
//! opt-level, and the mobile library is built at "s", where it is off. The plain loops came
//! out scalar whatever this crate's own opt-level said (docs/decisions/0064).
//!
//! Both use `pmaddwd`: two taps' pixels interleaved as 16-bit lanes, times the two taps'
//! weights, summed into 32-bit lanes. The arithmetic is the scalar loops' exactly (same
//! products, same sums, same rounding and clamping), so the output is byte-identical.

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_cvtsi64_si128, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_madd_epi16,
    _mm_packs_epi32, _mm_packus_epi16, _mm_set1_epi32, _mm_setzero_si128, _mm_srai_epi32,
    _mm_srli_si128, _mm_storeu_si128, _mm_unpackhi_epi8, _mm_unpacklo_epi8,
};

use super::raster::{PRECISION, ROUND};

/// Sixteen bytes at `at`, or `None` past the end.
#[inline]
#[target_feature(enable = "sse2")]
fn load16(bytes: &[u8], at: usize) -> Option<__m128i> {
    let chunk = bytes.get(at..)?.first_chunk::<16>()?;
    // SAFETY: `chunk` is 16 readable bytes; `loadu` has no alignment requirement.
    Some(unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) })
}

/// One or two taps' weights as one `pmaddwd` lane pairs them: the first in the low half, a
/// missing second weighing zero.
pub(super) fn pack_taps(w: &[i16]) -> i32 {
    let first = w.first().copied().unwrap_or(0);
    let second = w.get(1).copied().unwrap_or(0);
    ((u32::from(second as u16) << 16) | u32::from(first as u16)) as i32
}

/// For pair `pair` of the vertical kernel's taps (`w`: its one or two weights) at column `x`:
/// where the two source rows' bytes start, and the weights packed. An odd last tap pairs
/// with its own row at weight zero.
pub(super) fn tap_pair(
    first: usize,
    stride: usize,
    x: usize,
    pair: usize,
    w: &[i16],
) -> (usize, usize, i32) {
    let row_a = (first + pair * 2) * stride + x;
    let row_b = if w.len() == 2 { row_a + stride } else { row_a };
    (row_a, row_b, pack_taps(w))
}

/// Four 32-bit sums rounded, shifted and clamped like `clamp_u8`, as `packus` lays them out.
#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn round(acc: __m128i) -> __m128i {
    _mm_srai_epi32::<{ PRECISION as i32 }>(_mm_add_epi32(acc, _mm_set1_epi32(ROUND)))
}

/// One output row of the vertical pass: `weights.len()` source rows from `first`, summed per
/// byte into `out`. Returns how many leading bytes of `out` it wrote (whole blocks of 16);
/// the caller finishes the rest.
#[target_feature(enable = "sse2")]
pub(super) fn vertical(
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i16],
    out: &mut [u8],
) -> usize {
    let zero = _mm_setzero_si128();
    let mut done = 0;
    'blocks: for (b, block) in out.chunks_exact_mut(16).enumerate() {
        let x = b * 16;
        let mut acc = [zero; 4];
        for (pair, w) in weights.chunks(2).enumerate() {
            let (row_a, row_b, ws) = tap_pair(first, stride, x, pair, w);
            let (Some(a), Some(b)) = (load16(src, row_a), load16(src, row_b)) else {
                break 'blocks;
            };
            let ws = _mm_set1_epi32(ws);
            let lo = _mm_unpacklo_epi8(a, b);
            let hi = _mm_unpackhi_epi8(a, b);
            let lanes = [
                _mm_unpacklo_epi8(lo, zero),
                _mm_unpackhi_epi8(lo, zero),
                _mm_unpacklo_epi8(hi, zero),
                _mm_unpackhi_epi8(hi, zero),
            ];
            for (sum, lane) in acc.iter_mut().zip(lanes) {
                *sum = _mm_add_epi32(*sum, _mm_madd_epi16(lane, ws));
            }
        }
        let low = _mm_packs_epi32(round(acc[0]), round(acc[1]));
        let high = _mm_packs_epi32(round(acc[2]), round(acc[3]));
        let bytes = _mm_packus_epi16(low, high);
        // SAFETY: `block` is 16 writable bytes; `storeu` has no alignment requirement.
        unsafe { _mm_storeu_si128(block.as_mut_ptr().cast(), bytes) };
        done = x + 16;
    }
    done
}

/// Eight bytes at `at` in the low half, or `None` past the end.
#[inline]
#[target_feature(enable = "sse2")]
fn load8(bytes: &[u8], at: usize) -> Option<__m128i> {
    let chunk = bytes.get(at..)?.first_chunk::<8>()?;
    Some(_mm_cvtsi64_si128(i64::from_le_bytes(*chunk)))
}

/// A kernel's weights as `pmaddwd` pairs them: for every output position, `taps.div_ceil(2)`
/// pairs (the first tap in the low half; an odd last tap paired with zero).
pub(super) fn pair_weights(weights: &[i16], taps: usize) -> Vec<i32> {
    weights
        .chunks_exact(taps.max(1))
        .flat_map(|position| position.chunks(2).map(pack_taps))
        .collect()
}

/// One output row of the horizontal pass over RGB. Per output pixel and pair of taps, one
/// eight-byte load holds both pixels (`R0 G0 B0 R1 G1 B1 ..`); shifted by one pixel and
/// interleaved with itself it gives `R0 R1 G0 G1 B0 B1 ..`, and one `pmaddwd` with the pair's
/// weights sums R, G and B (a fourth lane is never stored). `row` must hold 16 bytes past its
/// last pixel. Returns how many output pixels it wrote.
#[target_feature(enable = "sse2")]
pub(super) fn horizontal_rgb(row: &[u8], starts: &[usize], pairs: &[i32], out: &mut [u8]) -> usize {
    let zero = _mm_setzero_si128();
    let per_pixel = pairs.len() / starts.len().max(1);
    let pixels = out
        .chunks_exact_mut(3)
        .zip(starts)
        .zip(pairs.chunks_exact(per_pixel.max(1)));
    for (x, ((px, &first), weights)) in pixels.enumerate() {
        let Some(window) = row.get(first * 3..) else {
            return x;
        };
        let mut acc = zero;
        for (pair, &w) in weights.iter().enumerate() {
            let Some(a) = load8(window, pair * 6) else {
                return x;
            };
            let both = _mm_unpacklo_epi8(a, _mm_srli_si128::<3>(a));
            let lane = _mm_unpacklo_epi8(both, zero);
            acc = _mm_add_epi32(acc, _mm_madd_epi16(lane, _mm_set1_epi32(w)));
        }
        let bytes = _mm_packus_epi16(_mm_packs_epi32(round(acc), zero), zero);
        let [r, g, b, _] = _mm_cvtsi128_si32(bytes).to_le_bytes();
        px.copy_from_slice(&[r, g, b]);
    }
    out.len() / 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::raster::clamp_u8;

    #[test]
    fn rounding_and_clamping_match_the_scalar_loop_at_the_edges() {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { check_rounding() }
    }

    #[target_feature(enable = "sse2")]
    fn check_rounding() {
        for acc in [
            -(1 << 22),
            -ROUND - 1,
            -ROUND,
            -1,
            0,
            ROUND - 1,
            ROUND,
            255 << PRECISION,
            (255 << PRECISION) + ROUND,
            (256 << PRECISION) - 1,
            1 << 24,
        ] {
            let bytes = _mm_packus_epi16(
                _mm_packs_epi32(round(_mm_set1_epi32(acc)), _mm_setzero_si128()),
                _mm_setzero_si128(),
            );
            let got = _mm_cvtsi128_si32(bytes).to_le_bytes()[0];
            assert_eq!(got, clamp_u8(acc), "sum {acc}");
        }
    }
}
