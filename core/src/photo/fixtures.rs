//! Synthetic test photos, made in code so the tests need no files and no tools: an
//! asymmetric four-colour image, stored the way a camera would store it for each EXIF
//! orientation, wrapped in JPEG (baseline or progressive, any subsampling, CMYK, gray) or PNG
//! (8/16-bit, palette, alpha), with hand-built EXIF, ICC, XMP and comment segments.
//!
//! Enabled for this crate's tests and, through the `test-fixtures` feature, for other crates'
//! tests. Panics on misuse: it is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// The colours of the upright test image's quadrants: top-left, top-right, bottom-left,
/// bottom-right. Far apart, so JPEG and resampling cannot blur one into another.
pub const QUADRANTS: [[u8; 3]; 4] = [[230, 20, 20], [20, 200, 20], [20, 20, 230], [240, 240, 240]];

/// An upright RGB image split into the four [`QUADRANTS`].
pub fn quadrants(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let q = usize::from(y >= height / 2) * 2 + usize::from(x >= width / 2);
            out.extend_from_slice(&QUADRANTS[q]);
        }
    }
    out
}

/// How a camera with the given EXIF `orientation` (1..=8) stores the upright RGB image
/// `upright` (`width` x `height`): returns the stored pixels and their width and height.
///
/// Written from the EXIF table ("row 0 is the visual top/bottom/left/right, column 0 is the
/// visual left/right/top/bottom"), independently of the pipeline's own `orient` module.
pub fn stored_as(upright: &[u8], width: u32, height: u32, orientation: u16) -> (Vec<u8>, u32, u32) {
    let (uw, uh) = (width as usize, height as usize);
    let swaps = orientation >= 5;
    let (sw, sh) = if swaps { (uh, uw) } else { (uw, uh) };
    let mut out = Vec::with_capacity(upright.len());
    for sy in 0..sh {
        for sx in 0..sw {
            let (ux, uy) = match orientation {
                1 => (sx, sy),                   // row 0 top, col 0 left
                2 => (uw - 1 - sx, sy),          // row 0 top, col 0 right
                3 => (uw - 1 - sx, uh - 1 - sy), // row 0 bottom, col 0 right
                4 => (sx, uh - 1 - sy),          // row 0 bottom, col 0 left
                5 => (sy, sx),                   // row 0 left, col 0 top
                6 => (uw - 1 - sy, sx),          // row 0 right, col 0 top
                7 => (uw - 1 - sy, uh - 1 - sx), // row 0 right, col 0 bottom
                8 => (sy, uh - 1 - sx),          // row 0 left, col 0 bottom
                _ => panic!("orientation {orientation}"),
            };
            let at = (uy * uw + ux) * 3;
            out.extend_from_slice(&upright[at..at + 3]);
        }
    }
    (out, sw as u32, sh as u32)
}

/// The EXIF fields a fixture carries.
#[derive(Debug, Clone, Default)]
pub struct ExifSpec {
    pub orientation: Option<u16>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub datetime_original: Option<String>,
    pub offset_time_original: Option<String>,
    pub subsec_original: Option<String>,
    /// Signed decimal degrees.
    pub gps: Option<(f64, f64)>,
    /// GPSDateStamp and GPSTimeStamp (h, m, s).
    pub gps_time: Option<(String, [f64; 3])>,
    pub big_endian: bool,
}

enum Val {
    Ascii(String),
    Short(u16),
    Long(u32),
    Byte(Vec<u8>),
    Rational(Vec<(u32, u32)>),
}

