//! The in-memory image between decoder and encoder (8-bit gray or RGB, rows packed) and the
//! one resampling step: a separable Lanczos3 convolution written for exactly these two pixel
//! types. A general resizer crate instantiated every pixel type x filter x SIMD variant
//! (2.7 MB of the mobile library, docs/size.md); these loops are plain integer arithmetic,
//! with SSE2 versions on x86_64 (`resample_sse2`: the release build does not vectorise loops,
//! decision 0064).
//!
//! One output row at a time: the source rows under the vertical kernel are combined into one
//! full-width row (contiguous, same weight across the row), then that row is filtered
//! horizontally. The only buffer is one row of pixels, so resampling adds next to nothing to
//! peak memory.

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

/// Fixed-point precision of the kernel weights: 1.0 is `1 << PRECISION`. 14 bits keep a
/// Lanczos3 sum over 8-bit pixels (negative lobes included) far inside an `i32`.
pub(super) const PRECISION: u32 = 14;
pub(super) const ROUND: i32 = 1 << (PRECISION - 1);

fn lanczos3(x: f64) -> f64 {
    const A: f64 = 3.0;
    let x = x.abs();
    if x < 1e-9 {
        return 1.0;
    }
    if x >= A {
        return 0.0;
    }
    let px = std::f64::consts::PI * x;
    A * px.sin() * (px / A).sin() / (px * px)
}

/// Downscale ratio from which an axis is area-averaged instead of Lanczos3-filtered.
const AREA_FROM: f64 = 4.0;

/// The share of source pixel at `x` (in output-pixel units from the centre) inside the output
/// pixel's footprint: 1 inside, partial at the two edge pixels.
fn area_weight(x: f64, filter_scale: f64) -> f64 {
    let half = 0.5 / filter_scale;
    let lo = (x - half).max(-0.5);
    let hi = (x + half).min(0.5);
    ((hi - lo) * filter_scale).max(0.0)
}

/// For every output position along one axis: the first source index and its weights.
struct Kernel {
    starts: Vec<usize>,
    /// `taps` weights per output position (zero-padded where the window was clipped).
    weights: Vec<i16>,
    taps: usize,
    /// The weights re-packed for the x86_64 horizontal pass this CPU runs.
    #[cfg(target_arch = "x86_64")]
    packed: Packed,
}

/// A kernel's weights laid out for one of the x86_64 horizontal passes, chosen once per kernel.
#[cfg(target_arch = "x86_64")]
enum Packed {
    /// In pairs, for [`super::resample_sse2::horizontal_rgb`].
    Sse2(Vec<i32>),
    /// In groups of four, for [`super::resample_avx2::horizontal_rgb`]: only built where
    /// the CPU has AVX2.
    Avx2(Vec<[i32; 8]>),
}

#[cfg(target_arch = "x86_64")]
impl Packed {
    fn for_this_cpu(weights: &[i16], taps: usize) -> Packed {
        if super::resample_avx2::available() {
            Packed::Avx2(super::resample_avx2::quad_weights(weights, taps))
        } else {
            Packed::Sse2(super::resample_sse2::pair_weights(weights, taps))
        }
    }
}

