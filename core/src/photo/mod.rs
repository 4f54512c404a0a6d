//! Evidence photos: from whatever the phone's camera wrote to a small, upright, metadata-free
//! JPEG named by its SHA-256, plus a thumbnail.
//!
//! The pipeline, one file per step:
//! 1. [`limits`]: refuse empty, oversized and non-JPEG/PNG/WebP files before decoding anything;
//! 2. [`jpeg_header`] / [`exif`]: read the frame size (refuse bombs before allocating), the
//!    orientation, capture time and GPS — the only metadata that survives, as return values;
//! 3. [`decode`]: decode at reduced size (JPEG DCT scaling, PNG box reduction), flatten
//!    CMYK and alpha; [`webp`]: WebP from a gallery, through the `image` crate;
//! 4. [`raster`]: one Lanczos3 resample to the long edge (default 1600 px); [`colour`]:
//!    convert from an embedded non-sRGB profile (Display P3, Adobe RGB) to sRGB;
//! 5. [`orient`]: turn the pixels upright;
//! 6. [`encode`]: a fresh JPEG from pixels alone (no EXIF/XMP/ICC/comments), then a thumbnail
//!    from that result, not from the original;
//! 7. [`store`]: SHA-256, write temp + fsync + rename, skip if already stored;
//!    [`phash`]: the perceptual hash, from the thumbnail's pixels (no second decode).
//!
//! `docs/photo.md` has the limits, the privacy guarantees and the benchmark figures.

mod colour;
mod decode;
mod encode;
mod error;
mod exif;
mod jpeg_header;
mod jpeg_strips;
mod limits;
mod orient;
mod phash;
mod raster;
#[cfg(target_arch = "x86_64")]
mod resample_avx2;
#[cfg(target_arch = "x86_64")]
mod resample_sse2;
#[cfg(feature = "test-fixtures")]
pub mod stages;
mod store;
mod webp;
#[cfg(target_arch = "x86_64")]
mod ycbcr_sse2;

#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixtures;
#[cfg(test)]
mod phash_tests;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use gridline_protocol::{PhotoRef, Timestamp};

pub use error::PhotoError;
pub use orient::Orientation;
pub use phash::{PerceptualHash, SAME_SCENE_MAX_DISTANCE, hamming, same_scene, similarity};

use limits::Format;
use raster::Raster;

/// Knobs of the pipeline. [`Default`] is what the app uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoOptions {
    /// Longest side of the processed photo in pixels; smaller photos are never enlarged.
    pub max_edge: u32,
    /// JPEG quality, 1..=100.
    pub quality: u8,
    /// Longest side of the thumbnail in pixels.
    pub thumb_edge: u32,
    /// Larger input files are refused before they are read.
    pub max_input_bytes: u64,
    /// Images whose header claims more pixels are refused before decoding.
    pub max_pixels: u64,
    /// Ceiling for the one full-size working buffer some inputs force on the decoder
    /// (progressive JPEG coefficients, interlaced PNG frames); above it the photo is refused
    /// with [`PhotoError::TooManyPixels`].
    pub max_decode_bytes: u64,
    /// UTC offset, in minutes, assumed for an EXIF capture time that carries no offset of its
    /// own and no GPS clock. Default +08:00 (China Standard Time, no daylight saving).
    pub assumed_utc_offset_minutes: i32,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        Self {
            max_edge: 1600,
            quality: 80,
            thumb_edge: 320,
            max_input_bytes: 64 * 1024 * 1024,
            max_pixels: 200_000_000,
            max_decode_bytes: 256 * 1024 * 1024,
            assumed_utc_offset_minutes: 8 * 60,
        }
    }
}

/// A WGS-84 position from a photo's EXIF GPS block; south and west are negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpsCoordinates {
    /// Latitude in decimal degrees, -90..=90.
    pub lat: f64,
    /// Longitude in decimal degrees, -180..=180.
    pub lon: f64,
}

