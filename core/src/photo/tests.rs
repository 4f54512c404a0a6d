//! End-to-end tests of the pipeline on generated fixtures: orientation, formats, colour
//! models, metadata stripping, limits and hostile input.

use std::path::{Path, PathBuf};

use super::fixtures::{self, ExifSpec, JpegColor, JpegSpec, PngColor, QUADRANTS};
use super::*;

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn input(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn out(&self) -> PathBuf {
        let out = self.dir.path().join("media");
        std::fs::create_dir_all(&out).unwrap();
        out
    }
}

/// Decodes a processed JPEG to (width, height, channels, pixels).
fn decode_output(path: &Path) -> (u32, u32, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let mut d = jpeg_decoder::Decoder::new(bytes.as_slice());
    let pixels = d.decode().unwrap();
    let info = d.info().unwrap();
    let ch = info.pixel_format.pixel_bytes();
    (u32::from(info.width), u32::from(info.height), ch, pixels)
}

/// The colour at the centre of each quadrant, as RGB.
fn quadrant_colours(path: &Path) -> [[u8; 3]; 4] {
    let (w, h, ch, px) = decode_output(path);
    let at = |x: u32, y: u32| {
        let i = ((y * w + x) as usize) * ch;
        if ch == 1 {
            [px[i]; 3]
        } else {
            [px[i], px[i + 1], px[i + 2]]
        }
    };
    [
        at(w / 4, h / 4),
        at(3 * w / 4, h / 4),
        at(w / 4, 3 * h / 4),
        at(3 * w / 4, 3 * h / 4),
    ]
}

fn close(a: [u8; 3], b: [u8; 3], tolerance: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (i32::from(x) - i32::from(y)).abs() <= tolerance)
}

fn assert_quadrants(path: &Path, expected: [[u8; 3]; 4], tolerance: i32, what: &str) {
    let got = quadrant_colours(path);
    for q in 0..4 {
        assert!(
            close(got[q], expected[q], tolerance),
            "{what}: quadrant {q} is {:?}, expected {:?}",
            got[q],
            expected[q]
        );
    }
}

