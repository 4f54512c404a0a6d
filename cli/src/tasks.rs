//! `gridline tasks` and `gridline verify`: the rider's side of verification (核查). Tasks come
//! down with `gridline sync` and are listed offline; a verification is filed into the outbox
//! like any report and sent by the next sync.

use std::path::PathBuf;

use clap::Args;
use gridline_core::{Client, ClientConfig};
use gridline_protocol::verification::{self, VerificationClaim};

use crate::output::{CliError, print_json};
use crate::report::{self, ReportArgs};

/// Flags of `gridline tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// The device database.
    #[arg(long, env = "GRIDLINE_DB", default_value = "gridline.db")]
    pub db: PathBuf,
}

/// Flags of `gridline verify`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("result").required(true).args(["fixed", "not_fixed"])))]
pub struct VerifyArgs {
    /// The device database.
    #[arg(long, env = "GRIDLINE_DB", default_value = "gridline.db")]
    pub db: PathBuf,
    /// The ticket to verify (from `gridline tasks`).
    pub ticket: String,
    /// The problem is gone.
    #[arg(long)]
    pub fixed: bool,
    /// The problem is still there: the ticket goes back to its department.
    #[arg(long)]
    pub not_fixed: bool,
    /// Latitude in degrees (default: from the photo's EXIF GPS).
    #[arg(long, allow_negative_numbers = true, requires = "lon")]
    pub lat: Option<f64>,
    /// Longitude in degrees (default: from the photo's EXIF GPS).
    #[arg(long, allow_negative_numbers = true, requires = "lat")]
    pub lon: Option<f64>,
    /// Horizontal accuracy in metres.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    pub accuracy: f64,
    /// Coordinate system of --lat/--lon (stored as WGS-84).
    #[arg(long, default_value = "wgs84")]
    pub coord: String,
    /// Evidence photo (repeatable).
    #[arg(long = "photo", value_name = "PATH")]
    pub photos: Vec<PathBuf>,
    /// What the rider saw.
    #[arg(long, default_value = "")]
    pub note: String,
    /// The rider filing it.
    #[arg(long, env = "GRIDLINE_RIDER", default_value = "cli-rider")]
    pub reporter: String,
}

/// Runs `gridline tasks`.
pub fn tasks(args: TasksArgs, json: bool) -> Result<(), CliError> {
    let client = Client::open(ClientConfig {
        db_path: args.db,
        reporter: "cli-rider".into(),
        app_version: concat!("gridline-cli/", env!("CARGO_PKG_VERSION")).to_string(),
    })?;
    let tasks = client.tasks()?;
    if json {
        return print_json(&tasks);
    }
    if tasks.is_empty() {
        println!("no verification tasks (run `gridline sync` to pull them)");
        return Ok(());
    }
    println!(
        "{:<14} {:<34} {:<8} {:>11} {:>10}  resolution",
        "ticket", "kind/category", "grid", "lat", "lon"
    );
    for t in tasks {
        let note: String = t
            .resolution_note
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(40)
            .collect::<String>()
            .replace(['\n', '\r', '\t'], " ");
        println!(
            "{:<14} {:<34} {:<8} {:>11.6} {:>10.6}  {note}",
            t.ticket_id,
            format!("{}/{}", t.kind.as_str(), t.category),
            t.grid_id.as_deref().unwrap_or("-"),
            t.lat,
            t.lon
        );
    }
    Ok(())
}

/// Runs `gridline verify`: files a verification report through `gridline report`'s path.
pub fn verify(args: VerifyArgs, json: bool) -> Result<(), CliError> {
    let claim = VerificationClaim {
        ticket_id: args.ticket.trim().to_string(),
        fixed: args.fixed && !args.not_fixed,
    };
    let attrs = claim
        .attributes()
        .into_iter()
        .map(|(code, value)| match value {
            gridline_protocol::AttrValue::Text(t) => format!("{code}={t}"),
            other => format!("{code}={other:?}"),
        })
        .collect();
    report::run(
        ReportArgs {
            db: args.db,
            kind: "verification".into(),
            category: verification::CATEGORY.into(),
            lat: args.lat,
            lon: args.lon,
            photos: args.photos,
            accuracy: args.accuracy,
            coord: args.coord,
            provider: "gps".into(),
            fix_time: None,
            mock: false,
            note: args.note,
            severity: "medium".into(),
            attrs,
            people: None,
            materials: 0,
            venue: None,
            reporter: args.reporter,
            draft: false,
        },
        json,
    )
}
