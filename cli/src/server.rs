//! `gridline serve` and `gridline server ...`: run the reference grid server and administer its
//! storage (users and tokens, grids): a district's data folder by default, or a city's
//! PostgreSQL database and S3 bucket (`--database`, `--media`).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use gridline_protocol::Timestamp;
use gridline_server::admin::{self, NewUser};
use gridline_server::config::{Database, MediaLocation, Storage};
use gridline_server::{Config, RateLimit, Role};

/// Where the server's records and photos live; shared by `serve` and every admin command.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Data folder: the SQLite database and the photos unless `--database` / `--media` say
    /// otherwise; created if missing.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// `sqlite` (the data folder's gridline.db, the default) or a PostgreSQL URL,
    /// postgres://user[:password]@host:port/database.
    #[arg(long, env = "GRIDLINE_DATABASE", default_value = "sqlite", value_parser = Database::parse)]
    pub database: Database,
    /// `local` (the data folder's media/, the default) or an S3-compatible bucket,
    /// s3://bucket[/prefix]?endpoint=http://host:port[&region=name]; credentials from
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    #[arg(long, env = "GRIDLINE_MEDIA", default_value = "local", value_parser = MediaLocation::parse)]
    pub media: MediaLocation,
}

impl StorageArgs {
    /// The storage, or a clear error when something local is asked for without `--data`.
    pub fn storage(&self) -> Result<Storage, String> {
        let storage = Storage {
            data_dir: self.data.clone().unwrap_or_default(),
            database: self.database.clone(),
            media: self.media.clone(),
        };
        if storage.uses_data_dir() && self.data.is_none() {
            return Err(
                "--data DIR is required unless both --database postgres://… and --media s3://… \
                 are given"
                    .into(),
            );
        }
        Ok(storage)
    }
}

/// `gridline serve`: run the reference city grid server until Ctrl-C or SIGTERM.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where records and photos live.
    #[command(flatten)]
    pub storage: StorageArgs,
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
    /// A rider's "fixed" verification closes the ticket at once (default: it waits, resolved,
    /// for the supervisor to close).
    #[arg(long)]
    pub close_on_verified: bool,
    /// A verification must be filed within this many metres of the ticket.
    #[arg(long, default_value_t = 100.0)]
    pub verification_radius_m: f64,
    /// How often passed deadlines are marked overdue, in seconds.
    #[arg(long, default_value_t = 60)]
    pub deadline_check_secs: u64,
    /// The Open311 `jurisdiction_id` this server answers for (docs/open311.md); without it,
    /// requests naming any jurisdiction are refused.
    #[arg(long)]
    pub open311_jurisdiction: Option<String>,
    /// The public base URL the Open311 discovery document names (default: from `Host`).
    #[arg(long)]
    pub open311_public_url: Option<String>,
    /// Who to contact about the Open311 API, in the discovery document.
    #[arg(long)]
    pub open311_contact: Option<String>,
    /// Forward accepted tickets to an upstream Open311 system described by this JSON file
    /// (name, url, api_key, jurisdiction_id, service_codes; docs/open311.md, "Forwarding").
    #[arg(long)]
    pub upstream: Option<PathBuf>,
}