impl ExifSpec {
    /// A TIFF structure: IFD0, then the Exif sub-IFD, then the GPS sub-IFD.
    pub fn to_tiff(&self) -> Vec<u8> {
        let ascii = |s: &Option<String>| s.clone().map(Val::Ascii);
        let mut exif: Vec<(u16, Val)> = Vec::new();
        if let Some(v) = ascii(&self.datetime_original) {
            exif.push((0x9003, v));
        }
        if let Some(v) = ascii(&self.offset_time_original) {
            exif.push((0x9011, v));
        }
        if let Some(v) = ascii(&self.subsec_original) {
            exif.push((0x9291, v));
        }
        if let Some(v) = ascii(&self.serial) {
            exif.push((0xA431, v)); // BodySerialNumber
        }
        let mut gps: Vec<(u16, Val)> = Vec::new();
        if let Some((lat, lon)) = self.gps {
            let dms = |v: f64| {
                let v = v.abs();
                let d = v.floor();
                let m = ((v - d) * 60.0).floor();
                let s = ((v - d) * 60.0 - m) * 60.0;
                Val::Rational(vec![
                    (d as u32, 1),
                    (m as u32, 1),
                    ((s * 10_000.0).round() as u32, 10_000),
                ])
            };
            gps.push((0, Val::Byte(vec![2, 3, 0, 0])));
            gps.push((1, Val::Ascii(if lat < 0.0 { "S" } else { "N" }.into())));
            gps.push((2, dms(lat)));
            gps.push((3, Val::Ascii(if lon < 0.0 { "W" } else { "E" }.into())));
            gps.push((4, dms(lon)));
        }
        if let Some((date, [h, m, s])) = &self.gps_time {
            let r = |v: f64| ((v * 1000.0).round() as u32, 1000);
            gps.push((7, Val::Rational(vec![r(*h), r(*m), r(*s)])));
            gps.push((0x1D, Val::Ascii(date.clone())));
        }
        let mut ifd0: Vec<(u16, Val)> = Vec::new();
        if let Some(v) = ascii(&self.make) {
            ifd0.push((0x010F, v));
        }
        if let Some(v) = ascii(&self.model) {
            ifd0.push((0x0110, v));
        }
        if let Some(o) = self.orientation {
            ifd0.push((0x0112, Val::Short(o)));
        }
        let ifd0_size =
            ifd_size(&ifd0) + 12 * (usize::from(!exif.is_empty()) + usize::from(!gps.is_empty()));
        let exif_at = 8 + ifd0_size;
        let gps_at = exif_at + if exif.is_empty() { 0 } else { ifd_size(&exif) };
        if !exif.is_empty() {
            ifd0.push((0x8769, Val::Long(exif_at as u32)));
        }
        if !gps.is_empty() {
            ifd0.push((0x8825, Val::Long(gps_at as u32)));
        }

        let be = self.big_endian;
        let mut out = if be {
            b"MM\0\x2A".to_vec()
        } else {
            b"II\x2A\0".to_vec()
        };
        put32(&mut out, 8, be);
        for ifd in [ifd0, exif, gps] {
            if !ifd.is_empty() {
                write_ifd(&mut out, ifd, be);
            }
        }
        out
    }
}

fn val_bytes(v: &Val, be: bool) -> (u16, u32, Vec<u8>) {
    match v {
        Val::Ascii(s) => {
            let mut b = s.as_bytes().to_vec();
            b.push(0);
            (2, b.len() as u32, b)
        }
        Val::Short(s) => (
            3,
            1,
            if be { s.to_be_bytes() } else { s.to_le_bytes() }.to_vec(),
        ),
        Val::Long(l) => (
            4,
            1,
            if be { l.to_be_bytes() } else { l.to_le_bytes() }.to_vec(),
        ),
        Val::Byte(b) => (1, b.len() as u32, b.clone()),
        Val::Rational(rs) => {
            let mut b = Vec::new();
            for (n, d) in rs {
                put32(&mut b, *n, be);
                put32(&mut b, *d, be);
            }
            (5, rs.len() as u32, b)
        }
    }
}

fn ifd_size(entries: &[(u16, Val)]) -> usize {
    let data: usize = entries
        .iter()
        .map(|(_, v)| val_bytes(v, false).2.len())
        .filter(|&n| n > 4)
        .map(|n| n + n % 2)
        .sum();
    2 + 12 * entries.len() + 4 + data
}

