//! Photo pipeline, step by step: decode (DCT-scaled), resample to 1600 px, thumbnail resample,
//! JPEG encode, and the whole `process_file`, on real photos. Prints its own figures (median
//! and min-max of the runs, milliseconds); `scripts/bench-photo` compares the whole against vips.
//!
//! ```text
//! cargo bench -p gridline-core --features test-fixtures --bench photo_stages            # ../shared/data/photos
//! cargo bench -p gridline-core --features test-fixtures --bench photo_stages -- a.jpg b.png [--runs N]
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use gridline_core::photo::stages::{self, StagePixels};
use gridline_core::photo::{PhotoOptions, process_file};

const DEFAULT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/photos");

fn main() {
    let mut runs = 15usize;
    let mut photos = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| fail("--runs needs a positive number"))
            }
            "--bench" => {}
            _ => photos.push(PathBuf::from(arg)),
        }
    }
    if photos.is_empty() {
        photos = photos_in(Path::new(DEFAULT_DIR));
    }
    let opts = PhotoOptions::default();
    let out = std::env::temp_dir().join(format!("gridline-photo-stages-{}", std::process::id()));
    println!("photo stages, {runs} runs each: median (min-max) ms");
    for photo in &photos {
        let name = photo.file_name().map_or_else(
            || photo.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let decoded = stages::decode_input(photo, &opts)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", photo.display())));
        let resized = expect(stages::resize(&decoded, opts.max_edge));
        let (dw, dh) = decoded.size();
        let (rw, rh) = resized.size();
        println!("{name}: decoded {dw}x{dh}, photo {rw}x{rh}");
        report("decode", runs, || {
            pixel_count(expect(stages::decode_input(photo, &opts)))
        });
        report("resample", runs, || {
            pixel_count(expect(stages::resize(&decoded, opts.max_edge)))
        });
        report("thumbnail", runs, || {
            pixel_count(expect(stages::resize(&resized, opts.thumb_edge)))
        });
        report("encode", runs, || {
            expect(stages::encode_jpeg(&resized, opts.quality)).len()
        });
        report("process_file", runs, || {
            let _ = std::fs::remove_dir_all(&out);
            expect(std::fs::create_dir_all(&out));
            expect(process_file(photo, &out, &opts)).photo.bytes as usize
        });
    }
    let _ = std::fs::remove_dir_all(&out);
}

fn photos_in(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| {
        fail(&format!(
            "{}: {e}; pass photo files as arguments",
            dir.display()
        ))
    });
    let mut photos: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| {
                ["jpg", "jpeg", "png", "webp"]
                    .contains(&x.to_string_lossy().to_lowercase().as_str())
            })
        })
        .collect();
    photos.sort();
    photos
}

fn pixel_count(pixels: StagePixels) -> usize {
    let (w, h) = pixels.size();
    w as usize * h as usize
}

/// Runs `step` once to warm up, then `runs` times; prints median and range.
fn report(label: &str, runs: usize, mut step: impl FnMut() -> usize) {
    std::hint::black_box(step());
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(step());
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "  {label:<13} {:7.2} ({:.2}-{:.2})",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}

fn expect<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| fail(&e.to_string()))
}

fn fail(msg: &str) -> ! {
    eprintln!("photo_stages: {msg}");
    std::process::exit(1)
}
