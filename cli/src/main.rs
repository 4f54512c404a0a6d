//! `gridline`: the command-line face of Gridline — file and list reports, inspect the catalog,
//! run the reference server, sync, triage, and the end-to-end demo.

mod catalog;
mod demo;
mod demo_exif;
mod geo;
mod output;
mod photo;
mod queue;
mod report;
mod server;
mod sync;
mod tasks;
mod triage;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use output::CliError;

/// Gridline: offline-first grid reports for delivery riders, and the city grid server they sync to.
#[derive(Debug, Parser)]
#[command(name = "gridline", version, about, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the end-to-end demo on a throwaway SQLite file.
    Demo(demo::DemoArgs),
    /// File a report into the local outbox (offline; nothing is sent).
    Report(report::ReportArgs),
    /// List the reports in the local outbox.
    Queue(queue::QueueArgs),
    /// Show the report catalog: kinds, categories and their attributes.
    Catalog(catalog::CatalogArgs),
    /// Send the outbox to a grid server, upload photos, pull ticket changes.
    Sync(sync::SyncArgs),
    /// Verification tasks (核查) pulled by the last sync, listed offline.
    Tasks(tasks::TasksArgs),
    /// File a rider's on-the-spot verification of a resolved ticket (sent by the next sync).
    Verify(tasks::VerifyArgs),
    /// Supervisor work: pull the worklist, decide offline, push decisions.
    #[command(subcommand)]
    Triage(triage::TriageCommand),
    /// Coordinates and grids: convert WGS-84/GCJ-02/BD-09, find the grid of a point.
    #[command(subcommand)]
    Geo(geo::GeoCommand),
    /// Evidence photos: process a file the way the app does on submit.
    Photo(photo::PhotoCommand),
    /// Run the reference city grid server.
    Serve(server::ServeArgs),
    /// Administer a grid server's data folder: users and tokens, grids.
    #[command(subcommand)]
    Server(server::ServerCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let result = match cli.command {
        Command::Demo(args) => demo::run(args, json),
        Command::Report(args) => report::run(args, json),
        Command::Queue(args) => queue::run(args, json),
        Command::Catalog(args) => catalog::run(args, json),
        Command::Sync(args) => sync::run(args, json),
        Command::Tasks(args) => tasks::tasks(args, json),
        Command::Verify(args) => tasks::verify(args, json),
        Command::Triage(cmd) => triage::run(cmd, json),
        Command::Geo(cmd) => geo::run(cmd, json).map_err(CliError::from),
        Command::Serve(args) => {
            server::serve(args).map_err(|e| CliError::other("server", e.to_string()))
        }
        Command::Server(cmd) => {
            server::run(cmd, json).map_err(|e| CliError::other("server", e.to_string()))
        }
        Command::Photo(cmd) => {
            photo::run(cmd, json).map_err(|m| CliError::other("photo", m).with_exit(2))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(json),
    }
}