/// One JPEG the pipeline wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Where it is: `<out_dir>/<sha256 of the photo>[.thumb].jpg`.
    pub path: PathBuf,
    /// Width in pixels, upright.
    pub width: u32,
    /// Height in pixels, upright.
    pub height: u32,
    /// File size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// What [`process_file`] made, and the metadata it read before discarding it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// The evidence photo; its `sha256` is the photo's id.
    pub photo: ImageFile,
    /// The thumbnail, named after the photo's hash.
    pub thumbnail: ImageFile,
    /// When the photo was taken, if the camera said.
    pub captured_at: Option<Timestamp>,
    /// Where the photo was taken, if the camera recorded a GPS fix.
    pub gps: Option<GpsCoordinates>,
    /// Its EXIF named the camera (`Make`/`Model`); false for screenshots, downloads and
    /// photos whose metadata was stripped before they reached us.
    pub camera: bool,
    /// Perceptual hash of the upright photo, for recognising the same scene photographed
    /// again (see [`similarity`]).
    pub phash: PerceptualHash,
}

impl ProcessedPhoto {
    /// The reference a report carries on the wire.
    pub fn to_photo_ref(&self) -> PhotoRef {
        PhotoRef::from(self)
    }
}

impl From<&ProcessedPhoto> for PhotoRef {
    fn from(p: &ProcessedPhoto) -> Self {
        PhotoRef {
            sha256: p.photo.sha256.clone(),
            bytes: p.photo.bytes,
            width: p.photo.width,
            height: p.photo.height,
            exif: Some(gridline_protocol::PhotoExif {
                captured_at: p.captured_at,
                gps_distance_m: None,
                camera: p.camera,
            }),
        }
    }
}

/// What a photo says about itself, read without decoding its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoMetadata {
    /// Upright width in pixels (orientation applied).
    pub width: u32,
    /// Upright height in pixels (orientation applied).
    pub height: u32,
    /// The EXIF orientation the pipeline will apply.
    pub orientation: Orientation,
    /// When the photo was taken, if the camera said.
    pub captured_at: Option<Timestamp>,
    /// Where the photo was taken, if the camera recorded a GPS fix.
    pub gps: Option<GpsCoordinates>,
    /// Its EXIF named the camera (`Make`/`Model`).
    pub camera: bool,
}

/// Reads size, orientation, capture time and GPS position from a JPEG, PNG or WebP header
/// ("location from photo"). Cheap: only the segments before the image data are read.
pub fn read_metadata(input: &Path, opts: &PhotoOptions) -> Result<PhotoMetadata, PhotoError> {
    let (file, format) = limits::open_input(input, opts)?;
    let (width, height, info) = match format {
        Format::Jpeg => {
            let header = jpeg_header::read_header(&mut BufReader::new(file))?;
            let info = exif_info(header.exif.as_deref(), opts);
            (header.width, header.height, info)
        }
        Format::Png => {
            let mut decoder = png::Decoder::new(BufReader::new(file));
            let info = decoder
                .read_header_info()
                .map_err(|e| PhotoError::corrupt(e.to_string()))?;
            let (w, h) = (info.width, info.height);
            // Only an eXIf chunk before the image data is seen here; that is where writers put it.
            let exif = match decoder.read_info() {
                Ok(reader) => exif_info(reader.info().exif_metadata.as_deref(), opts),
                Err(_) => exif::ExifInfo::default(),
            };
            (w, h, exif)
        }
        Format::Webp => {
            let (w, h, exif) = webp::header(BufReader::new(file))?;
            (w, h, exif_info(exif.as_deref(), opts))
        }
    };
    limits::check_pixels(width, height, u64::MAX)?;
    let (width, height) = info.orientation.upright_size(width, height);
    Ok(PhotoMetadata {
        width,
        height,
        orientation: info.orientation,
        captured_at: info.captured_at,
        gps: info.gps,
        camera: info.camera,
    })
}

