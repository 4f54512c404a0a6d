//! Restart-marked JPEGs decoded in horizontal strips, one thread each. Huffman decoding is
//! serial within a scan, and it is the longest step of the pipeline; but many cameras (this
//! repository's Olympus and iPhone samples among them) write restart markers, after which the
//! entropy coder starts afresh. A strip is then a JPEG of its own: the original header with
//! the frame height changed, the entropy-coded bytes of its restart intervals, and an
//! end-of-image marker. Nothing is copied but the header.
//!
//! A strip starts at a restart interval whose index is a multiple of 8, so the first marker it
//! meets is RST0, as the decoder expects, and it starts at an MCU row. Neighbouring strips
//! overlap by one MCU row on each side of the seam, and those rows are dropped: chroma
//! upsampling near the seam then sees the same neighbours as in one whole decode, and the
//! pixels are the whole decode's, byte for byte (the IDCT works block by block, colour
//! conversion pixel by pixel). Any file this plan does not fit (progressive, several scans,
//! no or misaligned restart intervals, a marker count that does not add up) is decoded whole,
//! as is any strip that fails: error messages come from the whole decode.

use std::thread;

use super::decode::{self, JpegSource};
use super::jpeg_header::JpegHeader;
use super::raster::Raster;

/// Strips below this many MCU rows are not worth a thread.
const MIN_STRIP_MCU_ROWS: usize = 8;
/// Threads a decode may use at most (each decodes on its own thread, decision 0066).
const MAX_STRIPS: usize = 4;

/// Where the parts of a baseline, single-scan, restart-marked JPEG are.
#[derive(Debug)]
struct Layout {
    /// Offset of the frame height in the SOF segment.
    height_at: usize,
    width: usize,
    height: usize,
    mcu_height: usize,
    mcus_per_row: usize,
    mcu_rows: usize,
    restart_interval: usize,
    /// First byte of entropy-coded data.
    scan_start: usize,
    /// Offset of the marker that ends the scan (EOI).
    scan_end: usize,
    /// Offset of every RST marker in the scan, in order.
    restarts: Vec<usize>,
}

/// One strip to decode: its JPEG is `head` then `body` then EOI.
#[derive(Debug)]
struct Strip<'a> {
    head: Vec<u8>,
    body: &'a [u8],
    /// MCU rows of this strip's frame to keep (strip-local).
    keep: (usize, usize),
}

/// Decodes `bytes` in strips on up to `threads` threads, at the scale [`decode::jpeg`] would
/// choose for `target_edge`, if the file is laid out for that; `None` means "decode it whole".
pub(crate) fn decode(
    bytes: &[u8],
    header: &JpegHeader,
    target_edge: u32,
    threads: usize,
) -> Option<Raster> {
    if !matches!(header.components, 1 | 3) {
        return None;
    }
    let layout = layout(bytes)?;
    let strips = plan(bytes, &layout, threads.min(MAX_STRIPS))?;
    // The scale is chosen on the whole frame; a strip asks for the same width.
    let scale = idct_scale(&layout, header, target_edge);
    let width = scaled(layout.width, scale);
    let out_rows_per_mcu = layout.mcu_height * scale / 8;
    let decode_one = |strip: &Strip<'_>| -> Option<Vec<u8>> {
        let source = JpegSource::strip(&strip.head, strip.body, &[0xFF, 0xD9]);
        let raster = decode::jpeg_at_width(source, header, width).ok()?;
        let row_bytes = width * usize::from(raster.channels);
        if raster.width as usize != width {
            return None;
        }
        let from = strip.keep.0 * out_rows_per_mcu * row_bytes;
        let to = (strip.keep.1 * out_rows_per_mcu * row_bytes).min(raster.pixels.len());
        let mut pixels = raster.pixels;
        pixels.truncate(to);
        // In place: a copy of each strip would raise peak memory by the strip's size.
        pixels.drain(..from.min(pixels.len()));
        Some(pixels)
    };
    let parts: Vec<Option<Vec<u8>>> = thread::scope(|scope| {
        let (first, rest) = strips.split_first()?;
        let workers: Vec<_> = rest
            .iter()
            .map(|strip| scope.spawn(|| decode_one(strip)))
            .collect();
        let mut parts = vec![decode_one(first)];
        parts.extend(workers.into_iter().map(|w| w.join().ok().flatten()));
        Some(parts)
    })?;
    let channels = usize::from(header.components);
    let height = scaled(layout.height, scale);
    // The strips join onto the first strip's buffer, not a fresh one the size of the whole.
    let mut parts = parts.into_iter();
    let mut pixels = parts.next().flatten()?;
    for part in parts {
        let part = part?;
        pixels.reserve_exact(part.len());
        pixels.extend_from_slice(&part);
    }
    (pixels.len() == width * height * channels).then_some(Raster {
        width: width as u32,
        height: height as u32,
        channels: header.components,
        pixels,
    })
}

