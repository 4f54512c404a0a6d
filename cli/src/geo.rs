//! `gridline geo`: convert coordinates between WGS-84, GCJ-02 and BD-09, and find the grid that
//! contains a point, offline. One point from the arguments, or many as `lon,lat` CSV lines on
//! stdin (one output line per input line, so results line up with the input in a spreadsheet).
//!
//! Stdin mode stops at the first bad line: it prints the lines before it, then one error naming the
//! line number and exits 2. Skipping or blanking a bad line would let a pipeline carry on with a
//! silently wrong file; fix the line and rerun. Blank lines give blank output lines, and a first
//! line `lon,lat` is a header and is echoed.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::PathBuf;

use crate::output::CliError;
use clap::{Args, Subcommand, ValueEnum};
use gridline_core::geo::{self, GeoError, GridIndex, GridInfo, GridSet};
use gridline_protocol::CoordSystem;

/// `gridline geo …` subcommands.
#[derive(Debug, Subcommand)]
pub enum GeoCommand {
    /// Convert `LON LAT` (or `lon,lat` lines on stdin) from one coordinate system to another.
    Convert(ConvertArgs),
    /// Print the id of the grid containing `LON LAT` (or each `lon,lat` line on stdin), or an
    /// empty line when no grid contains it.
    Locate(LocateArgs),
}

/// A coordinate system as a command-line value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Crs {
    /// GNSS / GPS (and every map outside China).
    Wgs84,
    /// AMap, Tencent and other Chinese maps.
    Gcj02,
    /// Baidu maps.
    Bd09,
}

impl From<Crs> for CoordSystem {
    fn from(c: Crs) -> Self {
        match c {
            Crs::Wgs84 => CoordSystem::Wgs84,
            Crs::Gcj02 => CoordSystem::Gcj02,
            Crs::Bd09 => CoordSystem::Bd09,
        }
    }
}

/// Flags of `gridline geo convert`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct ConvertArgs {
    /// System of the input coordinates.
    #[arg(long, value_enum)]
    pub from: Crs,
    /// System to convert to.
    #[arg(long, value_enum)]
    pub to: Crs,
    /// Longitude in degrees; omit LON and LAT to read `lon,lat` lines from stdin.
    #[arg(requires = "lat")]
    pub lon: Option<String>,
    /// Latitude in degrees.
    pub lat: Option<String>,
}

/// Flags of `gridline geo locate`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct LocateArgs {
    /// GeoJSON FeatureCollection of grid Polygons/MultiPolygons.
    #[arg(long)]
    pub grids: PathBuf,
    /// System of the grid file's vertices (converted to WGS-84 on load).
    #[arg(long, value_enum, default_value = "wgs84")]
    pub coord: Crs,
    /// System of the query points; defaults to the same as `--coord`.
    #[arg(long, value_enum)]
    pub point_coord: Option<Crs>,
    /// Longitude in degrees; omit LON and LAT to read `lon,lat` lines from stdin.
    #[arg(requires = "lat")]
    pub lon: Option<String>,
    /// Latitude in degrees.
    pub lat: Option<String>,
}

/// A failure of a geo command: one line for stderr and the exit code (2 bad input, 1 otherwise).
#[derive(Debug)]
pub struct GeoFailure {
    /// The field or input at fault, when there is one.
    pub field: Option<String>,
    /// One-line human message.
    pub message: String,
    /// Process exit code.
    pub exit: u8,
}

impl GeoFailure {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        GeoFailure {
            field: Some(field.into()),
            message: message.into(),
            exit: 2,
        }
    }

    fn io(message: impl Into<String>) -> Self {
        GeoFailure {
            field: None,
            message: message.into(),
            exit: 1,
        }
    }
}

/// Runs a `gridline geo` subcommand; `json` prints one JSON value per point instead of text.
impl From<GeoFailure> for CliError {
    fn from(f: GeoFailure) -> Self {
        let code = if f.exit == 2 { "validation" } else { "io" };
        CliError {
            code,
            field: f.field,
            message: f.message,
            exit: f.exit,
            json_done: false,
        }
    }
}

/// Runs `gridline geo`.
pub fn run(command: GeoCommand, json: bool) -> Result<(), GeoFailure> {
    match command {
        GeoCommand::Convert(args) => convert(args, json),
        GeoCommand::Locate(args) => locate(args, json),
    }
}

