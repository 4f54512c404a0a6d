//! The two resampling loops of [`super::raster`] with AVX2, on CPUs that have it (detected at
//! run time; the others use [`super::resample_sse2`]).
//!
//! The vertical pass is the SSE2 one on 32 bytes at a time. In the horizontal pass over RGB
//! SSE2 has no byte shuffle, so there each pair of taps costs a chain of word shuffles; here
//! one `vpshufb` does the work of four taps. Per output pixel and group of four taps: one 16-byte load holds the four pixels (12 bytes),
//! copied into both 128-bit halves; `vpshufb` spreads taps 0-1 over the low half and taps 2-3
//! over the high half as 16-bit `R0 R1 G0 G1 B0 B1 0 0`; one `vpmaddwd` with the four weights
//! sums each channel's pair into a 32-bit lane, and the halves are added at the end. The
//! arithmetic is the scalar loop's (same products, integer sums), so the bytes are identical.

use std::arch::x86_64::{
    __m256i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_packs_epi32, _mm_packus_epi16,
    _mm_setzero_si128, _mm256_add_epi32, _mm256_broadcastsi128_si256, _mm256_castsi256_si128,
    _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_packs_epi32,
    _mm256_packus_epi16, _mm256_set1_epi32, _mm256_setr_epi8, _mm256_setzero_si256,
    _mm256_shuffle_epi8, _mm256_srai_epi32, _mm256_storeu_si256, _mm256_unpackhi_epi8,
    _mm256_unpacklo_epi8,
};

use super::raster::{PRECISION, ROUND};
use super::resample_sse2::{pack_taps, round, tap_pair};

/// Whether this CPU runs [`horizontal_rgb`].
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// 32 bytes at `at`, or `None` past the end.
#[inline]
#[target_feature(enable = "avx2")]
fn load32(bytes: &[u8], at: usize) -> Option<__m256i> {
    let chunk = bytes.get(at..)?.first_chunk::<32>()?;
    // SAFETY: `chunk` is 32 readable bytes; `loadu` has no alignment requirement.
    Some(unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) })
}

/// Eight 32-bit sums rounded and shifted like `clamp_u8` (the packs clamp).
#[inline]
#[target_feature(enable = "avx2")]
fn round8(acc: __m256i) -> __m256i {
    _mm256_srai_epi32::<{ PRECISION as i32 }>(_mm256_add_epi32(acc, _mm256_set1_epi32(ROUND)))
}

/// One output row of the vertical pass, as [`super::resample_sse2::vertical`] but 32 bytes
/// at a time. The unpacks and packs work within each 128-bit half, so their reorderings
/// cancel and the bytes come out in place. Returns how many leading bytes of `out` it wrote.
#[target_feature(enable = "avx2")]
pub(super) fn vertical(
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i16],
    out: &mut [u8],
) -> usize {
    let zero = _mm256_setzero_si256();
    let mut done = 0;
    'blocks: for (b, block) in out.chunks_exact_mut(32).enumerate() {
        let x = b * 32;
        let mut acc = [zero; 4];
        for (pair, w) in weights.chunks(2).enumerate() {
            let (row_a, row_b, ws) = tap_pair(first, stride, x, pair, w);
            let (Some(a), Some(b)) = (load32(src, row_a), load32(src, row_b)) else {
                break 'blocks;
            };
            let ws = _mm256_set1_epi32(ws);
            let lo = _mm256_unpacklo_epi8(a, b);
            let hi = _mm256_unpackhi_epi8(a, b);
            let lanes = [
                _mm256_unpacklo_epi8(lo, zero),
                _mm256_unpackhi_epi8(lo, zero),
                _mm256_unpacklo_epi8(hi, zero),
                _mm256_unpackhi_epi8(hi, zero),
            ];
            for (sum, lane) in acc.iter_mut().zip(lanes) {
                *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(lane, ws));
            }
        }
        let low = _mm256_packs_epi32(round8(acc[0]), round8(acc[1]));
        let high = _mm256_packs_epi32(round8(acc[2]), round8(acc[3]));
        let bytes = _mm256_packus_epi16(low, high);
        // SAFETY: `block` is 32 writable bytes; `storeu` has no alignment requirement.
        unsafe { _mm256_storeu_si256(block.as_mut_ptr().cast(), bytes) };
        done = x + 32;
    }
    done
}

/// A kernel's weights as [`horizontal_rgb`] reads them: for every output position,
/// `taps.div_ceil(4)` groups, each the pair of taps 0-1 four times, then the pair 2-3 four
/// times (the first tap of a pair in the low half; missing taps weigh zero).
pub(super) fn quad_weights(weights: &[i16], taps: usize) -> Vec<[i32; 8]> {
    weights
        .chunks_exact(taps.max(1))
        .flat_map(|position| {
            position.chunks(4).map(|quad| {
                let (taps_01, taps_23) = quad.split_at(quad.len().min(2));
                let (low, high) = (pack_taps(taps_01), pack_taps(taps_23));
                [low, low, low, low, high, high, high, high]
            })
        })
        .collect()
}

/// One output row of the horizontal pass over RGB. `row` must hold 16 bytes past its last
/// pixel (the last group's load reaches up to 13 bytes beyond it). Returns how many output
/// pixels it wrote.
#[target_feature(enable = "avx2")]
pub(super) fn horizontal_rgb(
    row: &[u8],
    starts: &[usize],
    quads: &[[i32; 8]],
    out: &mut [u8],
) -> usize {
    const Z: i8 = -128; // a `vpshufb` index with the top bit set writes zero
    #[rustfmt::skip]
    let spread = _mm256_setr_epi8(
        0, Z, 3, Z, 1, Z, 4, Z, 2, Z, 5, Z, Z, Z, Z, Z,
        6, Z, 9, Z, 7, Z, 10, Z, 8, Z, 11, Z, Z, Z, Z, Z,
    );
    let per_pixel = quads.len() / starts.len().max(1);
    let pixels = out
        .chunks_exact_mut(3)
        .zip(starts)
        .zip(quads.chunks_exact(per_pixel.max(1)));
    for (x, ((px, &first), weights)) in pixels.enumerate() {
        let Some(window) = row.get(first * 3..) else {
            return x;
        };
        let mut acc = _mm256_setzero_si256();
        for (group, w) in weights.iter().enumerate() {
            let Some(chunk) = window.get(group * 12..).and_then(|b| b.first_chunk::<16>()) else {
                return x;
            };
            // SAFETY: `chunk` is 16 readable bytes and `w` 32; both loads are unaligned ones.
            let (four, w) = unsafe {
                (
                    _mm_loadu_si128(chunk.as_ptr().cast()),
                    _mm256_loadu_si256(w.as_ptr().cast()),
                )
            };
            let lanes = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(four), spread);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(lanes, w));
        }
        let sum = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let zero = _mm_setzero_si128();
        let bytes = _mm_packus_epi16(_mm_packs_epi32(round(sum), zero), zero);
        let [r, g, b, _] = _mm_cvtsi128_si32(bytes).to_le_bytes();
        px.copy_from_slice(&[r, g, b]);
    }
    out.len() / 3
}