/// `gridline server ...`: administer a server's data folder (works while it runs).
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Create a user and print their bearer token (shown only this once).
    AddUser {
        /// Where records live.
        #[command(flatten)]
        storage: StorageArgs,
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
    /// Issue an Open311 API key to a client system and print it (shown only this once).
    AddOpen311Client {
        /// Where records live.
        #[command(flatten)]
        storage: StorageArgs,
        /// Unique name of the client system (its tickets' channel is `open311:NAME`).
        name: String,
    },
    /// List the Open311 client systems holding API keys.
    Open311Clients {
        /// Where records live.
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Replace the grids with those of a GeoJSON FeatureCollection.
    ImportGrids {
        /// Where records live.
        #[command(flatten)]
        storage: StorageArgs,
        /// GeoJSON file: Polygon/MultiPolygon features with an `id` (or `properties.id`) and `name`.
        file: PathBuf,
    },
    /// List the device signing keys riders' devices registered (evidence, issue 17).
    DeviceKeys {
        /// Where records live.
        #[command(flatten)]
        storage: StorageArgs,
        /// Only this account's keys.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a device signing key (a lost or compromised phone): reports it signs from now
    /// on are recorded as `revoked_key`; tickets received before keep their result.
    RevokeDeviceKey {
        /// Where records live.
        #[command(flatten)]
        storage: StorageArgs,
        /// The key id, as `device-keys` lists it.
        key_id: String,
    },
    /// Move a district's data folder (SQLite and photos) into a city deployment (PostgreSQL
    /// and usually S3), keeping every ticket id and cursor; safe to run again.
    MigrateFromSqlite {
        /// The district's data folder (gridline.db and media/).
        #[arg(long)]
        from: PathBuf,
        /// The city deployment: `--database postgres://…` and `--media s3://…` (or a local
        /// `--data` folder for the photos).
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Forwarding to the upstream Open311 system (`gridline serve --upstream`).
    Upstream {
        /// What to do.
        #[command(subcommand)]
        command: UpstreamCommand,
    },
    /// Mark dispatched tickets whose deadline has passed as overdue now, as the running server
    /// does every minute (`--at` checks as of another time, e.g. to rehearse a holiday).
    CheckDeadlines {
        /// Where records live.
        #[command(flatten)]
        storage: StorageArgs,
        /// Check as of this instant (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
}

/// `gridline server upstream ...`.
#[derive(Debug, Subcommand)]
pub enum UpstreamCommand {
    /// Outbox rows per state (pending, token, sent, parked) and the parked tickets with the
    /// upstream's error.
    Status {
        /// Where records live.
        #[command(flatten)]
        storage: StorageArgs,
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
    let mut config = Config::with_storage(args.storage.storage()?);
    config.listen = args.listen;
    config.limits.max_reports_per_batch = args.max_batch;
    config.request_timeout = Duration::from_secs(args.request_timeout);
    config.connections.max_connections = args.max_connections.max(1);
    config.connections.header_read_timeout = Duration::from_secs(args.header_timeout.max(1));
    config.uploads.pending_quota = args.upload_quota_mb.saturating_mul(1024 * 1024);
    config.behind_tls_proxy = args.behind_tls_proxy;
    config.departments = args.departments;
    config.cases.close_on_verified = args.close_on_verified;
    config.cases.verification_radius_m = args.verification_radius_m;
    config.cases.deadline_check_every = Duration::from_secs(args.deadline_check_secs.max(1));
    config.open311.jurisdiction_id = args.open311_jurisdiction;
    config.open311.public_url = args.open311_public_url;
    if let Some(contact) = args.open311_contact {
        config.open311.contact = contact;
    }
    if let Some(file) = &args.upstream {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        config.upstream = Some(
            gridline_server::config::UpstreamConfig::from_json(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?,
        );
    }
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
            storage,
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
                storage.storage()?,
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
        ServerCommand::AddOpen311Client { storage, name } => {
            let created = admin::add_open311_client(storage.storage()?, &name)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "name": created.client.name, "api_key": created.api_key })
                );
            } else {
                println!("{}", created.api_key);
                eprintln!(
                    "created Open311 client {} — the API key above is shown only once",
                    created.client.name
                );
            }
        }
        ServerCommand::Open311Clients { storage } => {
            let clients = admin::open311_clients(storage.storage()?)?;
            if json {
                let list: Vec<_> = clients
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "name": c.name,
                            "account": c.user.name,
                            "created_at": c.created_at.to_rfc3339(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::json!({ "clients": list }));
            } else if clients.is_empty() {
                println!("no Open311 clients");
            } else {
                for c in &clients {
                    println!("{}\t{}\t{}", c.name, c.user.name, c.created_at.to_rfc3339());
                }
            }
        }
        ServerCommand::Upstream {
            command: UpstreamCommand::Status { storage },
        } => {
            let status = admin::upstream_status(storage.storage()?)?;
            if json {
                let counts: serde_json::Map<String, serde_json::Value> = status
                    .counts
                    .iter()
                    .map(|(s, n)| (s.as_str().to_string(), (*n).into()))
                    .collect();
                let parked: Vec<_> = status
                    .parked
                    .iter()
                    .map(|(ticket, row)| {
                        serde_json::json!({
                            "ticket": ticket,
                            "attempts": row.attempts,
                            "error": row.last_error,
                            "parked_at": row.updated_at.to_rfc3339(),
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({ "counts": counts, "parked": parked })
                );
            } else {
                for (state, n) in &status.counts {
                    println!("{}\t{n}", state.as_str());
                }
                for (ticket, row) in &status.parked {
                    println!(
                        "parked {ticket}\t{} attempts\t{}",
                        row.attempts,
                        row.last_error.as_deref().unwrap_or("")
                    );
                }
            }
        }
        ServerCommand::ImportGrids { storage, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let n = admin::import_grids(storage.storage()?, &text)?;
            if json {
                println!("{}", serde_json::json!({ "imported": n }));
            } else {
                println!("imported {n} grids");
            }
        }
        ServerCommand::DeviceKeys { storage, user } => {
            let keys = admin::device_keys(storage.storage()?, user.as_deref())?;
            if json {
                println!("{}", serde_json::to_string(&keys)?);
            } else if keys.is_empty() {
                println!("no device keys registered");
            } else {
                for k in keys {
                    let state = match k.revoked_at {
                        Some(at) => format!("revoked {at}"),
                        None => "active".to_string(),
                    };
                    println!(
                        "{}  {}  {}  registered {}  {state}",
                        k.key_id,
                        k.algorithm.as_str(),
                        k.account,
                        k.registered_at
                    );
                }
            }
        }
        ServerCommand::RevokeDeviceKey { storage, key_id } => {
            let key = admin::revoke_device_key(storage.storage()?, &key_id)?;
            if json {
                println!("{}", serde_json::to_string(&key)?);
            } else {
                println!(
                    "revoked {} of {} ({})",
                    key.key_id,
                    key.account,
                    key.revoked_at.map(|t| t.to_string()).unwrap_or_default()
                );
            }
        }
        ServerCommand::MigrateFromSqlite { from, storage } => {
            migrate(&from, &storage.storage()?, json)?;
        }
        ServerCommand::CheckDeadlines { storage, at } => {
            let at = match at {
                Some(text) => Timestamp::parse_rfc3339(&text)
                    .ok_or_else(|| format!("--at: {text:?} is not an RFC 3339 time"))?,
                None => Timestamp::now(),
            };
            let marked = admin::check_deadlines(storage.storage()?, at)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "marked_overdue": marked, "at": at })
                );
            } else {
                println!("{marked} tickets marked overdue as of {at}");
            }
        }
    }
    Ok(())
}

/// `gridline server migrate-from-sqlite`, with progress on stderr.
fn migrate(from: &Path, city: &Storage, json: bool) -> Result<(), Box<dyn std::error::Error>> {
    let summary = admin::migrate_from_sqlite(from, city, |line| eprintln!("{line}"))?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "moved {} users, {} grids, {} tickets, {} history events and {} photo records; \
             {} photos in the city's store, {} missing from the district",
            summary.records.users,
            summary.records.grids,
            summary.records.tickets,
            summary.records.events,
            summary.records.photos,
            summary.photos_stored,
            summary.photos_missing
        );
    }
    Ok(())
}