/// Processes the photo at `input` into `out_dir` (which must exist): upright, long edge at most
/// `opts.max_edge`, JPEG at `opts.quality` without any metadata, plus a thumbnail. Writes
/// `<sha256>.jpg` and `<sha256>.thumb.jpg` atomically; processing the same input again yields
/// the same names and writes nothing new.
pub fn process_file(
    input: &Path,
    out_dir: &Path,
    opts: &PhotoOptions,
) -> Result<ProcessedPhoto, PhotoError> {
    let (image, info) = decode_upright(input, opts)?;
    let (width, height) = (image.width, image.height);

    // The thumbnail comes from the 1600 px result (resampling the original again would cost
    // more than everything else together), made and encoded on a second thread while this
    // one encodes and hashes the photo.
    let (photo, thumb) = std::thread::scope(|scope| {
        let thumb = scope.spawn(|| {
            let thumb = image.resized_to_fit(opts.thumb_edge.max(1))?;
            let jpeg = encode::jpeg(&thumb, opts.quality)?;
            let phash = phash::of_raster(&thumb)?;
            Ok::<_, PhotoError>((thumb, jpeg, phash))
        });
        let photo = encode::jpeg(&image, opts.quality).map(|jpeg| {
            let sha256 = store::sha256_hex(&jpeg);
            (jpeg, sha256)
        });
        let thumb = thumb
            .join()
            .unwrap_or_else(|_| Err(PhotoError::corrupt("the thumbnail worker failed")));
        (photo, thumb)
    });
    let (photo_jpeg, sha256) = photo?;
    let (thumb, thumb_jpeg, phash) = thumb?;

    let photo_path = store::write_once(out_dir, &format!("{sha256}.jpg"), &photo_jpeg)?;
    let thumb_path = store::write_once(out_dir, &format!("{sha256}.thumb.jpg"), &thumb_jpeg)?;
    Ok(ProcessedPhoto {
        photo: ImageFile {
            path: photo_path,
            width,
            height,
            bytes: photo_jpeg.len() as u64,
            sha256,
        },
        thumbnail: ImageFile {
            path: thumb_path,
            width: thumb.width,
            height: thumb.height,
            bytes: thumb_jpeg.len() as u64,
            sha256: store::sha256_hex(&thumb_jpeg),
        },
        captured_at: info.captured_at,
        gps: info.gps,
        camera: info.camera,
        phash,
    })
}

/// What the grid server learns from an uploaded photo it checked with [`verify_upload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedJpeg {
    /// Stored width in pixels.
    pub width: u32,
    /// Stored height in pixels.
    pub height: u32,
    /// Perceptual hash computed from the uploaded pixels, never taken from the device.
    pub phash: PerceptualHash,
}

/// [`verify_jpeg`], plus the perceptual hash of the pixels it decoded anyway (at 1/8 scale,
/// which for a 1600 px photo is 200 px: plenty for a 32 x 32 hash). Pipeline output carries
/// no orientation tag, so the stored pixels are the upright ones.
pub fn verify_upload(bytes: &[u8], opts: &PhotoOptions) -> Result<VerifiedJpeg, PhotoError> {
    let (width, height, raster) = verify_and_decode(bytes, opts)?;
    Ok(VerifiedJpeg {
        width,
        height,
        phash: phash::of_raster(&raster)?,
    })
}

/// Checks that `bytes` are a whole JPEG this pipeline can decode, and returns its stored
/// (not oriented) size. The grid server calls it before it counts an upload as a photo, so
/// junk uploaded under a photo's name is never served as one. Cheap: the entropy-coded data
/// is decoded at 1/8 scale (DCT scaling), which still reads every byte of it.
pub fn verify_jpeg(bytes: &[u8], opts: &PhotoOptions) -> Result<(u32, u32), PhotoError> {
    verify_and_decode(bytes, opts).map(|(w, h, _)| (w, h))
}

fn verify_and_decode(bytes: &[u8], opts: &PhotoOptions) -> Result<(u32, u32, Raster), PhotoError> {
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > opts.max_input_bytes {
        return Err(PhotoError::TooLarge {
            bytes: bytes.len() as u64,
            limit: opts.max_input_bytes,
        });
    }
    if limits::sniff(&bytes[..bytes.len().min(16)])? != Format::Jpeg {
        return Err(PhotoError::unsupported("not a JPEG"));
    }
    // The pipeline writes nothing after the end-of-image marker; bytes there would ride along
    // unseen by anyone who views the photo.
    if !bytes.ends_with(&[0xFF, 0xD9]) {
        return Err(PhotoError::corrupt(
            "bytes after (or no) end-of-image marker",
        ));
    }
    let header = jpeg_header::read_header(&mut &bytes[..])?;
    check_jpeg_limits(&header, opts)?;
    let raster = decode::jpeg(decode::JpegSource::Memory(bytes), &header, 1)?;
    Ok((header.width, header.height, raster))
}