impl Kernel {
    /// The Lanczos3 kernel mapping `src` samples to `dst`, windows clipped at the edges and
    /// renormalised (edge pixels are not darkened), each row of weights summing to exactly 1.0.
    fn new(src: usize, dst: usize) -> Kernel {
        let scale = src as f64 / dst as f64;
        let filter_scale = scale.max(1.0);
        // At 4:1 and more (the thumbnail) an area average is indistinguishable from Lanczos3
        // at the output size and needs a fifth of the taps.
        let area = scale >= AREA_FROM;
        let support = if area {
            0.5 * filter_scale
        } else {
            3.0 * filter_scale
        };
        let taps = (support.ceil() as usize * 2 + 1).min(src.max(1));
        let mut starts = Vec::with_capacity(dst);
        let mut weights = vec![0i16; dst * taps];
        let mut float = vec![0f64; taps];
        for (i, row) in weights.chunks_exact_mut(taps).enumerate() {
            let center = (i as f64 + 0.5) * scale;
            let first = ((center - support).floor().max(0.0) as usize).min(src - 1);
            let last = ((center + support).ceil() as usize).min(src);
            let first = first.min(src.saturating_sub(taps));
            let n = (last - first).min(taps);
            let mut sum = 0.0;
            for (k, w) in float.iter_mut().enumerate() {
                let x = (first as f64 + k as f64 + 0.5 - center) / filter_scale;
                *w = if k >= n {
                    0.0
                } else if area {
                    area_weight(x, filter_scale)
                } else {
                    lanczos3(x)
                };
                sum += *w;
            }
            if sum.abs() < 1e-12 {
                // Cannot happen for a sane kernel; fall back to the nearest sample.
                float.fill(0.0);
                let nearest = ((center as usize).min(src - 1) - first).min(taps - 1);
                float[nearest] = 1.0;
                sum = 1.0;
            }
            let one = f64::from(1u32 << PRECISION);
            let mut total = 0i32;
            let mut biggest = 0;
            for (k, (w, q)) in float.iter().zip(row.iter_mut()).enumerate() {
                *q = (w / sum * one).round() as i16;
                total += i32::from(*q);
                if *w > float[biggest] {
                    biggest = k;
                }
            }
            // Put the rounding residue on the centre tap: flat areas stay exactly flat.
            row[biggest] += ((1i32 << PRECISION) - total) as i16;
            starts.push(first);
        }
        Kernel {
            starts,
            #[cfg(target_arch = "x86_64")]
            packed: Packed::for_this_cpu(&weights, taps),
            weights,
            taps,
        }
    }

