//! Decoding straight to a reduced size. A 1600 px result never needs a 48 MP buffer:
//! JPEG is decoded with DCT scaling (the IDCT runs at 1/2, 1/4 or 1/8 size, so the full-size
//! pixels never exist), and PNG rows are streamed through an integer box filter. Both stop at
//! the smallest reduction whose long edge is still at least the target, and Lanczos3 does the
//! rest. CMYK/YCCK and alpha are flattened to RGB here, so everything after sees gray or RGB.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::panic::{AssertUnwindSafe, catch_unwind};

use jpeg_decoder::{ColorTransform, PixelFormat};
use png::{BitDepth, ColorType, Transformations};

use super::jpeg_header::JpegHeader;
use super::limits::{check_buffer, check_pixels};
use super::raster::Raster;
use super::{PhotoError, PhotoOptions};

/// Where a JPEG's bytes come from: memory for typical photos, a buffered file for very large
/// ones. One concrete type rather than a generic reader: `jpeg_decoder::Decoder<R>` is ~100 KB
/// of machine code per reader type in the mobile library (docs/size.md), and the match per
/// read is one well-predicted branch.
pub(crate) enum JpegSource<'a> {
    /// The whole file in memory.
    Memory(&'a [u8]),
    /// A file read through a buffer.
    File(BufReader<File>),
    /// A JPEG assembled from parts without copying them: one strip of a restart-marked
    /// photo (`jpeg_strips`).
    Strip(Parts<'a>),
}

impl<'a> JpegSource<'a> {
    /// A strip: its header segments, entropy-coded data and end-of-image marker, read in turn.
    pub(crate) fn strip(head: &'a [u8], body: &'a [u8], tail: &'a [u8]) -> JpegSource<'a> {
        JpegSource::Strip(Parts {
            current: head,
            queued: [body, tail],
        })
    }
}

/// Consecutive slices read as one. The decoder pulls its entropy-coded data a byte at a
/// time, so the common case (the bytes asked for are all in the current slice) is a slice
/// read; only the step to the next slice goes the long way.
pub(crate) struct Parts<'a> {
    current: &'a [u8],
    /// The slices after `current`, in order; an emptied one stays as `&[]`.
    queued: [&'a [u8]; 2],
}

impl Parts<'_> {
    /// Moves on to the next slice that has bytes left; false when all are read.
    fn next_part(&mut self) -> bool {
        while self.current.is_empty() {
            match self.queued.iter_mut().find(|part| !part.is_empty()) {
                Some(part) => self.current = std::mem::take(part),
                None => return false,
            }
        }
        true
    }
}

impl Read for Parts<'_> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.current.is_empty() && !self.next_part() {
            return Ok(0);
        }
        self.current.read(buf)
    }

    #[inline]
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if let Some((bytes, rest)) = self.current.split_at_checked(buf.len()) {
            buf.copy_from_slice(bytes);
            self.current = rest;
            return Ok(());
        }
        let mut rest = buf;
        while !rest.is_empty() {
            match self.read(rest)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => rest = &mut rest[n..],
            }
        }
        Ok(())
    }
}

impl Read for JpegSource<'_> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Memory(bytes) => bytes.read(buf),
            Self::File(file) => file.read(buf),
            Self::Strip(parts) => parts.read(buf),
        }
    }

    #[inline]
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Self::Memory(bytes) => bytes.read_exact(buf),
            Self::File(file) => file.read_exact(buf),
            Self::Strip(parts) => parts.read_exact(buf),
        }
    }
}

/// Decodes a JPEG whose header was already read and checked, at the largest DCT reduction
/// that keeps the long edge at or above `target_edge`.
pub(crate) fn jpeg(
    reader: JpegSource<'_>,
    header: &JpegHeader,
    target_edge: u32,
) -> Result<Raster, PhotoError> {
    // Ask for the target on the long axis only; u16::MAX on the other never wins.
    let edge = u16::try_from(target_edge.max(1)).unwrap_or(u16::MAX);
    let request = if header.width >= header.height {
        (edge, u16::MAX)
    } else {
        (u16::MAX, edge)
    };
    jpeg_scaled(reader, header, request)
}