fn write_ifd(out: &mut Vec<u8>, mut entries: Vec<(u16, Val)>, be: bool) {
    entries.sort_by_key(|e| e.0);
    let start = out.len();
    let mut data_at = start + 2 + 12 * entries.len() + 4;
    let mut data = Vec::new();
    put16(out, entries.len() as u16, be);
    for (tag, v) in &entries {
        let (typ, count, mut bytes) = val_bytes(v, be);
        put16(out, *tag, be);
        put16(out, typ, be);
        put32(out, count, be);
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            out.extend_from_slice(&bytes);
        } else {
            put32(out, data_at as u32, be);
            if bytes.len() % 2 == 1 {
                bytes.push(0);
            }
            data_at += bytes.len();
            data.extend_from_slice(&bytes);
        }
    }
    put32(out, 0, be);
    out.extend_from_slice(&data);
}

fn put16(out: &mut Vec<u8>, v: u16, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put32(out: &mut Vec<u8>, v: u32, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

/// Pixel layout of a JPEG fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegColor {
    Rgb,
    Gray,
    /// CMYK stored the Adobe way (inverted, APP14 transform 0).
    Cmyk,
    /// CMYK stored as YCCK (APP14 transform 2).
    Ycck,
}

/// How to build a JPEG fixture.
#[derive(Debug, Clone)]
pub struct JpegSpec {
    pub quality: u8,
    pub progressive: bool,
    /// (horizontal, vertical) luma sampling: (2, 2) is 4:2:0, (2, 1) 4:2:2, (1, 1) 4:4:4.
    pub sampling: (u8, u8),
    pub color: JpegColor,
    pub exif: Option<ExifSpec>,
    pub icc: Option<Vec<u8>>,
    pub xmp: Option<String>,
    pub comment: Option<String>,
}

impl Default for JpegSpec {
    fn default() -> Self {
        Self {
            quality: 92,
            progressive: false,
            sampling: (2, 2),
            color: JpegColor::Rgb,
            exif: None,
            icc: None,
            xmp: None,
            comment: None,
        }
    }
}

/// Encodes upright-or-stored RGB pixels as a JPEG fixture.
pub fn jpeg(rgb: &[u8], width: u32, height: u32, spec: &JpegSpec) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, spec.quality);
    enc.set_progressive(spec.progressive);
    enc.set_sampling_factor(
        SamplingFactor::from_factors(spec.sampling.0, spec.sampling.1).expect("sampling"),
    );
    if let Some(exif) = &spec.exif {
        enc.add_exif_metadata(&exif.to_tiff()).unwrap();
    }
    if let Some(icc) = &spec.icc {
        enc.add_icc_profile(icc).unwrap();
    }
    if let Some(xmp) = &spec.xmp {
        let mut seg = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
        seg.extend_from_slice(xmp.as_bytes());
        enc.add_app_segment(1, seg).unwrap();
    }
    let (w, h) = (width as u16, height as u16);
    match spec.color {
        JpegColor::Rgb => enc.encode(rgb, w, h, ColorType::Rgb).unwrap(),
        JpegColor::Gray => {
            let gray: Vec<u8> = rgb
                .chunks_exact(3)
                .map(|p| ((u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10) as u8)
                .collect();
            enc.encode(&gray, w, h, ColorType::Luma).unwrap()
        }
        JpegColor::Cmyk | JpegColor::Ycck => {
            let cmyk = rgb_to_cmyk(rgb);
            let color = if spec.color == JpegColor::Cmyk {
                ColorType::Cmyk
            } else {
                ColorType::CmykAsYcck
            };
            enc.encode(&cmyk, w, h, color).unwrap()
        }
    }
    if let Some(comment) = &spec.comment {
        insert_after_soi(&mut out, 0xFE, comment.as_bytes());
    }
    out
}

