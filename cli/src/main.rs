//! `gridline`: the command-line face of Gridline. (Minimal entry point of the `geo` branch; the
//! lead's main.rs adds the other subcommands.)

mod geo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Coordinates and grids: convert WGS-84/GCJ-02/BD-09, find the grid of a point.
    #[command(subcommand)]
    Geo(geo::GeoCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Geo(cmd) => geo::run(cmd, cli.json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(cli.json),
    }
}
