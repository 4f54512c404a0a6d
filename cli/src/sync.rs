//! `gridline sync`: send the outbox to a grid server, upload photos, pull ticket changes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use gridline_core::sync::SyncOptions;
use gridline_core::transport::{DefaultTransport, StaticToken};
use gridline_core::{
    CancelToken, Client, ClientConfig, SyncContext, SyncObserver, SyncPhase, SyncProgress,
};

use crate::output::{CliError, print_json};

/// Exit status of a sync that stopped on retryable trouble (BSD `EX_TEMPFAIL`): run it again later.
pub const EXIT_TEMPFAIL: u8 = 75;

/// Where to sync to and as whom; shared by `sync` and `triage`.
#[derive(Debug, Args, Clone)]
pub struct ServerArgs {
    /// The device database.
    #[arg(long, env = "GRIDLINE_DB", default_value = "gridline.db")]
    pub db: PathBuf,
    /// Base URL of the grid server (https, or http to loopback).
    #[arg(long, env = "GRIDLINE_SERVER")]
    pub server: String,
    /// Bearer token (from `gridline server add-user`).
    #[arg(long, env = "GRIDLINE_TOKEN", hide_env_values = true)]
    pub token: String,
}

impl ServerArgs {
    /// Opens the device database and builds the sync context.
    pub fn open(&self, who: &str) -> Result<(Client, SyncContext), CliError> {
        let client = Client::open(ClientConfig {
            db_path: self.db.clone(),
            reporter: who.into(),
            app_version: cli_version(),
        })?;
        let transport =
            DefaultTransport::new().map_err(|e| CliError::other("network", e.to_string()))?;
        let ctx = SyncContext {
            server_url: self.server.clone(),
            transport: Arc::new(transport),
            tokens: Arc::new(StaticToken(self.token.trim().to_string())),
        };
        Ok((client, ctx))
    }
}

/// The CLI's app version string.
pub fn cli_version() -> String {
    concat!("gridline-cli/", env!("CARGO_PKG_VERSION")).to_string()
}

/// Flags of `gridline sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Most reports per batch (the server's limit applies too).
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
    /// Retryable failures tolerated before giving up until later.
    #[arg(long, default_value_t = 6)]
    pub retries: u32,
}

/// A progress line on a terminal's stderr, redrawn in place.
struct TerminalProgress;

impl SyncObserver for TerminalProgress {
    fn on_progress(&self, p: SyncProgress) {
        let what = match p.phase {
            SyncPhase::Prepare => "preparing",
            SyncPhase::Reports => "reports",
            SyncPhase::Photos => "photo bytes",
            SyncPhase::Changes => "changes",
            SyncPhase::Done => "done",
        };
        let bar = if let Some(filled) = (p.done.min(p.total) * 24).checked_div(p.total) {
            let filled = filled as usize;
            format!(
                "[{}{}] {}/{}",
                "#".repeat(filled),
                ".".repeat(24 - filled),
                p.done,
                p.total
            )
        } else {
            format!("{}", p.done)
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{what:<12} {bar}");
        if p.phase == SyncPhase::Done {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}

/// Runs `gridline sync`.
pub fn run(args: SyncArgs, json: bool) -> Result<(), CliError> {
    let (client, ctx) = args.server.open("cli-rider")?;
    let options = SyncOptions {
        max_batch: args.batch.max(1),
        max_retries: args.retries,
        ..Default::default()
    };
    let progress = TerminalProgress;
    let observer: Option<&dyn SyncObserver> = if !json && std::io::stderr().is_terminal() {
        Some(&progress)
    } else {
        None
    };
    let summary = client.sync(&ctx, &options, observer, &CancelToken::new())?;
    if json {
        print_json(&summary)?;
    } else {
        println!(
            "sent {}, already on server {}, parked {}, photos {} ({} bytes), changes {}; {} still queued",
            summary.sent,
            summary.already_accepted,
            summary.rejected,
            summary.photos,
            summary.photo_bytes,
            summary.changes,
            summary.remaining
        );
        if let Some(at) = summary.next_retry_at {
            println!(
                "incomplete: {}; next retry after {at}",
                summary.last_error.as_deref().unwrap_or("network trouble")
            );
        }
    }
    if summary.incomplete {
        let reason = summary.last_error.as_deref().unwrap_or("stopped early");
        return Err(
            CliError::other("incomplete", format!("sync incomplete: {reason}"))
                .with_exit(EXIT_TEMPFAIL)
                .quiet_json(),
        );
    }
    Ok(())
}