fn convert(args: ConvertArgs, json: bool) -> Result<(), GeoFailure> {
    let (from, to) = (CoordSystem::from(args.from), CoordSystem::from(args.to));
    let one = |lon: f64, lat: f64| -> Result<String, GeoError> {
        let (x, y) = geo::convert(lon, lat, from, to)?;
        Ok(if json {
            serde_json::json!({"lon": x, "lat": y}).to_string()
        } else {
            // 8 decimals: 1.1 mm of latitude, enough for the centimetre-exact inverse.
            format!("{x:.8},{y:.8}")
        })
    };
    for_each_point(args.lon, args.lat, one)
}

fn locate(args: LocateArgs, json: bool) -> Result<(), GeoFailure> {
    let path = args.grids.display().to_string();
    let text = std::fs::read_to_string(&args.grids)
        .map_err(|e| GeoFailure::io(format!("cannot read grid file {path}: {e}")))?;
    let grid_crs = CoordSystem::from(args.coord);
    let set = GridSet::from_geojson(&text, grid_crs)
        .map_err(|e| GeoFailure::invalid("grids", format!("invalid grid file {path}: {e}")))?;
    let index = GridIndex::new(set);
    let point_crs = args.point_coord.map_or(grid_crs, CoordSystem::from);
    let one = |lon: f64, lat: f64| -> Result<String, GeoError> {
        let (x, y) = geo::convert(lon, lat, point_crs, CoordSystem::Wgs84)?;
        let found: Option<&GridInfo> = index.locate(x, y);
        Ok(match (json, found) {
            (true, found) => serde_json::to_string(&found).unwrap_or_default(),
            (false, Some(g)) => g.id.clone(),
            (false, None) => String::new(),
        })
    };
    for_each_point(args.lon, args.lat, one)
}

/// Applies `one` to the point in the arguments, or to every `lon,lat` line of stdin.
fn for_each_point(
    lon: Option<String>,
    lat: Option<String>,
    one: impl Fn(f64, f64) -> Result<String, GeoError>,
) -> Result<(), GeoFailure> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let write_err = |e: io::Error| GeoFailure::io(format!("cannot write output: {e}"));
    if let (Some(lon), Some(lat)) = (lon, lat) {
        let lon = parse_number("lon", &lon)?;
        let lat = parse_number("lat", &lat)?;
        let line = one(lon, lat).map_err(|e| point_failure(e, None))?;
        writeln!(out, "{line}").map_err(write_err)?;
        return out.flush().map_err(write_err);
    }
    for (i, line) in io::stdin().lock().lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| GeoFailure::io(format!("cannot read stdin line {n}: {e}")))?;
        let text = line.trim();
        let result = if text.is_empty() {
            Ok(String::new())
        } else if n == 1 && text.replace(' ', "").eq_ignore_ascii_case("lon,lat") {
            Ok(text.to_string())
        } else {
            parse_line(text)
                .and_then(|(lon, lat)| one(lon, lat).map_err(|e| point_failure(e, Some(n))))
                .map_err(|mut f| {
                    if !f.message.starts_with("line ") {
                        f.message = format!("line {n}: {}", f.message);
                    }
                    f
                })
        };
        match result {
            Ok(text) => writeln!(out, "{text}").map_err(write_err)?,
            Err(f) => {
                out.flush().map_err(write_err)?;
                return Err(f);
            }
        }
    }
    out.flush().map_err(write_err)
}

fn parse_line(text: &str) -> Result<(f64, f64), GeoFailure> {
    let mut cells = text.split(',');
    match (cells.next(), cells.next(), cells.next()) {
        (Some(lon), Some(lat), None) => Ok((parse_number("lon", lon)?, parse_number("lat", lat)?)),
        _ => Err(GeoFailure::invalid(
            "line",
            format!(
                "expected \"lon,lat\", got {:?}",
                text.chars().take(60).collect::<String>()
            ),
        )),
    }
}

fn parse_number(field: &str, text: &str) -> Result<f64, GeoFailure> {
    let t = text.trim();
    t.parse::<f64>().map_err(|_| {
        let shown: String = t.chars().take(40).collect();
        GeoFailure::invalid(field, format!("{field} {shown:?} is not a number"))
    })
}

fn point_failure(e: GeoError, line: Option<usize>) -> GeoFailure {
    let field = match &e {
        GeoError::InvalidPoint(f) => f.field.clone(),
        _ => "point".into(),
    };
    let message = match line {
        Some(n) => format!("line {n}: {e}"),
        None => e.to_string(),
    };
    GeoFailure::invalid(field, message)
}