/// Naive RGB to CMYK ink amounts (K = 255 - max).
pub fn rgb_to_cmyk(rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgb.len() / 3 * 4);
    for p in rgb.chunks_exact(3) {
        let max = p.iter().copied().max().unwrap_or(0);
        let k = 255 - max;
        for &c in p {
            let ink = if max == 0 {
                0
            } else {
                (u32::from(max - c) * 255 / u32::from(max)) as u8
            };
            out.push(ink);
        }
        out.push(k);
    }
    out
}

/// Inserts a segment right after SOI.
pub fn insert_after_soi(jpeg: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    let mut seg = vec![0xFF, marker];
    seg.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    seg.extend_from_slice(payload);
    jpeg.splice(2..2, seg);
}

/// A JPEG whose frame header claims `width` x `height`, with no image data behind it worth
/// decoding (a decompression bomb's header).
pub fn bomb_jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut small = jpeg(&quadrants(16, 16), 16, 16, &JpegSpec::default());
    // Patch the SOF0 dimensions in place.
    let mut i = 2;
    while i + 9 < small.len() {
        if small[i] == 0xFF && small[i + 1] == 0xC0 {
            small[i + 5..i + 7].copy_from_slice(&height.to_be_bytes());
            small[i + 7..i + 9].copy_from_slice(&width.to_be_bytes());
            break;
        }
        let len = usize::from(u16::from_be_bytes([small[i + 2], small[i + 3]]));
        i += 2 + len;
    }
    small
}

/// PNG pixel layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngColor {
    Rgb8,
    Rgb16,
    /// RGBA where the right half is fully transparent and the bottom-left quadrant half so.
    Rgba8,
    Gray8,
    GrayAlpha16,
    /// Up to 256 colours with a tRNS entry making the last palette entry transparent.
    Palette,
}

/// Encodes RGB pixels as a PNG fixture, optionally with an `eXIf` chunk.
pub fn png(
    rgb: &[u8],
    width: u32,
    height: u32,
    color: PngColor,
    exif: Option<&ExifSpec>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    let px = rgb.chunks_exact(3);
    let data: Vec<u8> = match color {
        PngColor::Rgb8 => {
            enc.set_color(png::ColorType::Rgb);
            rgb.to_vec()
        }
        PngColor::Rgb16 => {
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Sixteen);
            rgb.iter().flat_map(|&v| [v, v]).collect()
        }
        PngColor::Rgba8 => {
            enc.set_color(png::ColorType::Rgba);
            px.enumerate()
                .flat_map(|(i, p)| {
                    let (x, y) = (i as u32 % width, i as u32 / width);
                    let a = if x >= width / 2 {
                        0
                    } else if y >= height / 2 {
                        128
                    } else {
                        255
                    };
                    [p[0], p[1], p[2], a]
                })
                .collect()
        }
        PngColor::Gray8 => {
            enc.set_color(png::ColorType::Grayscale);
            px.map(|p| p[1]).collect()
        }
        PngColor::GrayAlpha16 => {
            enc.set_color(png::ColorType::GrayscaleAlpha);
            enc.set_depth(png::BitDepth::Sixteen);
            px.flat_map(|p| [p[1], 0, 255, 255]).collect()
        }
        PngColor::Palette => {
            let mut palette: Vec<[u8; 3]> = Vec::new();
            let mut indices = Vec::new();
            for p in px {
                let c = [p[0], p[1], p[2]];
                let idx = palette.iter().position(|q| *q == c).unwrap_or_else(|| {
                    palette.push(c);
                    palette.len() - 1
                });
                indices.push(idx as u8);
            }
            assert!(palette.len() <= 255);
            palette.push([0, 0, 0]);
            let mut trns = vec![255u8; palette.len()];
            *trns.last_mut().unwrap() = 0;
            // Make the first row transparent (it should come out white).
            for i in indices.iter_mut().take(width as usize) {
                *i = (palette.len() - 1) as u8;
            }
            enc.set_color(png::ColorType::Indexed);
            enc.set_palette(palette.concat());
            enc.set_trns(trns);
            indices
        }
    };
    let mut writer = enc.write_header().unwrap();
    if let Some(exif) = exif {
        writer
            .write_chunk(png::chunk::ChunkType(*b"eXIf"), &exif.to_tiff())
            .unwrap();
    }
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    out
}

