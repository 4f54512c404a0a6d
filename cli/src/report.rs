//! `gridline report`: file one report into the local outbox from flags, exactly as the app would.

use std::path::PathBuf;

use clap::Args;
use gridline_core::{Client, ClientConfig, DraftPatch, LocalReport};
use gridline_protocol::{
    AttrValue, Catalog, CoordSystem, LocationFix, LocationProvider, Outreach, ReportKind, Severity,
    Timestamp, VenueType,
};
use serde::Serialize;

use crate::output::{CliError, print_json};

/// Flags of `gridline report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The device database (created if missing).
    #[arg(long, env = "GRIDLINE_DB", default_value = "gridline.db")]
    pub db: PathBuf,
    /// Report kind: road_damage, garbage_sorting, anti_fraud_outreach, other (or verification;
    /// see `gridline verify`).
    #[arg(long)]
    pub kind: String,
    /// Category code of that kind (see `gridline catalog`).
    #[arg(long)]
    pub category: String,
    /// Latitude in degrees (default: from the first photo's EXIF GPS).
    #[arg(long, allow_negative_numbers = true, requires = "lon")]
    pub lat: Option<f64>,
    /// Longitude in degrees (default: from the first photo's EXIF GPS).
    #[arg(long, allow_negative_numbers = true, requires = "lat")]
    pub lon: Option<f64>,
    /// An evidence photo, JPEG, PNG or WebP (repeatable; processed and stripped of metadata).
    #[arg(long = "photo", value_name = "PATH")]
    pub photos: Vec<PathBuf>,
    /// Horizontal accuracy in metres.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    pub accuracy: f64,
    /// Coordinate system of --lat/--lon (stored as WGS-84).
    #[arg(long, default_value = "wgs84")]
    pub coord: String,
    /// Where the position came from: gps, network, fused, manual, photo_exif.
    #[arg(long, default_value = "manual")]
    pub provider: String,
    /// When the fix was taken (RFC 3339); default now.
    #[arg(long)]
    pub fix_time: Option<String>,
    /// The OS flagged the position as simulated.
    #[arg(long)]
    pub mock: bool,
    /// Free-text note.
    #[arg(long, default_value = "")]
    pub note: String,
    /// Severity: low, medium, high, urgent.
    #[arg(long, default_value = "medium")]
    pub severity: String,
    /// A category attribute, `code=value` (repeatable; lists as `a,b`).
    #[arg(long = "attr", value_name = "CODE=VALUE")]
    pub attrs: Vec<String>,
    /// Outreach: people reached.
    #[arg(long)]
    pub people: Option<u32>,
    /// Outreach: leaflets or materials handed out.
    #[arg(long, default_value_t = 0)]
    pub materials: u32,
    /// Outreach: venue type (street, shop, community, school, office, market, other).
    #[arg(long)]
    pub venue: Option<String>,
    /// The rider filing it.
    #[arg(long, env = "GRIDLINE_RIDER", default_value = "cli-rider")]
    pub reporter: String,
    /// Keep it as a draft instead of submitting it.
    #[arg(long)]
    pub draft: bool,
}

/// What `report --json` prints.
#[derive(Debug, Serialize)]
struct Filed<'a> {
    id: String,
    photos: Vec<&'a str>,
    state: &'a str,
    kind: &'a str,
    category: &'a str,
    grid_id: Option<&'a str>,
    location_warnings: &'a [String],
    /// Reports of the same category within 50 m in the last 7 days: maybe the same problem.
    nearby: Vec<gridline_core::client::NearbyReport>,
    /// Duplicate candidates ranked by photo similarity, distance, category and time, best
    /// first, each with its reason (on this device, offline; the server ranks again).
    candidates: Vec<gridline_core::client::NearbyReport>,
    /// Fraud signals as the device sees them (the server re-checks at ingest).
    signals: Vec<gridline_protocol::evidence::FraudSignal>,
}

/// Runs `gridline report`.
pub fn run(args: ReportArgs, json: bool) -> Result<(), CliError> {
    let kind = ReportKind::parse(&args.kind).ok_or_else(|| {
        CliError::invalid(
            "kind",
            format!(
                "{:?} is not one of road_damage, garbage_sorting, anti_fraud_outreach, other, \
                 verification",
                args.kind
            ),
        )
    })?;
    let client = Client::open(ClientConfig {
        db_path: args.db.clone(),
        reporter: args.reporter.clone(),
        app_version: concat!("gridline-cli/", env!("CARGO_PKG_VERSION")).to_string(),
    })?;
    let mut patch = build_patch(&args, kind, &client.catalog())?;
    if patch.location.is_none() {
        let from_photo = match args.photos.first() {
            Some(p) => client.location_from_photo(p)?,
            None => None,
        };
        patch.location = Some(from_photo.ok_or_else(|| {
            CliError::invalid(
                "location",
                "give --lat and --lon, or a --photo that carries GPS tags",
            )
        })?);
    }
    let report = file(&client, kind, patch, &args.photos, !args.draft)?;
    let nearby: Vec<_> = match &report.location {
        Some(l) => client
            .nearby_reports(
                l.lon,
                l.lat,
                &report.category,
                gridline_core::client::NEARBY_RADIUS_M,
                7,
            )?
            .into_iter()
            .filter(|n| n.report_id != report.id)
            .collect(),
        None => Vec::new(),
    };
    let candidates = client.nearby_candidates(
        report.id,
        gridline_core::client::NEARBY_RADIUS_M,
        gridline_core::duplicates::CANDIDATE_DAYS,
    )?;
    let signals = client.fraud_signals(report.id)?;
    if json {
        print_json(&Filed {
            id: report.id.to_string(),
            photos: report.photos.iter().map(|p| p.sha256.as_str()).collect(),
            state: report.state.as_str(),
            kind: report.kind.as_str(),
            category: &report.category,
            grid_id: report.grid_id.as_deref(),
            location_warnings: &report.location_warnings,
            nearby,
            candidates,
            signals,
        })
    } else {
        println!(
            "{} {} {}/{}",
            report.state.as_str(),
            report.id,
            report.kind.as_str(),
            report.category
        );
        for w in &report.location_warnings {
            println!("  warning: {w}");
        }
        for s in &signals {
            println!("  signal: {} ({:?}): {}", s.name, s.severity, s.explanation);
        }
        for c in &candidates {
            let which = c
                .ticket_id
                .clone()
                .unwrap_or_else(|| c.report_id.to_string());
            println!("  possibly the same problem: {which} ({})", c.reason);
        }
        Ok(())
    }
}