/// Decodes a JPEG at the largest DCT reduction that keeps its width at or above `width`: a
/// strip of a photo, which must come out at the whole photo's scale whatever its height.
pub(crate) fn jpeg_at_width(
    reader: JpegSource<'_>,
    header: &JpegHeader,
    width: usize,
) -> Result<Raster, PhotoError> {
    let width = u16::try_from(width.max(1)).unwrap_or(u16::MAX);
    jpeg_scaled(reader, header, (width, u16::MAX))
}

/// Decodes at the smallest DCT scale whose width or height reaches `request`'s.
fn jpeg_scaled(
    reader: JpegSource<'_>,
    header: &JpegHeader,
    request: (u16, u16),
) -> Result<Raster, PhotoError> {
    let mut decoder = jpeg_decoder::Decoder::new(reader);
    // IDCT and colour conversion on this thread, not one worker thread per component fed
    // through an unbounded queue (the patch in vendor/jpeg-decoder, decision 0066): with DCT
    // scaling they are a small share, strips already decode one per thread, and the queue
    // grows without bound when the workers fall behind.
    decoder.set_single_threaded(true);
    // Without an Adobe segment, 4-channel data is plain (non-inverted) CMYK.
    let plain_cmyk = header.components == 4 && header.adobe_transform.is_none();
    if plain_cmyk {
        decoder.set_color_transform(ColorTransform::CMYK);
    }
    // jpeg-decoder is fuzzed, but this is hostile input: a panic in it becomes `Corrupt`.
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        decoder.scale(request.0, request.1)?;
        let pixels = decoder.decode()?;
        Ok::<_, jpeg_decoder::Error>((pixels, decoder.info()))
    }))
    .map_err(|_| PhotoError::corrupt("the JPEG decoder gave up on this file"))?;
    let (pixels, info) = decoded.map_err(jpeg_error)?;
    let info = info.ok_or_else(|| PhotoError::corrupt("no JPEG frame"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let expected = width as usize * height as usize * info.pixel_format.pixel_bytes();
    if pixels.len() < expected {
        return Err(PhotoError::corrupt("the decoder returned too few pixels"));
    }
    let (channels, pixels) = match info.pixel_format {
        PixelFormat::L8 => (1, pixels),
        PixelFormat::RGB24 => (3, pixels),
        PixelFormat::CMYK32 => (3, cmyk_to_rgb(&pixels, plain_cmyk)),
        PixelFormat::L16 => return Err(PhotoError::unsupported("16-bit JPEG")),
    };
    Ok(Raster {
        width,
        height,
        channels,
        pixels,
    })
}

/// jpeg-decoder hands CMYK back as ink amounts for Adobe files (which store it inverted);
/// plain CMYK comes back inverted. Ink to RGB is the naive complement: print profiles are not
/// applied (see docs/photo.md).
fn cmyk_to_rgb(cmyk: &[u8], inverted: bool) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let ink = |v: u8| if inverted { 255 - v } else { v };
        let white = 255 - u32::from(ink(px[3]));
        for &c in &px[..3] {
            rgb.push(((255 - u32::from(ink(c))) * white / 255) as u8);
        }
    }
    rgb
}

fn jpeg_error(e: jpeg_decoder::Error) -> PhotoError {
    match e {
        jpeg_decoder::Error::Format(detail) => PhotoError::corrupt(detail),
        jpeg_decoder::Error::Unsupported(feature) => {
            PhotoError::unsupported(format!("JPEG variant ({feature:?})"))
        }
        jpeg_decoder::Error::Io(e) => io_error(e),
        jpeg_decoder::Error::Internal(e) => PhotoError::corrupt(e.to_string()),
    }
}