/// Encodes RGB pixels as a lossless WebP fixture (the `image` crate's encoder), with the right
/// half transparent when `alpha`, optionally with an `EXIF` chunk.
pub fn webp(rgb: &[u8], width: u32, height: u32, alpha: bool, exif: Option<&ExifSpec>) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let mut enc = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
    if let Some(exif) = exif {
        enc.set_exif_metadata(exif.to_tiff()).unwrap();
    }
    if alpha {
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .enumerate()
            .flat_map(|(i, p)| {
                let a = if i as u32 % width >= width / 2 {
                    0
                } else {
                    255
                };
                [p[0], p[1], p[2], a]
            })
            .collect();
        enc.write_image(&rgba, width, height, image::ExtendedColorType::Rgba8)
            .unwrap();
    } else {
        enc.write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
    }
    out
}

/// A lossless WebP whose VP8L header claims `width` x `height` (each at most 16383) over the
/// data of a 4x4 image.
pub fn bomb_webp(width: u32, height: u32) -> Vec<u8> {
    let mut webp = webp(&quadrants(4, 4), 4, 4, false, None);
    // RIFF header (12), chunk header "VP8L" + size (8), signature 0x2f, then 14 bits of
    // width - 1, 14 bits of height - 1, 1 bit alpha, 3 bits version, little-endian.
    assert_eq!(&webp[12..16], b"VP8L");
    let old = u32::from_le_bytes(webp[21..25].try_into().unwrap());
    let bits = (old & !0x0FFF_FFFF) | ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14);
    webp[21..25].copy_from_slice(&bits.to_le_bytes());
    webp
}

/// A PNG whose IHDR claims `width` x `height` (with a valid CRC) and carries a tiny IDAT.
pub fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = png(&quadrants(4, 4), 4, 4, PngColor::Rgb8, None);
    // IHDR data starts at 16: width, height; CRC covers type + data (bytes 12..29).
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// CRC-32 (IEEE), bit by bit: fixtures only.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Walks every segment of a JPEG from SOI to EOI, skipping entropy-coded data, and returns
/// each marker with its payload (EOI with an empty one). For metadata checks.
pub fn jpeg_markers(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "no SOI");
    let mut i = 2;
    loop {
        assert_eq!(jpeg[i], 0xFF, "marker expected at {i}");
        let marker = jpeg[i + 1];
        if marker == 0xD9 {
            out.push((marker, Vec::new()));
            assert_eq!(i + 2, jpeg.len(), "bytes after EOI");
            return out;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        out.push((marker, jpeg[i + 4..i + 2 + len].to_vec()));
        i += 2 + len;
        if marker == 0xDA {
            // Entropy-coded data ends at the first marker that is not stuffing or RSTn.
            while !(jpeg[i] == 0xFF && jpeg[i + 1] != 0 && !(0xD0..=0xD7).contains(&jpeg[i + 1])) {
                i += 1;
            }
        }
    }
}

/// An Adam7-interlaced 8-bit RGB PNG (the png crate cannot write interlaced images), with
/// uncompressed deflate blocks: fixtures only.
pub fn interlaced_png(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    const PASSES: [(u32, u32, u32, u32); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= width || y0 >= height {
            continue;
        }
        for y in (y0..height).step_by(dy as usize) {
            raw.push(0); // filter: none
            for x in (x0..width).step_by(dx as usize) {
                let at = ((y * width + x) * 3) as usize;
                raw.extend_from_slice(&rgb[at..at + 3]);
            }
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in chunks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == chunks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 1]); // 8-bit RGB, Adam7
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &zlib);
    chunk(b"IEND", &[]);
    out
}