/// Creates, fills and (unless `submit` is false) submits a report. A refused report leaves
/// nothing behind: its draft is deleted again.
pub fn file(
    client: &Client,
    kind: ReportKind,
    patch: DraftPatch,
    photos: &[PathBuf],
    submit: bool,
) -> Result<LocalReport, CliError> {
    let draft = client.create_draft(kind)?;
    let result = client
        .update_draft(draft.id, patch)
        .and_then(|r| {
            for p in photos {
                client.attach_photo(r.id, p)?;
            }
            client.get(r.id)
        })
        .and_then(|r| if submit { client.submit(r.id) } else { Ok(r) });
    match result {
        Ok(r) => Ok(r),
        Err(e) => {
            // Best effort: the error the user needs is the validation one, not a cleanup failure.
            let _ = client.delete_draft(draft.id);
            Err(e.into())
        }
    }
}

fn build_patch(
    args: &ReportArgs,
    kind: ReportKind,
    catalog: &Catalog,
) -> Result<DraftPatch, CliError> {
    let coord = CoordSystem::parse(&args.coord).ok_or_else(|| {
        CliError::invalid(
            "coord",
            format!("{:?} is not one of wgs84, gcj02, bd09", args.coord),
        )
    })?;
    let provider = LocationProvider::parse(&args.provider).ok_or_else(|| {
        CliError::invalid(
            "provider",
            format!(
                "{:?} is not one of gps, network, fused, manual, photo_exif",
                args.provider
            ),
        )
    })?;
    let severity = Severity::parse(&args.severity).ok_or_else(|| {
        CliError::invalid(
            "severity",
            format!(
                "{:?} is not one of low, medium, high, urgent",
                args.severity
            ),
        )
    })?;
    let fix_time = match &args.fix_time {
        Some(t) => Timestamp::parse_rfc3339(t)
            .ok_or_else(|| CliError::invalid("fix_time", "is not an RFC 3339 date-time"))?,
        None => Timestamp::now(),
    };
    let location = match (args.lat, args.lon) {
        (Some(lat), Some(lon)) => {
            let (lat, lon) = to_wgs84(coord, lat, lon)?;
            Some(LocationFix {
                lat,
                lon,
                accuracy_m: args.accuracy,
                altitude_m: None,
                provider,
                fix_time,
                mock: args.mock,
                source_crs: coord,
            })
        }
        _ => None,
    };
    let mut set_attributes = std::collections::BTreeMap::new();
    for pair in &args.attrs {
        let (code, raw) = pair
            .split_once('=')
            .ok_or_else(|| CliError::invalid("attr", format!("{pair:?} is not CODE=VALUE")))?;
        let def = catalog
            .category(kind, &args.category)
            .and_then(|c| c.attributes.iter().find(|a| a.code == code));
        // Unknown codes and categories are reported by the core's validation, with its wording.
        let value = match def {
            Some(def) => AttrValue::parse_for(def.datatype, raw)
                .map_err(|e| CliError::invalid(format!("attributes.{code}"), e))?,
            None => AttrValue::Text(raw.to_string()),
        };
        set_attributes.insert(code.to_string(), value);
    }
    let outreach = match (args.people, &args.venue) {
        (None, None) => None,
        (Some(people), venue) => {
            let venue_type = match venue {
                Some(v) => VenueType::parse(v).ok_or_else(|| {
                    CliError::invalid("outreach.venue_type", format!("{v:?} is not one of street, shop, community, school, office, market, other"))
                })?,
                None => VenueType::Other,
            };
            Some(Outreach {
                people_reached: people,
                materials_handed_out: args.materials,
                venue_type,
            })
        }
        (None, Some(_)) => {
            return Err(CliError::invalid(
                "outreach.people_reached",
                "--venue needs --people",
            ));
        }
    };
    Ok(DraftPatch {
        kind: None,
        category: Some(args.category.clone()),
        note: Some(args.note.clone()),
        severity: Some(severity),
        location,
        set_attributes,
        remove_attributes: vec![],
        outreach,
    })
}

/// Converts input coordinates to WGS-84, the only system the store and the wire know.
fn to_wgs84(coord: CoordSystem, lat: f64, lon: f64) -> Result<(f64, f64), CliError> {
    if coord == CoordSystem::Wgs84 {
        return Ok((lat, lon)); // validated with the rest of the fix, naming location.lat/lon
    }
    gridline_core::geo::convert(lon, lat, coord, CoordSystem::Wgs84)
        .map(|(lon, lat)| (lat, lon))
        .map_err(|e| match e {
            gridline_core::geo::GeoError::InvalidPoint(f) => {
                let axis = if f.field.ends_with("lon") {
                    "lon"
                } else {
                    "lat"
                };
                CliError::invalid(format!("location.{axis}"), f.reason)
            }
            other => CliError::invalid("location", other.to_string()),
        })
}