pub(crate) fn io_error(e: io::Error) -> PhotoError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        PhotoError::truncated("the file ends inside the image data")
    } else {
        PhotoError::Io(e)
    }
}

/// What a PNG or WebP carries besides pixels.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    /// The EXIF block (TIFF structure: PNG's `eXIf`, WebP's `EXIF` chunk), for orientation,
    /// capture time and GPS.
    pub exif: Option<Vec<u8>>,
    /// The ICC profile (PNG's `iCCP` decompressed, WebP's `ICCP`).
    pub icc: Option<Vec<u8>>,
}

/// Decodes a PNG row by row, compositing alpha on white and box-reducing by the largest
/// integer factor that keeps the long edge at or above `target_edge`.
pub(crate) fn png<R: BufRead + Seek>(
    reader: R,
    target_edge: u32,
    opts: &PhotoOptions,
) -> Result<(Raster, Extras), PhotoError> {
    let limit = usize::try_from(opts.max_decode_bytes).unwrap_or(usize::MAX);
    let mut decoder = png::Decoder::new_with_limits(reader, png::Limits { bytes: limit });
    decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
    let (width, height, interlaced) = {
        let info = decoder.read_header_info().map_err(png_error)?;
        (info.width, info.height, info.interlaced)
    };
    check_pixels(width, height, opts.max_pixels)?;
    if interlaced {
        // Adam7 rows arrive pass by pass, so the whole frame is buffered.
        check_buffer(width, height, 4, opts.max_decode_bytes)?;
    }
    let mut reader = catch_unwind(AssertUnwindSafe(|| decoder.read_info()))
        .map_err(|_| PhotoError::corrupt("the PNG decoder gave up on this file"))?
        .map_err(png_error)?;
    let (color, depth) = reader.output_color_type();
    if depth != BitDepth::Eight {
        return Err(PhotoError::unsupported(format!(
            "PNG output depth {depth:?}"
        )));
    }
    let long = width.max(height);
    let factor = (long / target_edge.max(1)).max(1);
    let mut reducer = BoxReducer::new(width, height, factor, color)?;

    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), PhotoError> {
        if interlaced {
            let size = reader
                .output_buffer_size()
                .ok_or_else(|| PhotoError::corrupt("PNG frame size overflows"))?;
            let mut frame = vec![0u8; size];
            let out = reader.next_frame(&mut frame).map_err(png_error)?;
            for row in frame.chunks_exact(out.line_size).take(height as usize) {
                reducer.push_row(row);
            }
        } else {
            while let Some(row) = reader.next_row().map_err(png_error)? {
                reducer.push_row(row.data());
            }
        }
        Ok(())
    }))
    .map_err(|_| PhotoError::corrupt("the PNG decoder gave up on this file"))?;
    result?;
    // Chunks after the image data (a late eXIf) are optional: a missing IEND is forgiven.
    let _ = reader.finish();
    let info = reader.info();
    let extras = Extras {
        exif: info.exif_metadata.as_ref().map(|c| c.to_vec()),
        icc: info.icc_profile.as_ref().map(|c| c.to_vec()),
    };
    Ok((reducer.finish()?, extras))
}

fn png_error(e: png::DecodingError) -> PhotoError {
    match e {
        png::DecodingError::IoError(e) => io_error(e),
        png::DecodingError::Format(f) => {
            let detail = f.to_string();
            if detail.to_ascii_lowercase().contains("eof") {
                PhotoError::truncated(detail)
            } else {
                PhotoError::corrupt(detail)
            }
        }
        png::DecodingError::LimitsExceeded => {
            PhotoError::corrupt("the PNG needs more memory than allowed")
        }
        other => PhotoError::corrupt(other.to_string()),
    }
}

