//! The `gridline` command. This file is a minimal entry point for the photo commands; the
//! lead's main.rs (demo, report, queue, sync, ...) takes over and keeps the `Photo` arm.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod photo;

/// Gridline: file geotagged reports offline and sync them to the city grid server.
#[derive(Debug, Parser)]
#[command(name = "gridline", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evidence photos: process a file the way the app does on submit.
    Photo(photo::PhotoCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Photo(cmd) => photo::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
