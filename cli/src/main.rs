//! The `gridline` command. This minimal main wires the server commands; the lead's full CLI
//! (demo, report, queue, sync, triage) merges its commands next to them.

mod server;

use clap::{Parser, Subcommand};

/// Gridline: offline-first city grid reporting.
#[derive(Debug, Parser)]
#[command(name = "gridline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the reference city grid server.
    Serve(server::ServeArgs),
    /// Administer a grid server's data folder.
    #[command(subcommand)]
    Server(server::ServerCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => server::serve(args),
        Command::Server(cmd) => server::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridline: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