/// Streams 8-bit rows (PNG's, or a decoded WebP frame's) into an image reduced by an integer
/// factor, averaging each `factor` x `factor` box. Alpha is composited on white first, because a white page is what a
/// supervisor expects behind a transparent screenshot.
pub(crate) struct BoxReducer {
    width: usize,
    height: usize,
    factor: usize,
    in_channels: usize,
    out_channels: usize,
    out_width: usize,
    sums: Vec<u32>,
    rows_in_box: usize,
    rows_seen: usize,
    out: Vec<u8>,
}

impl BoxReducer {
    pub(crate) fn new(
        width: u32,
        height: u32,
        factor: u32,
        color: ColorType,
    ) -> Result<Self, PhotoError> {
        let (in_channels, out_channels) = match color {
            ColorType::Grayscale => (1, 1),
            ColorType::GrayscaleAlpha => (2, 1),
            ColorType::Rgb => (3, 3),
            ColorType::Rgba => (4, 3),
            ColorType::Indexed => return Err(PhotoError::corrupt("palette was not expanded")),
        };
        let (width, height, factor) = (width as usize, height as usize, factor as usize);
        let out_width = width.div_ceil(factor);
        let out_height = height.div_ceil(factor);
        Ok(Self {
            width,
            height,
            factor,
            in_channels,
            out_channels,
            out_width,
            sums: vec![0; out_width * out_channels],
            rows_in_box: 0,
            rows_seen: 0,
            out: Vec::with_capacity(out_width * out_height * out_channels),
        })
    }

    pub(crate) fn push_row(&mut self, row: &[u8]) {
        if self.rows_seen >= self.height {
            return;
        }
        let (ic, oc, k) = (self.in_channels, self.out_channels, self.factor);
        for (x, px) in row.chunks_exact(ic).take(self.width).enumerate() {
            let base = (x / k) * oc;
            let alpha = if ic == 2 || ic == 4 {
                u32::from(px[ic - 1])
            } else {
                255
            };
            for (sum, &v) in self.sums[base..base + oc].iter_mut().zip(px) {
                // Straight alpha over white, rounded.
                *sum += (u32::from(v) * alpha + 255 * (255 - alpha) + 127) / 255;
            }
        }
        self.rows_seen += 1;
        self.rows_in_box += 1;
        if self.rows_in_box == k || self.rows_seen == self.height {
            self.flush_row();
        }
    }

    fn flush_row(&mut self) {
        let (oc, k) = (self.out_channels, self.factor);
        for bx in 0..self.out_width {
            let cols = k.min(self.width - bx * k);
            let n = (cols * self.rows_in_box) as u32;
            for c in 0..oc {
                let sum = &mut self.sums[bx * oc + c];
                self.out.push(((*sum + n / 2) / n) as u8);
                *sum = 0;
            }
        }
        self.rows_in_box = 0;
    }