fn process(scratch: &Scratch, name: &str, bytes: &[u8], opts: &PhotoOptions) -> ProcessedPhoto {
    let input = scratch.input(name, bytes);
    process_file(&input, &scratch.out(), opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn all_eight_orientations_come_out_upright() {
    let scratch = Scratch::new();
    let (uw, uh) = (96, 64);
    let upright = fixtures::quadrants(uw, uh);
    for (max_edge, expect) in [(1600, (96, 64)), (48, (48, 32))] {
        let opts = PhotoOptions {
            max_edge,
            ..PhotoOptions::default()
        };
        for orientation in 1..=8u16 {
            let (stored, sw, sh) = fixtures::stored_as(&upright, uw, uh, orientation);
            let spec = JpegSpec {
                exif: Some(ExifSpec {
                    orientation: Some(orientation),
                    big_endian: orientation % 2 == 0,
                    ..ExifSpec::default()
                }),
                ..JpegSpec::default()
            };
            let jpeg = fixtures::jpeg(&stored, sw, sh, &spec);
            let name = format!("o{orientation}-{max_edge}.jpg");
            let out = process(&scratch, &name, &jpeg, &opts);
            assert_eq!((out.photo.width, out.photo.height), expect, "{name}");
            assert_quadrants(&out.photo.path, QUADRANTS, 24, &name);
            assert_quadrants(&out.thumbnail.path, QUADRANTS, 24, &format!("{name} thumb"));
            let meta = read_metadata(&scratch.input(&name, &jpeg), &opts).unwrap();
            assert_eq!((meta.width, meta.height), (uw, uh), "{name}");
        }
    }
}

#[test]
fn png_exif_orientation_is_applied_too() {
    let scratch = Scratch::new();
    let upright = fixtures::quadrants(40, 30);
    let (stored, sw, sh) = fixtures::stored_as(&upright, 40, 30, 8);
    let exif = ExifSpec {
        orientation: Some(8),
        ..ExifSpec::default()
    };
    let png = fixtures::png(&stored, sw, sh, PngColor::Rgb8, Some(&exif));
    let out = process(&scratch, "o8.png", &png, &PhotoOptions::default());
    assert_eq!((out.photo.width, out.photo.height), (40, 30));
    assert_quadrants(&out.photo.path, QUADRANTS, 24, "png o8");
}

#[test]
fn webp_from_the_gallery_comes_out_upright_flattened_and_without_metadata() {
    let scratch = Scratch::new();
    let (uw, uh) = (96, 64);
    let upright = fixtures::quadrants(uw, uh);
    let (stored, sw, sh) = fixtures::stored_as(&upright, uw, uh, 6);
    let exif = ExifSpec {
        orientation: Some(6),
        gps: Some((29.87, 121.55)),
        datetime_original: Some("2026:05:04 09:30:00".into()),
        offset_time_original: Some("+08:00".into()),
        make: Some("Gridline Test Camera".into()),
        ..ExifSpec::default()
    };
    let webp = fixtures::webp(&stored, sw, sh, false, Some(&exif));
    let input = scratch.input("chat.webp", &webp);
    let out = process(&scratch, "chat.webp", &webp, &PhotoOptions::default());
    assert_eq!((out.photo.width, out.photo.height), (uw, uh));
    assert_quadrants(&out.photo.path, QUADRANTS, 24, "webp o6");
    assert_quadrants(&out.thumbnail.path, QUADRANTS, 24, "webp o6 thumb");
    let gps = out.gps.expect("the WebP's GPS");
    assert!((gps.lon - 121.55).abs() < 1e-4 && (gps.lat - 29.87).abs() < 1e-4);
    assert!(out.captured_at.is_some() && out.camera);
    let meta = read_metadata(&input, &PhotoOptions::default()).unwrap();
    assert_eq!((meta.width, meta.height), (uw, uh));
    assert_eq!(meta.orientation, Orientation::Rotate90);
    assert!(meta.gps.is_some());
    // The output is the pipeline's own JPEG: no EXIF segment, no camera name.
    let bytes = std::fs::read(&out.photo.path).unwrap();
    assert!(
        fixtures::jpeg_markers(&bytes)
            .iter()
            .all(|(m, _)| *m != 0xE1)
    );
    assert!(!bytes.windows(20).any(|w| w == b"Gridline Test Camera"));

    // Transparency becomes white, as for PNG; a large WebP is reduced to the long edge.
    let rgb = fixtures::quadrants(400, 300);
    let alpha = fixtures::webp(&rgb, 400, 300, true, None);
    let opts = PhotoOptions {
        max_edge: 120,
        ..PhotoOptions::default()
    };
    let out = process(&scratch, "sticker.webp", &alpha, &opts);
    assert_eq!((out.photo.width, out.photo.height), (120, 90));
    let white = [255, 255, 255];
    assert_quadrants(
        &out.photo.path,
        [QUADRANTS[0], white, QUADRANTS[2], white],
        24,
        "webp alpha",
    );
}

#[test]
fn jpeg_variants_decode_with_correct_colours() {
    let scratch = Scratch::new();
    let (w, h) = (120, 80);
    let rgb = fixtures::quadrants(w, h);
    let gray = QUADRANTS.map(|p| {
        let g = ((u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10) as u8;
        [g; 3]
    });
    let cases = [
        ("baseline-420", JpegColor::Rgb, false, (2, 2), QUADRANTS),
        ("baseline-422", JpegColor::Rgb, false, (2, 1), QUADRANTS),
        ("baseline-444", JpegColor::Rgb, false, (1, 1), QUADRANTS),
        ("progressive-420", JpegColor::Rgb, true, (2, 2), QUADRANTS),
        ("progressive-444", JpegColor::Rgb, true, (1, 1), QUADRANTS),
        ("gray", JpegColor::Gray, false, (1, 1), gray),
        ("gray-progressive", JpegColor::Gray, true, (1, 1), gray),
        ("cmyk", JpegColor::Cmyk, false, (1, 1), QUADRANTS),
        ("ycck", JpegColor::Ycck, false, (1, 1), QUADRANTS),
    ];
    for (name, color, progressive, sampling, expected) in cases {
        let spec = JpegSpec {
            color,
            progressive,
            sampling,
            ..JpegSpec::default()
        };
        let jpeg = fixtures::jpeg(&rgb, w, h, &spec);
        let out = process(
            &scratch,
            &format!("{name}.jpg"),
            &jpeg,
            &PhotoOptions::default(),
        );
        assert_eq!((out.photo.width, out.photo.height), (w, h), "{name}");
        assert_quadrants(&out.photo.path, expected, 24, name);
        // Gray in, gray out: one component, a third of the work.
        let components = fixtures::jpeg_markers(&std::fs::read(&out.photo.path).unwrap())
            .into_iter()
            .find(|(m, _)| *m == 0xC0)
            .map(|(_, p)| p[5]);
        let want = if color == JpegColor::Gray { 1 } else { 3 };
        assert_eq!(components, Some(want), "{name}");
    }
}

#[test]
fn large_jpegs_are_dct_scaled_then_resampled_to_the_long_edge() {
    let scratch = Scratch::new();
    for (w, h, progressive) in [(2000, 1500, false), (1500, 2000, true), (3300, 200, false)] {
        let rgb = fixtures::quadrants(w, h);
        let spec = JpegSpec {
            progressive,
            quality: 70,
            ..JpegSpec::default()
        };
        let jpeg = fixtures::jpeg(&rgb, w, h, &spec);
        let opts = PhotoOptions {
            max_edge: 400,
            thumb_edge: 100,
            ..PhotoOptions::default()
        };
        let out = process(&scratch, &format!("{w}x{h}.jpg"), &jpeg, &opts);
        let expect = raster::fit_within(w, h, 400);
        assert_eq!((out.photo.width, out.photo.height), expect);
        assert_eq!(out.photo.width.max(out.photo.height), 400);
        assert_eq!(out.thumbnail.width.max(out.thumbnail.height), 100);
        if h > 1000 || w < 3000 {
            assert_quadrants(&out.photo.path, QUADRANTS, 24, &format!("{w}x{h}"));
        }
    }
}

#[test]
fn png_variants_flatten_alpha_on_white() {
    let scratch = Scratch::new();
    let (w, h) = (64, 48);
    let rgb = fixtures::quadrants(w, h);
    let white = [255, 255, 255];
    let half = |c: [u8; 3]| c.map(|v| ((u32::from(v) * 128 + 255 * 127 + 127) / 255) as u8);
    let g = |c: [u8; 3]| [c[1]; 3];
    let cases = [
        (PngColor::Rgb8, QUADRANTS),
        (PngColor::Rgb16, QUADRANTS),
        (
            PngColor::Rgba8,
            [QUADRANTS[0], white, half(QUADRANTS[2]), white],
        ),
        (PngColor::Gray8, QUADRANTS.map(g)),
        (PngColor::GrayAlpha16, QUADRANTS.map(g)),
        (PngColor::Palette, QUADRANTS),
    ];
    for (color, expected) in cases {
        let png = fixtures::png(&rgb, w, h, color, None);
        let name = format!("{color:?}.png");
        let out = process(&scratch, &name, &png, &PhotoOptions::default());
        assert_eq!((out.photo.width, out.photo.height), (w, h), "{name}");
        assert_quadrants(&out.photo.path, expected, 24, &name);
        if color == PngColor::Palette {
            // The transparent first row became white.
            let (_, _, ch, px) = decode_output(&out.photo.path);
            assert!(px[..ch].iter().all(|&v| v > 180), "{:?}", &px[..ch]);
        }
    }
    // A big PNG is box-reduced while streaming, then resampled.
    let (w, h) = (1000, 700);
    let png = fixtures::png(&fixtures::quadrants(w, h), w, h, PngColor::Rgba8, None);
    let opts = PhotoOptions {
        max_edge: 300,
        ..PhotoOptions::default()
    };
    let out = process(&scratch, "big.png", &png, &opts);
    assert_eq!((out.photo.width, out.photo.height), (300, 210));
    assert_quadrants(
        &out.photo.path,
        [QUADRANTS[0], white, half(QUADRANTS[2]), white],
        24,
        "big png",
    );
}

fn privacy_spec() -> ExifSpec {
    ExifSpec {
        orientation: Some(6),
        make: Some("LeakyPhone".into()),
        model: Some("LP-9 Pro".into()),
        serial: Some("SERIAL-0123456789".into()),
        datetime_original: Some("2025:11:28 17:30:05".into()),
        offset_time_original: Some("+08:00".into()),
        gps: Some((29.868_336, 121.543_99)),
        ..ExifSpec::default()
    }
}

#[test]
fn output_has_no_metadata_segments_but_metadata_was_read_first() {
    let scratch = Scratch::new();
    let rgb = fixtures::quadrants(64, 48);
    let spec = JpegSpec {
        exif: Some(privacy_spec()),
        icc: Some(b"fake ICC profile: Display P3 LeakyPhone".to_vec()),
        xmp: Some("<x:xmpmeta>GPS 29.868336 LeakyPhone</x:xmpmeta>".into()),
        comment: Some("shot by rider 4711 at home".into()),
        ..JpegSpec::default()
    };
    let jpeg = fixtures::jpeg(&rgb, 64, 48, &spec);
    // The fixture really carries everything the output must not.
    let input_markers: Vec<u8> = fixtures::jpeg_markers(&jpeg).iter().map(|m| m.0).collect();
    for m in [0xE1, 0xE2, 0xFE] {
        assert!(input_markers.contains(&m), "fixture lacks 0x{m:02X}");
    }

    let out = process(&scratch, "leaky.jpg", &jpeg, &PhotoOptions::default());
    assert_eq!(
        out.captured_at,
        Timestamp::parse_rfc3339("2025-11-28T09:30:05Z")
    );
    let gps = out.gps.unwrap();
    assert!((gps.lat - 29.868_336).abs() < 1e-5 && (gps.lon - 121.543_99).abs() < 1e-5);

    for path in [&out.photo.path, &out.thumbnail.path] {
        let bytes = std::fs::read(path).unwrap();
        for (marker, payload) in fixtures::jpeg_markers(&bytes) {
            match marker {
                // Only the minimal JFIF header: version, 1:1 aspect, no thumbnail.
                0xE0 => {
                    assert!(payload.starts_with(b"JFIF\0"), "{payload:?}");
                    assert_eq!(payload.len(), 14, "JFIF with extras");
                    assert_eq!(&payload[12..], &[0, 0], "JFIF thumbnail");
                }
                0xE1..=0xEF => panic!("APP{} segment in output", marker - 0xE0),
                0xFE => panic!("comment in output"),
                0xDB | 0xC4 | 0xC0 | 0xDA | 0xDD | 0xD9 => {}
                other => panic!("unexpected segment 0x{other:02X}"),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        for needle in [
            "Exif",
            "LeakyPhone",
            "SERIAL",
            "rider",
            "xmpmeta",
            "ICC_PROFILE",
        ] {
            assert!(
                !text.contains(needle),
                "{needle} leaked into {}",
                path.display()
            );
        }
    }

    let meta = read_metadata(&scratch.input("leaky.jpg", &jpeg), &PhotoOptions::default()).unwrap();
    assert_eq!(
        (meta.width, meta.height, meta.orientation),
        (48, 64, Orientation::Rotate90)
    );
    assert_eq!(meta.captured_at, out.captured_at);
    assert_eq!(meta.gps, out.gps);
}

#[test]
fn same_photo_twice_is_stored_once() {
    let scratch = Scratch::new();
    let rgb = fixtures::quadrants(64, 48);
    let jpeg = fixtures::jpeg(&rgb, 64, 48, &JpegSpec::default());
    let a = process(&scratch, "a.jpg", &jpeg, &PhotoOptions::default());
    let b = process(&scratch, "b.jpg", &jpeg, &PhotoOptions::default());
    assert_eq!(a, b);
    assert_eq!(
        a.photo.path.file_name().unwrap().to_str().unwrap(),
        format!("{}.jpg", a.photo.sha256)
    );
    assert_eq!(
        a.thumbnail.path.file_name().unwrap().to_str().unwrap(),
        format!("{}.thumb.jpg", a.photo.sha256)
    );
    let bytes = std::fs::read(&a.photo.path).unwrap();
    assert_eq!(store::sha256_hex(&bytes), a.photo.sha256);
    assert_eq!(bytes.len() as u64, a.photo.bytes);
    let files: Vec<_> = std::fs::read_dir(scratch.out()).unwrap().collect();
    assert_eq!(files.len(), 2);
    let photo_ref = a.to_photo_ref();
    assert!(photo_ref.validate("photos[0]").is_ok());
    assert_eq!(
        (photo_ref.width, photo_ref.height, photo_ref.bytes),
        (64, 48, a.photo.bytes)
    );
}

#[test]
fn refuses_bad_input_with_typed_errors() {
    let scratch = Scratch::new();
    let out = scratch.out();
    let opts = PhotoOptions::default();
    let run = |name: &str, bytes: &[u8], opts: &PhotoOptions| {
        process_file(&scratch.input(name, bytes), &out, opts)
    };
    assert!(matches!(
        run("empty.jpg", b"", &opts),
        Err(PhotoError::Empty)
    ));
    let small = PhotoOptions {
        max_input_bytes: 100,
        ..PhotoOptions::default()
    };
    let jpeg = fixtures::jpeg(&fixtures::quadrants(64, 48), 64, 48, &JpegSpec::default());
    assert!(matches!(
        run("big.jpg", &jpeg, &small),
        Err(PhotoError::TooLarge { limit: 100, .. })
    ));
    assert!(matches!(
        run("bomb.jpg", &fixtures::bomb_jpeg(60_000, 60_000), &opts),
        Err(PhotoError::TooManyPixels {
            width: 60_000,
            height: 60_000,
            ..
        })
    ));
    assert!(matches!(
        run("bomb.png", &fixtures::bomb_png(100_000, 100_000), &opts),
        Err(PhotoError::TooManyPixels { width: 100_000, .. })
    ));
    // Under the pixel limit but a progressive frame needs its full coefficient buffer.
    let tight = PhotoOptions {
        max_decode_bytes: 1000,
        ..PhotoOptions::default()
    };
    let progressive = fixtures::jpeg(
        &fixtures::quadrants(64, 48),
        64,
        48,
        &JpegSpec {
            progressive: true,
            ..JpegSpec::default()
        },
    );
    assert!(matches!(
        run("prog.jpg", &progressive, &tight),
        Err(PhotoError::TooManyPixels { .. })
    ));
    assert!(matches!(
        run("bomb-meta.jpg", &fixtures::bomb_jpeg(60_000, 60_000), &opts).map(|_| ()),
        Err(PhotoError::TooManyPixels { .. })
    ));
    for (name, bytes) in [
        ("anim.gif", &b"GIF89a\x01\0\x01\0\0\0\0;"[..]),
        ("photo.heic", &b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"[..]),
        ("notes.txt", &b"this is not a photo"[..]),
    ] {
        assert!(
            matches!(
                run(name, bytes, &opts),
                Err(PhotoError::UnsupportedFormat { .. })
            ),
            "{name}"
        );
    }
    // Truncation anywhere is a typed error, never a half image.
    for cut in [3, 20, jpeg.len() / 2, jpeg.len() - 2] {
        let r = run("cut.jpg", &jpeg[..cut], &opts);
        assert!(
            matches!(
                r,
                Err(PhotoError::Truncated { .. } | PhotoError::Corrupt { .. })
            ),
            "cut at {cut}: {r:?}"
        );
    }
    let png = fixtures::png(&fixtures::quadrants(64, 48), 64, 48, PngColor::Rgb8, None);
    for cut in [5, 30, png.len() / 2, png.len() - 20] {
        let r = run("cut.png", &png[..cut], &opts);
        assert!(
            matches!(
                r,
                Err(PhotoError::Truncated { .. } | PhotoError::Corrupt { .. })
            ),
            "png cut at {cut}: {r:?}"
        );
    }
    let webp = fixtures::webp(&fixtures::quadrants(64, 48), 64, 48, false, None);
    for cut in [5, 13, 30, webp.len() / 2, webp.len() - 3] {
        let r = run("cut.webp", &webp[..cut], &opts);
        assert!(
            matches!(
                r,
                Err(PhotoError::Truncated { .. } | PhotoError::Corrupt { .. })
            ),
            "webp cut at {cut}: {r:?}"
        );
    }
    // 16383 x 16383 = 268 MP: refused from the header, before the frame is allocated; reading
    // its metadata only reports the claim.
    let bomb = fixtures::bomb_webp(16_383, 16_383);
    let r = run("bomb.webp", &bomb, &opts);
    assert!(
        matches!(r, Err(PhotoError::TooManyPixels { width: 16_383, .. })),
        "{r:?}"
    );
    let meta = read_metadata(&scratch.input("bomb.webp", &bomb), &opts).unwrap();
    assert_eq!((meta.width, meta.height), (16_383, 16_383));
    // Under the pixel limit, but WebP decodes its whole frame: that must fit the buffer limit.
    assert!(matches!(
        run("tight.webp", &webp, &tight),
        Err(PhotoError::TooManyPixels { .. })
    ));
    assert!(matches!(
        process_file(Path::new("/nonexistent/photo.jpg"), &out, &opts),
        Err(PhotoError::Io(_))
    ));
    // Nothing was written for any refused file.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}

#[test]
fn random_damage_never_panics() {
    use rand::{Rng, SeedableRng};
    let scratch = Scratch::new();
    let out = scratch.out();
    let opts = PhotoOptions {
        max_edge: 32,
        ..PhotoOptions::default()
    };
    let rgb = fixtures::quadrants(48, 32);
    let exif = privacy_spec();
    let seeds = [
        fixtures::jpeg(
            &rgb,
            48,
            32,
            &JpegSpec {
                exif: Some(exif.clone()),
                ..JpegSpec::default()
            },
        ),
        fixtures::jpeg(
            &rgb,
            48,
            32,
            &JpegSpec {
                progressive: true,
                ..JpegSpec::default()
            },
        ),
        fixtures::jpeg(
            &rgb,
            48,
            32,
            &JpegSpec {
                color: JpegColor::Ycck,
                ..JpegSpec::default()
            },
        ),
        fixtures::png(&rgb, 48, 32, PngColor::Palette, Some(&exif)),
        fixtures::webp(&rgb, 48, 32, true, Some(&exif)),
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6772_6964);
    let path = scratch.dir.path().join("damaged");
    for round in 0..400 {
        let seed = &seeds[round % seeds.len()];
        let mut data = seed.clone();
        if rng.random_bool(0.3) {
            data.truncate(rng.random_range(0..data.len()));
        }
        for _ in 0..rng.random_range(1..6) {
            if !data.is_empty() {
                let i = rng.random_range(0..data.len());
                data[i] = rng.random();
            }
        }
        std::fs::write(&path, &data).unwrap();
        // Any result is fine; a panic or a hang is not.
        let _ = process_file(&path, &out, &opts);
        let _ = read_metadata(&path, &opts);
    }
}

#[test]
fn display_p3_photos_are_converted_to_srgb_and_the_profile_dropped() {
    let scratch = Scratch::new();
    let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
    let rgb = fixtures::quadrants(64, 48);
    let spec = JpegSpec {
        icc: Some(p3),
        ..JpegSpec::default()
    };
    let out = process(
        &scratch,
        "p3.jpg",
        &fixtures::jpeg(&rgb, 64, 48, &spec),
        &PhotoOptions::default(),
    );
    let got = quadrant_colours(&out.photo.path);
    // P3 red (230, 20, 20) lies outside sRGB: it comes out as a fully saturated sRGB red with
    // the green/blue that the untagged copy keeps pushed down towards 0.
    assert!(
        got[0][0] > 240 && got[0][1] < 12 && got[0][2] < 12,
        "{:?}",
        got[0]
    );
    assert!(close(got[3], QUADRANTS[3], 24), "{:?}", got[3]);
    let bytes = std::fs::read(&out.photo.path).unwrap();
    assert!(
        fixtures::jpeg_markers(&bytes)
            .iter()
            .all(|(m, _)| *m != 0xE2)
    );
}

#[test]
fn interlaced_png_is_buffered_and_reduced() {
    let scratch = Scratch::new();
    let (w, h) = (203, 131);
    let png = fixtures::interlaced_png(&fixtures::quadrants(w, h), w, h);
    let out = process(&scratch, "adam7.png", &png, &PhotoOptions::default());
    assert_eq!((out.photo.width, out.photo.height), (w, h));
    assert_quadrants(&out.photo.path, QUADRANTS, 24, "adam7");
    let opts = PhotoOptions {
        max_edge: 60,
        ..PhotoOptions::default()
    };
    let out = process(&scratch, "adam7-small.png", &png, &opts);
    assert_eq!((out.photo.width, out.photo.height), (60, 39));
    assert_quadrants(&out.photo.path, QUADRANTS, 24, "adam7 reduced");
    // The frame buffer is checked against max_decode_bytes before it is allocated.
    let tight = PhotoOptions {
        max_decode_bytes: 10_000,
        ..PhotoOptions::default()
    };
    let r = process_file(
        &scratch.input("adam7-big.png", &png),
        &scratch.out(),
        &tight,
    );
    assert!(matches!(r, Err(PhotoError::TooManyPixels { .. })), "{r:?}");
}

#[test]
fn verify_jpeg_accepts_pipeline_output_and_refuses_impostors() {
    let s = Scratch::new();
    let input = s.input(
        "in.jpg",
        &fixtures::jpeg(&fixtures::quadrants(64, 48), 64, 48, &JpegSpec::default()),
    );
    let done = process_file(&input, &s.out(), &PhotoOptions::default()).unwrap();
    let good = std::fs::read(&done.photo.path).unwrap();
    let opts = PhotoOptions::default();
    assert_eq!(verify_jpeg(&good, &opts).unwrap(), (64, 48));

    let mut trailing = good.clone();
    trailing.extend_from_slice(b"<script>hidden payload</script>");
    assert!(matches!(
        verify_jpeg(&trailing, &opts),
        Err(PhotoError::Corrupt { .. })
    ));
    let cut = &good[..good.len() / 2];
    assert!(verify_jpeg(cut, &opts).is_err(), "truncated");
    let mut inside = good.clone();
    let mid = inside.len() / 2;
    inside[mid..mid + 64].fill(0xFF);
    // Corrupt entropy data either fails or decodes to noise; the EOI is still there, so the
    // check is the decoder's. Either way nothing panics.
    let _ = verify_jpeg(&inside, &opts);
    assert!(matches!(verify_jpeg(b"", &opts), Err(PhotoError::Empty)));
    assert!(verify_jpeg(b"GIF89a not a jpeg at all", &opts).is_err());
    let png = fixtures::png(&fixtures::quadrants(8, 8), 8, 8, PngColor::Rgb8, None);
    assert!(verify_jpeg(&png, &opts).is_err(), "PNG is not a JPEG");
    let mut bomb = fixtures::bomb_jpeg(60_000, 60_000);
    bomb.extend_from_slice(&[0xFF, 0xD9]);
    assert!(matches!(
        verify_jpeg(&bomb, &opts),
        Err(PhotoError::TooManyPixels { .. })
    ));
}
