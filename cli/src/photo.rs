//! `gridline photo`: run the evidence-photo pipeline on a file, the way the app does on
//! submit, and print what it made.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gridline_core::photo::{self, ImageFile, PhotoMetadata, PhotoOptions, ProcessedPhoto};
use serde_json::{Value, json};

/// Photo pipeline commands.
#[derive(Debug, Args)]
pub struct PhotoCommand {
    #[command(subcommand)]
    action: PhotoAction,
}

#[derive(Debug, Subcommand)]
enum PhotoAction {
    /// Make the upright, metadata-free evidence JPEG and its thumbnail, named by SHA-256.
    Process(ProcessArgs),
    /// Print size, orientation, capture time and GPS position read from the photo's header.
    Meta(MetaArgs),
}

#[derive(Debug, Args)]
struct ProcessArgs {
    /// JPEG, PNG or WebP to process.
    input: PathBuf,
    /// Media folder to write `<sha256>.jpg` and `<sha256>.thumb.jpg` into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Longest side of the result in pixels (never enlarged).
    #[arg(long, default_value_t = PhotoOptions::default().max_edge,
          value_parser = clap::value_parser!(u32).range(1..=65_535))]
    max_edge: u32,
    /// JPEG quality, 1 to 100.
    #[arg(long, default_value_t = PhotoOptions::default().quality,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
}

#[derive(Debug, Args)]
struct MetaArgs {
    /// JPEG, PNG or WebP to inspect.
    input: PathBuf,
}

/// Runs the command; the error is one line for stderr.
pub fn run(cmd: PhotoCommand, json: bool) -> Result<(), String> {
    match cmd.action {
        PhotoAction::Process(args) => process(args, json),
        PhotoAction::Meta(args) => meta(args, json),
    }
}

fn process(args: ProcessArgs, json: bool) -> Result<(), String> {
    let opts = PhotoOptions {
        max_edge: args.max_edge,
        quality: args.quality,
        ..PhotoOptions::default()
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let made = photo::process_file(&args.input, &args.out, &opts)
        .map_err(|e| format!("{}: {e}", args.input.display()))?;
    if json {
        println!("{}", processed_json(&made));
    } else {
        print_file("photo", &made.photo);
        print_file("thumbnail", &made.thumbnail);
        print_common(&made.captured_at, &made.gps);
    }
    Ok(())
}

fn meta(args: MetaArgs, json: bool) -> Result<(), String> {
    let m = photo::read_metadata(&args.input, &PhotoOptions::default())
        .map_err(|e| format!("{}: {e}", args.input.display()))?;
    if json {
        println!("{}", metadata_json(&m));
    } else {
        println!(
            "size       {}x{} (upright, {:?})",
            m.width, m.height, m.orientation
        );
        print_common(&m.captured_at, &m.gps);
    }
    Ok(())
}

fn print_file(label: &str, f: &ImageFile) {
    println!(
        "{label:<10} {}  {}x{}  {} bytes  sha256 {}",
        f.path.display(),
        f.width,
        f.height,
        f.bytes,
        f.sha256
    );
}

fn print_common(
    captured_at: &Option<gridline_protocol::Timestamp>,
    gps: &Option<photo::GpsCoordinates>,
) {
    match captured_at {
        Some(t) => println!("captured   {t}"),
        None => println!("captured   unknown"),
    }
    match gps {
        Some(g) => println!("gps        {:.6}, {:.6}", g.lat, g.lon),
        None => println!("gps        none"),
    }
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn file_json(f: &ImageFile) -> Value {
    json!({
        "path": path_text(&f.path),
        "width": f.width,
        "height": f.height,
        "bytes": f.bytes,
        "sha256": f.sha256,
    })
}

fn gps_json(gps: &Option<photo::GpsCoordinates>) -> Value {
    gps.map_or(Value::Null, |g| json!({"lat": g.lat, "lon": g.lon}))
}

fn processed_json(p: &ProcessedPhoto) -> Value {
    json!({
        "photo": file_json(&p.photo),
        "thumbnail": file_json(&p.thumbnail),
        "captured_at": p.captured_at.map(|t| t.to_rfc3339()),
        "gps": gps_json(&p.gps),
    })
}

fn metadata_json(m: &PhotoMetadata) -> Value {
    json!({
        "width": m.width,
        "height": m.height,
        "captured_at": m.captured_at.map(|t| t.to_rfc3339()),
        "gps": gps_json(&m.gps),
    })
}