/// jpeg-decoder's IDCT size (out of 8) for the whole frame, as `decode::jpeg` requests it:
/// the smallest whose long edge reaches `target_edge`.
fn idct_scale(layout: &Layout, header: &JpegHeader, target_edge: u32) -> usize {
    let target = target_edge.max(1) as usize;
    let long = if header.width >= header.height {
        layout.width
    } else {
        layout.height
    };
    [1, 2, 4]
        .into_iter()
        .find(|&s| scaled(long, s) >= target)
        .unwrap_or(8)
}

/// A side of `len` pixels at IDCT size `scale`, rounded up as the decoder rounds.
fn scaled(len: usize, scale: usize) -> usize {
    (len * scale).div_ceil(8)
}

/// Reads the segments before the scan and finds every restart marker in it.
fn layout(bytes: &[u8]) -> Option<Layout> {
    let u16_at = |at: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes(
            *bytes.get(at..)?.first_chunk::<2>()?,
        )))
    };
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    let mut frame = None;
    let mut restart_interval = 0;
    let scan_start = loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        let length = u16_at(at + 2)?;
        let segment = bytes.get(at + 4..at + 2 + length)?;
        match marker {
            // Baseline and extended sequential Huffman, 8-bit.
            0xC0 | 0xC1 if frame.is_none() => {
                let (&precision, rest) = segment.split_first()?;
                let (height, width) = (u16_at(at + 5)?, u16_at(at + 7)?);
                let components = usize::from(*rest.get(4)?);
                let sampling: Vec<(usize, usize)> = rest
                    .get(5..5 + 3 * components)?
                    .chunks_exact(3)
                    .map(|c| (usize::from(c[1] >> 4), usize::from(c[1] & 0x0F)))
                    .collect();
                if precision != 8 || width == 0 || height == 0 || sampling.is_empty() {
                    return None;
                }
                frame = Some((at + 5, width, height, sampling));
            }
            // Any other frame type (progressive, lossless, arithmetic) or a second frame.
            0xC2..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xC0 | 0xC1 => return None,
            0xDD => restart_interval = u16_at(at + 4)?,
            0xDA => {
                let scan_components = usize::from(*segment.first()?);
                let (_, _, _, sampling) = frame.as_ref()?;
                if scan_components != sampling.len() {
                    return None; // one scan per component: not one coder to split
                }
                break at + 2 + length;
            }
            0xD0..=0xD9 | 0x01 => return None,
            _ => {}
        }
        at += 2 + length;
    };
    let (height_at, width, height, sampling) = frame?;
    if restart_interval == 0 {
        return None;
    }
    let (mcu_width, mcu_height) = if sampling.len() == 1 {
        (8, 8) // a single-component scan codes one block per MCU, whatever the factors
    } else {
        let h = sampling.iter().map(|s| s.0).max()?;
        let v = sampling.iter().map(|s| s.1).max()?;
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return None;
        }
        (8 * h, 8 * v)
    };
    let mcus_per_row = width.div_ceil(mcu_width);
    let mcu_rows = height.div_ceil(mcu_height);
    let intervals = (mcus_per_row * mcu_rows).div_ceil(restart_interval);
    let (restarts, scan_end) = restart_markers(bytes, scan_start, intervals - 1)?;
    (restarts.len() + 1 == intervals).then_some(Layout {
        height_at,
        width,
        height,
        mcu_height,
        mcus_per_row,
        mcu_rows,
        restart_interval,
        scan_start,
        scan_end,
        restarts,
    })
}

