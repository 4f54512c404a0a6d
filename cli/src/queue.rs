//! `gridline queue`: list the local outbox.

use std::path::PathBuf;

use clap::Args;
use gridline_core::{Client, ClientConfig, ListFilter, LocalReport, ReportState};
use serde::Serialize;

use crate::output::{CliError, print_json};

/// Flags of `gridline queue`.
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// The device database.
    #[arg(long, env = "GRIDLINE_DB", default_value = "gridline.db")]
    pub db: PathBuf,
    /// Only reports in this state (repeatable): draft, queued, sending, accepted, rejected.
    #[arg(long = "state")]
    pub states: Vec<String>,
    /// At most this many, newest first.
    #[arg(long)]
    pub limit: Option<u32>,
}

/// One row of `queue --json`.
#[derive(Debug, Serialize)]
pub struct QueueRow<'a> {
    id: String,
    kind: &'a str,
    category: &'a str,
    state: &'a str,
    severity: &'a str,
    note: &'a str,
    lat: Option<f64>,
    lon: Option<f64>,
    grid_id: Option<&'a str>,
    location_warnings: &'a [String],
    photos: usize,
    created_at: String,
    submitted_at: Option<String>,
    ticket_id: Option<&'a str>,
    ticket_status: Option<&'a str>,
    rejection: Option<&'a gridline_core::Rejection>,
}

impl<'a> QueueRow<'a> {
    /// The JSON row for one report.
    pub fn of(r: &'a LocalReport) -> Self {
        QueueRow {
            id: r.id.to_string(),
            kind: r.kind.as_str(),
            category: &r.category,
            state: r.state.as_str(),
            severity: r.severity.as_str(),
            note: &r.note,
            lat: r.location.as_ref().map(|l| l.lat),
            lon: r.location.as_ref().map(|l| l.lon),
            grid_id: r.grid_id.as_deref(),
            location_warnings: &r.location_warnings,
            photos: r.photos.len(),
            created_at: r.created_at.to_rfc3339(),
            submitted_at: r.submitted_at.map(|t| t.to_rfc3339()),
            ticket_id: r.ticket_id.as_deref(),
            ticket_status: r.ticket_status.map(|s| s.as_str()),
            rejection: r.rejection.as_ref(),
        }
    }
}

/// Runs `gridline queue`.
pub fn run(args: QueueArgs, json: bool) -> Result<(), CliError> {
    let states = args
        .states
        .iter()
        .map(|s| {
            ReportState::parse(s).ok_or_else(|| {
                CliError::invalid(
                    "state",
                    format!("{s:?} is not one of draft, queued, sending, accepted, rejected"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !args.db.exists() {
        return Err(CliError::other(
            "not_found",
            format!("no database at {}", args.db.display()),
        ));
    }
    let client = Client::open(ClientConfig {
        db_path: args.db,
        reporter: "cli-reader".into(),
        app_version: String::new(),
    })?;
    let reports = client.list(&ListFilter {
        states,
        limit: args.limit,
    })?;
    if json {
        return print_json(&reports.iter().map(QueueRow::of).collect::<Vec<_>>());
    }
    print_table(&reports);
    let c = client.counts()?;
    println!(
        "{} drafts, {} pending, {} accepted, {} rejected",
        c.drafts, c.pending, c.accepted, c.rejected
    );
    Ok(())
}

/// Prints reports as an aligned table.
pub fn print_table(reports: &[LocalReport]) {
    println!(
        "{:<36}  {:<9}  {:<34}  {:<10}  note",
        "id", "state", "kind/category", "ticket"
    );
    for r in reports {
        let what = format!("{}/{}", r.kind.as_str(), r.category);
        let note: String = r
            .note
            .chars()
            .take(40)
            .collect::<String>()
            .replace(['\n', '\r', '\t'], " ");
        let ticket = r
            .ticket_status
            .map(|s| s.as_str())
            .or(r.ticket_id.as_deref())
            .unwrap_or("-");
        println!(
            "{:<36}  {:<9}  {:<34}  {:<10}  {}",
            r.id,
            r.state.as_str(),
            what,
            ticket,
            note
        );
    }
}