    pub(crate) fn finish(self) -> Result<Raster, PhotoError> {
        if self.rows_seen < self.height {
            return Err(PhotoError::truncated("the image data ends early"));
        }
        Ok(Raster {
            width: self.out_width as u32,
            height: self.height.div_ceil(self.factor) as u32,
            channels: self.out_channels as u8,
            pixels: self.out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strip_reads_as_its_parts_joined_whatever_the_read_sizes() {
        let (head, body, tail): (&[u8], &[u8], &[u8]) = (b"header", b"entropy-coded", b"\xFF\xD9");
        let joined = [head, body, tail].concat();
        for chunk in [1, 2, 5, 7, 21] {
            // Whole chunks through `read_exact` (across the seams), the rest through `read`.
            let mut source = JpegSource::strip(head, body, tail);
            let mut got = vec![0u8; joined.len() / chunk * chunk];
            for piece in got.chunks_exact_mut(chunk) {
                source.read_exact(piece).unwrap();
            }
            source.read_to_end(&mut got).unwrap();
            assert_eq!(got, joined, "chunk {chunk}");
            assert!(
                source.read_exact(&mut [0]).is_err(),
                "nothing after the end"
            );
        }
        // Empty parts are skipped; a read past everything says so.
        let mut source = JpegSource::strip(b"", b"", b"ab");
        let mut three = [0u8; 3];
        assert!(source.read_exact(&mut three).is_err());
        let mut source = JpegSource::strip(b"", b"", b"ab");
        assert_eq!(source.read(&mut three).unwrap(), 2);
        assert_eq!(source.read(&mut three).unwrap(), 0);
    }

    #[test]
    fn single_threaded_decodes_give_the_threaded_workers_pixels() {
        // The patched jpeg-decoder (decision 0066) against its upstream worker, which it picks
        // for output wider than 128 pixels: same pixels at every DCT scale and layout.
        use crate::photo::fixtures::{self, JpegColor, JpegSpec};
        let (width, height) = (720, 480);
        let rgb = fixtures::scene(11, width, height);
        for (sampling, color, progressive) in [
            ((2, 2), JpegColor::Rgb, false),
            ((2, 1), JpegColor::Rgb, false),
            ((1, 1), JpegColor::Rgb, false),
            ((2, 2), JpegColor::Gray, false),
            ((2, 2), JpegColor::Rgb, true),
        ] {
            let spec = JpegSpec {
                sampling,
                color,
                progressive,
                ..Default::default()
            };
            let bytes = fixtures::jpeg(&rgb, width, height, &spec);
            let header = super::super::jpeg_header::read_header(&mut &bytes[..]).unwrap();
            for edge in [720, 360, 180] {
                let ours = jpeg(JpegSource::Memory(&bytes), &header, edge).unwrap();
                let mut upstream = jpeg_decoder::Decoder::new(&bytes[..]);
                upstream.scale(edge as u16, u16::MAX).unwrap();
                let pixels = upstream.decode().unwrap();
                let info = upstream.info().unwrap();
                let case = format!("{sampling:?} {color:?} progressive {progressive}, {edge} px");
                assert!(
                    u32::from(info.width) > 128,
                    "{case}: upstream would not use threads"
                );
                assert_eq!(
                    (ours.width, ours.height),
                    (info.width.into(), info.height.into())
                );
                assert!(ours.pixels == pixels, "{case}: pixels differ");
            }
        }
    }

    #[test]
    fn box_reducer_averages_partial_edge_boxes_and_flattens_alpha() {
        // 3x3 RGBA, factor 2: boxes of 2x2, 1x2, 2x1, 1x1.
        let mut r = BoxReducer::new(3, 3, 2, ColorType::Rgba).unwrap();
        let opaque = |v: u8| [v, v, v, 255];
        let row = |a: [u8; 4], b: [u8; 4], c: [u8; 4]| [a, b, c].concat();
        r.push_row(&row(opaque(0), opaque(100), opaque(50)));
        r.push_row(&row(opaque(0), opaque(100), opaque(150)));
        r.push_row(&row([0, 0, 0, 0], [0, 0, 0, 255], [0, 0, 0, 128]));
        let out = r.finish().unwrap();
        assert_eq!((out.width, out.height, out.channels), (2, 2, 3));
        assert_eq!(
            out.pixels,
            vec![50, 50, 50, 100, 100, 100, 128, 128, 128, 127, 127, 127]
        );
    }

    #[test]
    fn cmyk_conversion_handles_both_conventions() {
        // Ink: C=255 (cyan), K=0 -> RGB (0, 255, 255).
        assert_eq!(cmyk_to_rgb(&[255, 0, 0, 0], false), vec![0, 255, 255]);
        assert_eq!(cmyk_to_rgb(&[0, 255, 255, 255], true), vec![0, 255, 255]);
        // Full black ink.
        assert_eq!(cmyk_to_rgb(&[0, 0, 0, 255], false), vec![0, 0, 0]);
    }
}