/// Offsets of the RST markers from `start` up to the end-of-image marker, and that marker's
/// offset. `None` when the markers are out of sequence, more than `expected` (a hostile file
/// cannot make the list outgrow what its frame needs), or the scan ends in anything but EOI.
fn restart_markers(bytes: &[u8], start: usize, expected: usize) -> Option<(Vec<usize>, usize)> {
    let mut restarts = Vec::with_capacity(expected.min(bytes.len() / 2));
    let mut at = start;
    loop {
        at += bytes.get(at..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(at + 1)? {
            0x00 => at += 2, // a stuffed 0xFF data byte
            0xFF => at += 1, // fill
            n @ 0xD0..=0xD7 => {
                if usize::from(n - 0xD0) != restarts.len() % 8 || restarts.len() == expected {
                    return None;
                }
                restarts.push(at);
                at += 2;
            }
            0xD9 => return Some((restarts, at)),
            _ => return None,
        }
    }
}

/// Splits the frame into up to `parts` strips at MCU rows where a restart interval with an
/// index divisible by 8 begins; `None` when fewer than two strips fit.
fn plan<'a>(bytes: &'a [u8], layout: &Layout, parts: usize) -> Option<Vec<Strip<'a>>> {
    let Layout {
        mcus_per_row: per_row,
        mcu_rows: rows,
        restart_interval: interval,
        ..
    } = *layout;
    // Does an interval start at MCU row `r`, and which?
    let interval_at = |r: usize| {
        (r * per_row)
            .is_multiple_of(interval)
            .then_some(r * per_row / interval)
    };
    let can_start = |r: usize| interval_at(r).is_some_and(|i| i % 8 == 0);
    let mut starts = vec![0];
    for part in 1..parts {
        let ideal = rows * part / parts;
        let lowest = starts.last()? + MIN_STRIP_MCU_ROWS;
        let best = (lowest..rows.saturating_sub(MIN_STRIP_MCU_ROWS))
            .filter(|&r| can_start(r))
            .min_by_key(|&r| r.abs_diff(ideal));
        if let Some(r) = best {
            starts.push(r);
        }
    }
    if starts.len() < 2 {
        return None;
    }
    // Offset of the entropy-coded data of interval `i`, and the end of interval `i - 1`.
    let begin = |i: usize| -> Option<usize> {
        if i == 0 {
            Some(layout.scan_start)
        } else {
            layout.restarts.get(i - 1).map(|&m| m + 2)
        }
    };
    let end = |i: usize| -> Option<usize> {
        if i > layout.restarts.len() {
            Some(layout.scan_end)
        } else {
            layout.restarts.get(i.checked_sub(1)?).copied()
        }
    };
    let mut strips = Vec::with_capacity(starts.len());
    for (n, &first) in starts.iter().enumerate() {
        // Decode to one MCU row past the next seam (or to the bottom), ending on an interval.
        let (last, keep_end) = match starts.get(n + 1) {
            Some(&next) => {
                let last = (next + 2..rows).find(|&r| interval_at(r).is_some())?;
                (last, next + 1)
            }
            None => (rows, rows),
        };
        let keep_start = if n == 0 { 0 } else { first + 1 };
        let body_start = begin(interval_at(first)?)?;
        let body_end = if last == rows {
            layout.scan_end
        } else {
            end(interval_at(last)?)?
        };
        let frame_height = if last == rows {
            layout.height - first * layout.mcu_height
        } else {
            (last - first) * layout.mcu_height
        };
        let mut head = bytes.get(..layout.scan_start)?.to_vec();
        let height = u16::try_from(frame_height).ok()?.to_be_bytes();
        head.get_mut(layout.height_at..layout.height_at + 2)?
            .copy_from_slice(&height);
        strips.push(Strip {
            head,
            body: bytes.get(body_start..body_end)?,
            keep: (keep_start - first, keep_end - first),
        });
    }
    Some(strips)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::jpeg_header::read_header;

    /// A photo-like JPEG (smooth gradients plus sharp edges, so chroma upsampling matters at
    /// the seams) with restart markers every `interval` MCUs.
    fn jpeg_with_restarts(width: u16, height: u16, interval: u16, gray: bool) -> Vec<u8> {
        let channels = if gray { 1 } else { 3 };
        let mut pixels = Vec::new();
        for y in 0..u32::from(height) {
            for x in 0..u32::from(width) {
                let edge = if (x / 37 + y / 23) % 2 == 0 { 60 } else { 0 };
                for c in 0..channels {
                    pixels.push(((x * 3 + y * (c + 1) + edge) % 256) as u8);
                }
            }
        }
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        encoder.set_restart_interval(interval);
        let colour = if gray {
            jpeg_encoder::ColorType::Luma
        } else {
            jpeg_encoder::ColorType::Rgb
        };
        encoder.encode(&pixels, width, height, colour).unwrap();
        out
    }

    fn whole(bytes: &[u8], target: u32) -> Raster {
        let header = read_header(&mut &bytes[..]).unwrap();
        decode::jpeg(JpegSource::Memory(bytes), &header, target).unwrap()
    }

    #[test]
    fn strips_give_the_whole_decode_byte_for_byte() {
        // Sizes that are not multiples of the MCU, intervals that do and do not divide a row,
        // every IDCT scale, colour and gray, two to four strips.
        for (w, h, interval, gray, target, threads) in [
            (1000, 700, 4, false, 500, 2),
            (1000, 700, 4, false, 1000, 3),
            (999, 701, 63, false, 130, 4),
            (640, 2000, 40, false, 1000, 2),
            (640, 2000, 40, false, 90, 2),
            (800, 600, 100, true, 400, 2),
            (1203, 905, 7, false, 1203, 4),
        ] {
            let bytes = jpeg_with_restarts(w, h, interval, gray);
            let header = read_header(&mut &bytes[..]).unwrap();
            let strips = decode(&bytes, &header, target, threads)
                .unwrap_or_else(|| panic!("{w}x{h} every {interval} was not split"));
            let reference = whole(&bytes, target);
            assert_eq!(
                (strips.width, strips.height, strips.channels),
                (reference.width, reference.height, reference.channels),
                "{w}x{h} every {interval} to {target}"
            );
            assert!(
                strips.pixels == reference.pixels,
                "{w}x{h} every {interval} to {target}: pixels differ"
            );
        }
    }

    #[test]
    fn damaged_files_split_only_into_what_the_whole_decode_gives() {
        // Differential: whenever the strips succeed on a damaged file, the whole decoder must
        // succeed too, with the same pixels; otherwise the file is left to it. Never a panic.
        use rand::{Rng, SeedableRng};
        let marked = jpeg_with_restarts(400, 520, 25, false);
        let header = read_header(&mut &marked[..]).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(19);
        let mut split = 0;
        for _ in 0..300 {
            let mut bytes = marked.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                match rng.random_range(0..3) {
                    0 => bytes[at] ^= 1 << rng.random_range(0..8),
                    1 => bytes[at] = 0xFF,
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            if let Some(strips) = decode(&bytes, &header, 200, 2) {
                split += 1;
                let whole = decode::jpeg(JpegSource::Memory(&bytes), &header, 200)
                    .expect("the strips decoded a file the whole decoder refuses");
                assert!(
                    strips.pixels == whole.pixels,
                    "strips and whole decode differ"
                );
            }
        }
        assert!(
            split > 0,
            "no damaged file was split: the check checked nothing"
        );
    }

    #[test]
    fn files_that_do_not_fit_the_plan_are_left_to_the_whole_decode() {
        let plain = jpeg_with_restarts(600, 600, 0, false);
        let header = read_header(&mut &plain[..]).unwrap();
        assert!(
            decode(&plain, &header, 300, 2).is_none(),
            "no restart markers"
        );

        let marked = jpeg_with_restarts(600, 600, 4, false);
        assert!(decode(&marked, &header, 300, 1).is_none(), "one thread");
        let small = jpeg_with_restarts(64, 64, 1, false);
        let small_header = read_header(&mut &small[..]).unwrap();
        assert!(
            decode(&small, &small_header, 64, 4).is_none(),
            "too few rows"
        );

        // Hostile variants: a restart marker out of sequence, a cut-off scan, a marker count
        // that does not match the frame, a frame height that lies. None may panic; each
        // either falls back (None) or decodes exactly what the whole decoder decodes.
        let rst = marked
            .windows(2)
            .position(|w| w == [0xFF, 0xD3])
            .expect("an RST3");
        let mut swapped = marked.clone();
        swapped[rst + 1] = 0xD5;
        assert!(decode(&swapped, &header, 300, 2).is_none());
        let cut = &marked[..marked.len() / 2];
        assert!(decode(cut, &header, 300, 2).is_none());
        let mut dropped = marked.clone();
        dropped.drain(rst..rst + 2);
        assert!(decode(&dropped, &header, 300, 2).is_none());
        let sof = marked.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        let mut taller = marked.clone();
        taller[sof + 5..sof + 7].copy_from_slice(&1200u16.to_be_bytes());
        assert!(decode(&taller, &header, 300, 2).is_none());
        // More markers than the frame has intervals: refused while scanning.
        let mut shorter = marked.clone();
        shorter[sof + 5..sof + 7].copy_from_slice(&300u16.to_be_bytes());
        assert!(decode(&shorter, &header, 300, 2).is_none());
        for end in (0..marked.len()).step_by(997) {
            let _ = decode(&marked[..end], &header, 300, 2);
        }
    }
}