/// A small deterministic generator (xorshift64*) so scenes need no `rand` in the library.
struct SceneRng(u64);

impl SceneRng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0.0..1.0`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A street-like upright RGB scene with structure, different for every `seed`: a sky-to-ground
/// gradient at a random horizon, "buildings" (rectangles), "potholes" and "bins" (ellipses),
/// a striped texture patch and fine noise. The shapes are placed in relative coordinates, so
/// the same seed at another size is the same scene resampled, as a camera at another
/// resolution would see it.
pub fn scene(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let mut rng = SceneRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let horizon = 0.25 + 0.5 * rng.unit();
    let sky = [rng.unit(), rng.unit(), rng.unit()].map(|c| 120.0 + 130.0 * c);
    let ground = [rng.unit(), rng.unit(), rng.unit()].map(|c| 30.0 + 120.0 * c);
    struct Shape {
        rect: bool,
        cx: f64,
        cy: f64,
        rx: f64,
        ry: f64,
        rgb: [f64; 3],
    }
    let n = 5 + (rng.next() % 6) as usize;
    let shapes: Vec<Shape> = (0..n)
        .map(|_| Shape {
            rect: rng.next().is_multiple_of(2),
            cx: rng.unit(),
            cy: rng.unit(),
            rx: 0.05 + 0.25 * rng.unit(),
            ry: 0.05 + 0.25 * rng.unit(),
            rgb: [rng.unit(), rng.unit(), rng.unit()].map(|c| 255.0 * c),
        })
        .collect();
    let stripes = (
        0.1 + 0.6 * rng.unit(),
        0.1 + 0.6 * rng.unit(),
        20.0 + 60.0 * rng.unit(),
    );
    let mut noise = SceneRng(seed ^ 0xDEAD_BEEF);
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (
                (f64::from(x) + 0.5) / f64::from(width),
                (f64::from(y) + 0.5) / f64::from(height),
            );
            let mut px = if fy < horizon {
                let t = fy / horizon;
                sky.map(|c| c * (1.0 - 0.3 * t))
            } else {
                let t = (fy - horizon) / (1.0 - horizon);
                ground.map(|c| c * (0.7 + 0.3 * t))
            };
            for s in &shapes {
                let (dx, dy) = ((fx - s.cx) / s.rx, (fy - s.cy) / s.ry);
                let inside = if s.rect {
                    dx.abs() <= 1.0 && dy.abs() <= 1.0
                } else {
                    dx * dx + dy * dy <= 1.0
                };
                if inside {
                    px = s.rgb;
                }
            }
            let (sx, sy, freq) = stripes;
            if (fx - sx).abs() < 0.12 && (fy - sy).abs() < 0.12 {
                let v = 0.5 + 0.5 * (fx * freq * std::f64::consts::TAU).sin();
                px = px.map(|c| c * (0.4 + 0.6 * v));
            }
            let jitter = (noise.next() % 17) as f64 - 8.0;
            out.extend(px.map(|c| (c + jitter).clamp(0.0, 255.0) as u8));
        }
    }
    out
}

/// Crops an RGB image to the window `(x, y, w, h)`.
pub fn crop(rgb: &[u8], width: u32, x: u32, y: u32, w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for row in y..y + h {
        let at = ((row * width + x) * 3) as usize;
        out.extend_from_slice(&rgb[at..at + (w * 3) as usize]);
    }
    out
}

/// Adds `delta` to every channel of an RGB image, saturating: a brighter exposure.
pub fn brighten(rgb: &[u8], delta: i16) -> Vec<u8> {
    rgb.iter()
        .map(|&c| (i16::from(c) + delta).clamp(0, 255) as u8)
        .collect()
}
