//! `gridline serve` and `gridline server ...`: run the reference grid server and administer its
//! data folder (users and tokens, grids).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use gridline_protocol::Timestamp;
use gridline_server::admin::{self, NewUser};
use gridline_server::{Config, RateLimit, Role};

/// `gridline serve`: run the reference city grid server until Ctrl-C or SIGTERM.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Data folder (database and photos); created if missing.
    #[arg(long)]
    pub data: PathBuf,
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Most reports per batch.
    #[arg(long, default_value_t = 500)]
    pub max_batch: u32,
    /// Requests per second allowed per token; 0 turns rate limiting off.
    #[arg(long, default_value_t = 1000.0)]
    pub rate_limit: f64,
    /// Requests a token may make back to back.
    #[arg(long, default_value_t = 10_000)]
    pub rate_burst: u32,
    /// Seconds a request may take before it is abandoned.
    #[arg(long, default_value_t = 120)]
    pub request_timeout: u64,
    /// Connections served at once; more wait in the accept queue.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a connection has to send a request's headers (also the keep-alive idle limit).
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Megabytes of unfinished photo uploads one account may hold.
    #[arg(long, default_value_t = 200)]
    pub upload_quota_mb: u64,
    /// Allow listening off loopback: the server speaks plain HTTP, so this asserts a
    /// TLS-terminating proxy sits in front of it.
    #[arg(long)]
    pub behind_tls_proxy: bool,
    /// A department tickets can be dispatched to (repeatable, in the order the console lists
    /// them); published at `GET /v1/departments`.
    #[arg(long = "department", value_name = "NAME")]
    pub departments: Vec<String>,
}

/// `gridline server ...`: administer a server's data folder (works while it runs).
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Create a user and print their bearer token (shown only this once).
    AddUser {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// Unique user name.
        #[arg(long)]
        name: String,
        /// What the user may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A grid the user supervises (repeatable).
        #[arg(long = "grid")]
        grids: Vec<String>,
        /// Make the token expire after this many days.
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// Replace the grids with those of a GeoJSON FeatureCollection.
    ImportGrids {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// GeoJSON file: Polygon/MultiPolygon features with an `id` (or `properties.id`) and `name`.
        file: PathBuf,
    },
}

/// Roles as command-line values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Files reports.
    Rider,
    /// Triages their grids.
    Supervisor,
    /// Sees and triages everything.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Rider => Role::Rider,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Runs `gridline serve`. Logs go to stderr (`RUST_LOG` filters, default `info`); the first
/// stdout line is `gridline server listening on http://ADDR`, for people and parent processes.
pub fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    let mut config = Config::new(&args.data);
    config.listen = args.listen;
    config.limits.max_reports_per_batch = args.max_batch;
    config.request_timeout = Duration::from_secs(args.request_timeout);
    config.connections.max_connections = args.max_connections.max(1);
    config.connections.header_read_timeout = Duration::from_secs(args.header_timeout.max(1));
    config.uploads.pending_quota = args.upload_quota_mb.saturating_mul(1024 * 1024);
    config.behind_tls_proxy = args.behind_tls_proxy;
    config.departments = args.departments;
    config.rate_limit = (args.rate_limit > 0.0).then_some(RateLimit {
        per_second: args.rate_limit,
        burst: args.rate_burst.max(1),
    });
    gridline_server::serve_until_signal(config, |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "gridline server listening on http://{addr}");
        let _ = writeln!(out, "triage console: http://{addr}/console/");
        let _ = out.flush();
    })?;
    Ok(())
}

/// Runs a `gridline server ...` command.
pub fn run(command: ServerCommand, json: bool) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        ServerCommand::AddUser {
            data,
            name,
            role,
            grids,
            expires_days,
        } => {
            let expires_at = expires_days.map(|days| {
                Timestamp::from_millis(
                    Timestamp::now().as_millis() + i64::from(days) * 24 * 3600 * 1000,
                )
            });
            let created = admin::add_user(
                &data,
                &NewUser {
                    name,
                    role: role.into(),
                    grids,
                    expires_at,
                },
            )?;
            if json {
                println!("{}", serde_json::json!({ "token": created.token }));
            } else {
                println!("{}", created.token);
                eprintln!(
                    "created {} {} — the token above is shown only once",
                    created.user.role.as_str(),
                    created.user.name
                );
            }
        }
        ServerCommand::ImportGrids { data, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let n = admin::import_grids(&data, &text)?;
            if json {
                println!("{}", serde_json::json!({ "imported": n }));
            } else {
                println!("imported {n} grids");
            }
        }
    }
    Ok(())
}