/// Decodes, resizes and orients: the pixels of the processed photo, plus the EXIF facts.
fn decode_upright(
    input: &Path,
    opts: &PhotoOptions,
) -> Result<(Raster, exif::ExifInfo), PhotoError> {
    let (decoded, icc, info) = decode_input(input, opts)?;
    let mut resized = decoded.fit(opts.max_edge.max(1))?;
    // After resizing: the colour transform then touches at most max_edge² pixels.
    colour::to_srgb(&mut resized, icc.as_deref());
    Ok((orient::apply(resized, info.orientation), info))
}

/// Opens and decodes the input at the reduced size the resample needs (no larger than it
/// must be for `opts.max_edge`), with its ICC profile and EXIF facts.
fn decode_input(input: &Path, opts: &PhotoOptions) -> Result<Decoded, PhotoError> {
    let max_edge = opts.max_edge.max(1);
    let (file, format) = limits::open_input(input, opts)?;
    Ok(match format {
        Format::Jpeg => decode_jpeg(file, max_edge, opts)?,
        Format::Png => with_exif(decode::png(BufReader::new(file), max_edge, opts)?, opts),
        Format::Webp => with_exif(webp::decode(BufReader::new(file), max_edge, opts)?, opts),
    })
}

/// Orientation, capture time and GPS from an EXIF (TIFF) block, if the image had one.
fn exif_info(tiff: Option<&[u8]>, opts: &PhotoOptions) -> exif::ExifInfo {
    tiff.map(|t| exif::parse(t, opts.assumed_utc_offset_minutes))
        .unwrap_or_default()
}

/// A PNG's or WebP's pixels with what its chunks say: the ICC profile and the EXIF facts.
fn with_exif((raster, extras): (Raster, decode::Extras), opts: &PhotoOptions) -> Decoded {
    let info = exif_info(extras.exif.as_deref(), opts);
    (raster, extras.icc, info)
}

/// Refuses a JPEG whose header asks for more pixels, or a larger working buffer, than allowed.
fn check_jpeg_limits(
    header: &jpeg_header::JpegHeader,
    opts: &PhotoOptions,
) -> Result<(), PhotoError> {
    limits::check_pixels(header.width, header.height, opts.max_pixels)?;
    if header.is_progressive() {
        // Progressive scans refine coefficients of the whole image, so all of them (2 bytes
        // each, per component) are held at full size whatever the output scale.
        let per_pixel = 2 * u64::from(header.components.max(1));
        limits::check_buffer(
            header.width,
            header.height,
            per_pixel,
            opts.max_decode_bytes,
        )?;
    }
    Ok(())
}

/// JPEG files up to this size are decoded from memory rather than streamed: a typical 12 MP
/// photo (2-6 MB) is, while a 12-20 MB 48 MP file streams so peak memory stays under ~30 MB.
const IN_MEMORY_JPEG_BYTES: u64 = 6 * 1024 * 1024;

type Decoded = (Raster, Option<Vec<u8>>, exif::ExifInfo);

fn decode_jpeg(mut file: File, max_edge: u32, opts: &PhotoOptions) -> Result<Decoded, PhotoError> {
    let header = jpeg_header::read_header(&mut BufReader::new(&mut file))?;
    check_jpeg_limits(&header, opts)?;
    let info = exif_info(header.exif.as_deref(), opts);
    file.seek(SeekFrom::Start(0))?;
    // jpeg-decoder pulls the entropy-coded data a byte at a time through `Read`: from a slice
    // that is ~15 % faster end to end than through `BufReader<File>`. Typical photos (a few MB)
    // are read whole; very large files stream, so memory stays bounded by the output size.
    let len = file.metadata()?.len();
    let raster = if len <= IN_MEMORY_JPEG_BYTES {
        let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut data)?;
        // A restart-marked photo decodes in strips on the cores there are (same pixels).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        match jpeg_strips::decode(&data, &header, max_edge, threads) {
            Some(raster) => raster,
            None => decode::jpeg(decode::JpegSource::Memory(&data), &header, max_edge)?,
        }
    } else {
        decode::jpeg(
            decode::JpegSource::File(BufReader::with_capacity(64 * 1024, file)),
            &header,
            max_edge,
        )?
    };
    // A CMYK profile describes ink, not the RGB the decoder made: only RGB profiles apply.
    let icc = if header.components == 3 {
        header.icc
    } else {
        None
    };
    Ok((raster, icc, info))
}