    /// Whether this kernel was packed for AVX2 (so the CPU has it).
    fn avx2(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return matches!(self.packed, Packed::Avx2(_));
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    fn at(&self, i: usize) -> (usize, &[i16]) {
        (
            self.starts[i],
            &self.weights[i * self.taps..(i + 1) * self.taps],
        )
    }
}

pub(super) fn clamp_u8(acc: i32) -> u8 {
    ((acc + ROUND) >> PRECISION).clamp(0, 255) as u8
}

/// One output row of the vertical pass: `weights.len()` source rows (starting at `first`)
/// weighted and summed, then rounded into `out`. On x86_64 whole blocks go through AVX2 (32
/// bytes, with `avx2`, which only a kernel packed for AVX2 passes) and SSE2 (16 bytes:
/// [`super::resample_avx2`], [`super::resample_sse2`]); the rest, and every byte elsewhere,
/// through the scalar loop.
fn vertical(src: &[u8], stride: usize, first: usize, weights: &[i16], avx2: bool, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    let done = {
        let wide = if avx2 {
            // SAFETY: `avx2` is only true for a kernel packed on a CPU that has AVX2.
            unsafe { super::resample_avx2::vertical(src, stride, first, weights, out) }
        } else {
            0
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; the function is otherwise safe code.
        wide + unsafe {
            super::resample_sse2::vertical(&src[wide..], stride, first, weights, &mut out[wide..])
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = {
        let _ = avx2;
        0
    };
    vertical_plain(src, stride, first, weights, out, done);
}

/// Columns the plain vertical pass sums at once: one slice per source row and block, so the
/// inner loop is a run of multiply-adds without index arithmetic or bounds checks.
const PLAIN_BLOCK: usize = 16;

/// The vertical pass in plain Rust from byte `from` of `out` on: what targets without SIMD
/// kernels here (arm64, for now) run for the whole row, and x86_64 for the last bytes.
fn vertical_plain(
    src: &[u8],
    stride: usize,
    first: usize,
    weights: &[i16],
    out: &mut [u8],
    from: usize,
) {
    let Some(out) = out.get_mut(from..) else {
        return;
    };
    let tail_from = from + out.len() / PLAIN_BLOCK * PLAIN_BLOCK;
    let mut blocks = out.chunks_exact_mut(PLAIN_BLOCK);
    for (b, block) in blocks.by_ref().enumerate() {
        let x = from + b * PLAIN_BLOCK;
        let mut acc = [0i32; PLAIN_BLOCK];
        for (k, &w) in weights.iter().enumerate() {
            let at = (first + k) * stride + x;
            let w = i32::from(w);
            for (a, &p) in acc.iter_mut().zip(&src[at..at + PLAIN_BLOCK]) {
                *a += w * i32::from(p);
            }
        }
        for (o, a) in block.iter_mut().zip(acc) {
            *o = clamp_u8(a);
        }
    }
    for (i, o) in blocks.into_remainder().iter_mut().enumerate() {
        let x = tail_from + i;
        let mut sum = 0i32;
        for (k, &w) in weights.iter().enumerate() {
            sum += i32::from(w) * i32::from(src[(first + k) * stride + x]);
        }
        *o = clamp_u8(sum);
    }
}

/// The horizontal pass over one row of gray pixels.
fn horizontal_gray(row: &[u8], kernel: &Kernel, out: &mut [u8]) {
    for (x, px) in out.iter_mut().enumerate() {
        let (first, weights) = kernel.at(x);
        let mut acc = 0i32;
        for (&w, &p) in weights.iter().zip(&row[first..]) {
            acc += i32::from(w) * i32::from(p);
        }
        *px = clamp_u8(acc);
    }
}

/// The horizontal pass over one row of RGB pixels; on x86_64 through AVX2 or SSE2
/// ([`super::resample_avx2`], [`super::resample_sse2`]), which need `row` to hold 16 bytes
/// past its last pixel.
fn horizontal_rgb(row: &[u8], kernel: &Kernel, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    let done = match &kernel.packed {
        // SAFETY: SSE2 is part of the x86_64 baseline; the function is otherwise safe code.
        Packed::Sse2(pairs) => unsafe {
            super::resample_sse2::horizontal_rgb(row, &kernel.starts, pairs, out)
        },
        // SAFETY: `Packed::Avx2` is only built where the CPU has AVX2.
        Packed::Avx2(quads) => unsafe {
            super::resample_avx2::horizontal_rgb(row, &kernel.starts, quads, out)
        },
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    horizontal_rgb_plain(row, kernel, out, done);
}

/// The horizontal pass over RGB in plain Rust from output pixel `from` on: the whole row on
/// targets without SIMD kernels here, the pixels the x86_64 kernels leave on x86_64.
fn horizontal_rgb_plain(row: &[u8], kernel: &Kernel, out: &mut [u8], from: usize) {
    for (x, px) in out.chunks_exact_mut(3).enumerate().skip(from) {
        let (first, weights) = kernel.at(x);
        let mut acc = [0i32; 3];
        for (&w, src) in weights.iter().zip(row[first * 3..].chunks_exact(3)) {
            let w = i32::from(w);
            for (a, &p) in acc.iter_mut().zip(src) {
                *a += w * i32::from(p);
            }
        }
        for (o, &a) in px.iter_mut().zip(&acc) {
            *o = clamp_u8(a);
        }
    }
}

/// Output pixels per thread below which another thread costs more than it saves.
const PIXELS_PER_WORKER: usize = 256 * 1024;
/// Threads a resample may use at most (phones have 6-8 cores; a photo needs few).
const MAX_WORKERS: usize = 4;

/// How many threads resample `pixels` output pixels.
fn worker_count(pixels: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores
        .min(MAX_WORKERS)
        .min(pixels / PIXELS_PER_WORKER)
        .max(1)
}

/// Output rows `first_row..` (as many as `band` holds) of a resample: the vertical pass into a
/// line buffer, then the horizontal pass into the band.
fn resample_band(
    src: &[u8],
    stride: usize,
    rows: &Kernel,
    cols: &Kernel,
    channels: usize,
    first_row: usize,
    band: &mut [u8],
) {
    // 16 bytes past the row for the SSE2 `horizontal_rgb`'s eight-byte reads.
    let mut line = vec![0u8; stride + 16];
    let row_bytes = cols.starts.len() * channels;
    for (y, out) in band.chunks_exact_mut(row_bytes).enumerate() {
        let (first, weights) = rows.at(first_row + y);
        vertical(
            src,
            stride,
            first,
            weights,
            rows.avx2(),
            &mut line[..stride],
        );
        match channels {
            1 => horizontal_gray(&line, cols, out),
            _ => horizontal_rgb(&line, cols, out),
        }
    }
}

impl Raster {
    /// A test image whose sample at (x, y, channel) is `f(x, y, channel)`.
    #[cfg(test)]
    pub(crate) fn from_fn(
        width: u32,
        height: u32,
        channels: u8,
        f: impl Fn(u32, u32, u8) -> u8,
    ) -> Raster {
        let mut pixels = Vec::new();
        for y in 0..height {
            for x in 0..width {
                for c in 0..channels {
                    pixels.push(f(x, y, c));
                }
            }
        }
        Raster {
            width,
            height,
            channels,
            pixels,
        }
    }

    /// Resamples to fit within `max_edge` (Lanczos3); returns `self` when it already fits.
    pub fn fit(self, max_edge: u32) -> Result<Raster, PhotoError> {
        let (w, h) = fit_within(self.width, self.height, max_edge);
        if (w, h) == (self.width, self.height) {
            return Ok(self);
        }
        self.resized(w, h)
    }

    /// A resampled copy fitting within `max_edge` (a copy of `self` when it already fits).
    pub fn resized_to_fit(&self, max_edge: u32) -> Result<Raster, PhotoError> {
        let (w, h) = fit_within(self.width, self.height, max_edge);
        if (w, h) == (self.width, self.height) {
            return Ok(self.clone());
        }
        self.resized(w, h)
    }

    /// Resamples to exactly `width` x `height` (Lanczos3, both directions).
    pub fn resized(&self, width: u32, height: u32) -> Result<Raster, PhotoError> {
        let channels = usize::from(self.channels);
        let (sw, sh) = (self.width as usize, self.height as usize);
        let (dw, dh) = (width as usize, height as usize);
        if !matches!(channels, 1 | 3) || sw == 0 || sh == 0 || dw == 0 || dh == 0 {
            return Err(PhotoError::corrupt(format!(
                "resize: {sw}x{sh}x{channels} to {dw}x{dh} is not a valid resample"
            )));
        }
        let stride = sw * channels;
        if self.pixels.len() != stride * sh {
            return Err(PhotoError::corrupt(
                "resize: pixel buffer does not match its size",
            ));
        }
        let rows = Kernel::new(sh, dh);
        let cols = Kernel::new(sw, dw);
        let row_bytes = dw * channels;
        let mut pixels = vec![0u8; row_bytes * dh];
        // Output rows are independent: bands of them run on the cores there are (the last band
        // on this thread). The result is the same whatever the split.
        let band_rows = dh.div_ceil(worker_count(dw * dh));
        let src = &self.pixels;
        let (rows, cols) = (&rows, &cols);
        std::thread::scope(|scope| {
            let mut bands = pixels.chunks_mut(band_rows * row_bytes).enumerate();
            let last = bands.next_back();
            let workers: Vec<_> = bands
                .map(|(b, band)| {
                    scope.spawn(move || {
                        resample_band(src, stride, rows, cols, channels, b * band_rows, band)
                    })
                })
                .collect();
            if let Some((b, band)) = last {
                resample_band(src, stride, rows, cols, channels, b * band_rows, band);
            }
            workers.into_iter().try_for_each(|w| w.join())
        })
        .map_err(|_| PhotoError::corrupt("resize: a worker thread failed"))?;
        Ok(Raster {
            width,
            height,
            channels: self.channels,
            pixels,
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

    fn raster(width: u32, height: u32, channels: u8, f: impl Fn(u32, u32, u8) -> u8) -> Raster {
        Raster::from_fn(width, height, channels, f)
    }

    #[test]
    fn flat_colour_stays_exactly_flat_at_any_ratio() {
        for (sw, sh, dw, dh) in [
            (4032, 7, 1600, 3),
            (37, 41, 5, 9),
            (10, 10, 23, 17),
            (3, 1, 1, 1),
        ] {
            let img = raster(sw, sh, 3, |_, _, c| [200, 17, 96][usize::from(c)]);
            let out = img.resized(dw, dh).unwrap();
            assert_eq!((out.width, out.height), (dw, dh));
            assert!(
                out.pixels.chunks(3).all(|p| p == [200, 17, 96]),
                "{sw}x{sh} -> {dw}x{dh}"
            );
        }
    }

    #[test]
    fn downscaling_averages_fine_detail_and_keeps_edges_in_place() {
        // A 1-pixel checkerboard halved is mid-gray, not aliased stripes.
        let img = raster(64, 64, 1, |x, y, _| if (x + y) % 2 == 0 { 0 } else { 255 });
        let out = img.resized(32, 32).unwrap();
        assert!(
            out.pixels.iter().all(|&p| (120..=135).contains(&p)),
            "{:?}",
            &out.pixels[..8]
        );

        // Left half black, right half white: after 4x the edge is still in the middle.
        let img = raster(400, 40, 3, |x, _, _| if x < 200 { 0 } else { 255 });
        let out = img.resized(100, 10).unwrap();
        let row: Vec<u8> = out.pixels[..300].chunks(3).map(|p| p[0]).collect();
        assert!(row[..45].iter().all(|&p| p < 5), "{row:?}");
        assert!(row[55..].iter().all(|&p| p > 250), "{row:?}");
        assert!(row[49] < 128 && row[50] > 128, "{row:?}");
    }

    #[test]
    fn bands_on_several_threads_give_the_one_thread_result() {
        let src = raster(3000, 2000, 3, |x, y, c| {
            ((x * 7 + y * 13 + u32::from(c) * 31) % 251) as u8
        });
        let (rows, cols) = (Kernel::new(2000, 1067), Kernel::new(3000, 1600));
        let row_bytes = 1600 * 3;
        let mut whole = vec![0u8; row_bytes * 1067];
        resample_band(&src.pixels, 3000 * 3, &rows, &cols, 3, 0, &mut whole);
        // An uneven split into two bands, whatever this machine's core count.
        let mut split = vec![0u8; row_bytes * 1067];
        let (top, bottom) = split.split_at_mut(row_bytes * 400);
        resample_band(&src.pixels, 3000 * 3, &rows, &cols, 3, 0, top);
        resample_band(&src.pixels, 3000 * 3, &rows, &cols, 3, 400, bottom);
        assert!(split == whole, "a band split changed pixels");
        // And the split `resized` chose on this machine.
        assert!(src.resized(1600, 1067).unwrap().pixels == whole);
        assert_eq!(worker_count(10), 1, "a thumbnail stays on one thread");
    }

    /// The resample written out naively from the kernels: every sum in full, no blocks,
    /// no SIMD. What the fast paths must reproduce byte for byte.
    fn naive(src: &Raster, dw: usize, dh: usize) -> Vec<u8> {
        let c = usize::from(src.channels);
        let (sw, sh) = (src.width as usize, src.height as usize);
        let (rows, cols) = (Kernel::new(sh, dh), Kernel::new(sw, dw));
        let mut line = vec![0u8; sw * c];
        let mut out = Vec::new();
        for y in 0..dh {
            let (first, weights) = rows.at(y);
            for (i, o) in line.iter_mut().enumerate() {
                let sum: i32 = weights
                    .iter()
                    .enumerate()
                    .map(|(k, &w)| i32::from(w) * i32::from(src.pixels[(first + k) * sw * c + i]))
                    .sum();
                *o = clamp_u8(sum);
            }
            for x in 0..dw {
                let (first, weights) = cols.at(x);
                for ch in 0..c {
                    let sum: i32 = weights
                        .iter()
                        .enumerate()
                        .map(|(k, &w)| i32::from(w) * i32::from(line[(first + k) * c + ch]))
                        .sum();
                    out.push(clamp_u8(sum));
                }
            }
        }
        out
    }

    #[test]
    fn fast_paths_match_the_naive_sums_byte_for_byte() {
        // Odd and even tap counts, widths that are not a multiple of 16, extreme values
        // (the negative lobes overshoot and must clamp), both pixel types.
        let noisy = |x: u32, y: u32, c: u8| {
            let v = (x.wrapping_mul(73) ^ y.wrapping_mul(151) ^ (u32::from(c) * 29)) % 7;
            [0, 255, 0, 255, 128, 3, 250][v as usize]
        };
        for (sw, sh, dw, dh, c) in [
            (2016, 1512, 1600, 1200, 3),
            (1600, 1200, 320, 240, 3),
            (37, 41, 5, 9, 3),
            (101, 67, 64, 31, 3),
            (33, 17, 16, 16, 1),
            (1000, 10, 999, 7, 1),
            (5, 300, 2, 7, 3),
        ] {
            let src = raster(sw, sh, c, noisy);
            let fast = src.resized(dw, dh).unwrap();
            assert!(
                fast.pixels == naive(&src, dw as usize, dh as usize),
                "{sw}x{sh}x{c} -> {dw}x{dh}"
            );
        }
    }

    /// The vertical pass gives the scalar sums with and without AVX2 (where the CPU has it),
    /// for rows whose length leaves remainders after 32- and 16-byte blocks.
    #[test]
    fn vertical_pass_matches_the_scalar_sums_with_and_without_avx2() {
        for (src_rows, dst_rows, stride) in [(1512, 1200, 6048), (1224, 1200, 4899), (40, 8, 47)] {
            let kernel = Kernel::new(src_rows, dst_rows);
            let src: Vec<u8> = (0..src_rows * stride)
                .map(|i| [0u8, 255, 3, 250, 128, 255, 0][(i * 11 + i / stride) % 7])
                .collect();
            for y in [0, dst_rows / 2, dst_rows - 1] {
                let (first, weights) = kernel.at(y);
                let expected: Vec<u8> = (0..stride)
                    .map(|x| {
                        clamp_u8(weights.iter().enumerate().fold(0, |sum, (k, &w)| {
                            sum + i32::from(w) * i32::from(src[(first + k) * stride + x])
                        }))
                    })
                    .collect();
                for avx2 in [false, kernel.avx2()] {
                    let mut out = vec![0u8; stride];
                    vertical(&src, stride, first, weights, avx2, &mut out);
                    assert!(
                        out == expected,
                        "avx2 {avx2}, {src_rows} -> {dst_rows}, row {y}"
                    );
                }
                // The plain loop alone (what arm64 runs), from the start and from an offset.
                for from in [0, 5] {
                    let mut out = expected.clone();
                    out[from..].fill(0);
                    vertical_plain(&src, stride, first, weights, &mut out, from);
                    assert!(
                        out == expected,
                        "plain from {from}, {src_rows} -> {dst_rows}"
                    );
                }
            }
        }
    }

    /// Whatever this CPU picks, both x86_64 horizontal passes give the scalar loop's bytes.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn both_x86_horizontal_passes_match_the_scalar_loop() {
        let noisy = |i: usize| [0u8, 255, 7, 255, 128, 0, 250, 1, 255][(i * 7 + i / 5) % 9];
        for (src, dst) in [
            (2016, 1600),
            (1632, 1600),
            (2304, 1600),
            (1600, 320),
            (37, 5),
            (9, 8),
        ] {
            let kernel = Kernel::new(src, dst);
            let mut row: Vec<u8> = (0..src * 3).map(noisy).collect();
            let mut expected = vec![0u8; dst * 3];
            for (x, px) in expected.chunks_exact_mut(3).enumerate() {
                let (first, weights) = kernel.at(x);
                for (c, o) in px.iter_mut().enumerate() {
                    let sum: i32 = weights
                        .iter()
                        .enumerate()
                        .map(|(k, &w)| i32::from(w) * i32::from(row[(first + k) * 3 + c]))
                        .sum();
                    *o = clamp_u8(sum);
                }
            }
            row.extend([0xAB; 16]); // the padding the passes may read, never use
            let mut plain = vec![0u8; dst * 3];
            horizontal_rgb_plain(&row, &kernel, &mut plain, 0);
            assert_eq!(plain, expected, "plain, {src} -> {dst}");
            let pairs = super::super::resample_sse2::pair_weights(&kernel.weights, kernel.taps);
            let mut sse2 = vec![0u8; dst * 3];
            // SAFETY: SSE2 is part of the x86_64 baseline.
            let done = unsafe {
                super::super::resample_sse2::horizontal_rgb(&row, &kernel.starts, &pairs, &mut sse2)
            };
            assert_eq!((done, &sse2), (dst, &expected), "SSE2, {src} -> {dst}");
            if super::super::resample_avx2::available() {
                let quads = super::super::resample_avx2::quad_weights(&kernel.weights, kernel.taps);
                let mut avx2 = vec![0u8; dst * 3];
                // SAFETY: checked just above that this CPU has AVX2.
                let done = unsafe {
                    super::super::resample_avx2::horizontal_rgb(
                        &row,
                        &kernel.starts,
                        &quads,
                        &mut avx2,
                    )
                };
                assert_eq!((done, &avx2), (dst, &expected), "AVX2, {src} -> {dst}");
            }
        }
    }

    #[test]
    fn refuses_a_buffer_that_does_not_match_its_size() {
        let img = Raster {
            width: 10,
            height: 10,
            channels: 3,
            pixels: vec![0; 299],
        };
        assert!(img.resized(5, 5).is_err());
    }
}
