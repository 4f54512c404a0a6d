//! `gridline triage`: a grid supervisor's work — pull the worklist, decide offline, send.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gridline_core::{Client, ClientConfig};
use gridline_protocol::wire::{TicketQuery, TicketStatus, TriageAction};

use crate::output::{CliError, print_json};
use crate::sync::{ServerArgs, cli_version};

/// Subcommands of `gridline triage`.
#[derive(Debug, Subcommand)]
pub enum TriageCommand {
    /// Pull the tickets of your grids into the offline worklist.
    Pull {
        #[command(flatten)]
        server: ServerArgs,
        /// Only tickets in these statuses (comma-separated), e.g. `submitted,accepted`.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show the offline worklist.
    List {
        /// The device database.
        #[arg(long, env = "GRIDLINE_DB", default_value = "gridline.db")]
        db: PathBuf,
        /// Only tickets in this status (repeatable).
        #[arg(long = "status")]
        statuses: Vec<String>,
    },
    /// Decide on a ticket offline: accept, dispatch, resolve, close, reject, duplicate.
    Act(ActArgs),
    /// Send the decisions taken offline; conflicts show the server's current ticket.
    Push {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Ask the server which open tickets may be the same problem as TICKET (online), best
    /// first, each with why: photo similarity, distance, category and age.
    Candidates {
        #[command(flatten)]
        server: ServerArgs,
        /// The ticket id, e.g. `T17`.
        ticket: String,
    },
}

/// Flags of `gridline triage act`.
#[derive(Debug, Args)]
pub struct ActArgs {
    /// The device database.
    #[arg(long, env = "GRIDLINE_DB", default_value = "gridline.db")]
    pub db: PathBuf,
    /// The ticket id.
    pub ticket: String,
    /// accept | dispatch | resolve | close | reject | duplicate | escalate | extend
    pub action: String,
    /// For dispatch: the department it goes to.
    #[arg(long)]
    pub department: Option<String>,
    /// For resolve: what was done.
    #[arg(long)]
    pub note: Option<String>,
    /// For reject, escalate and extend: why.
    #[arg(long)]
    pub reason: Option<String>,
    /// For extend: hours added to the deadline.
    #[arg(long)]
    pub hours: Option<i64>,
    /// For duplicate: the ticket it duplicates.
    #[arg(long)]
    pub of: Option<String>,
}

fn open(db: PathBuf) -> Result<Client, CliError> {
    Ok(Client::open(ClientConfig {
        db_path: db,
        reporter: "cli-supervisor".into(),
        app_version: cli_version(),
    })?)
}

fn need(value: Option<String>, flag: &str, action: &str) -> Result<String, CliError> {
    value.ok_or_else(|| CliError::invalid(flag, format!("{action} needs --{flag}")))
}

/// Runs `gridline triage`.
pub fn run(cmd: TriageCommand, json: bool) -> Result<(), CliError> {
    match cmd {
        TriageCommand::Pull { server, status } => {
            let (client, ctx) = server.open("cli-supervisor")?;
            let query = TicketQuery {
                status,
                ..Default::default()
            };
            let n = client.refresh_worklist(&ctx, &query)?;
            if json {
                print_json(&serde_json::json!({ "tickets": n }))
            } else {
                println!("{n} tickets in the worklist");
                Ok(())
            }
        }
        TriageCommand::List { db, statuses } => {
            let statuses = statuses
                .iter()
                .map(|s| {
                    TicketStatus::parse(s).ok_or_else(|| {
                        CliError::invalid("status", format!("{s:?} is not a ticket status"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let client = open(db)?;
            let tickets = client.worklist(&statuses)?;
            if json {
                return print_json(&tickets);
            }
            println!(
                "{:<14} {:<11} {:>3}  {:<10} {:<34} note",
                "ticket", "status", "v", "grid", "kind/category"
            );
            for t in tickets {
                let note: String = t
                    .note
                    .chars()
                    .take(36)
                    .collect::<String>()
                    .replace(['\n', '\r', '\t'], " ");
                println!(
                    "{:<14} {:<11} {:>3}  {:<10} {:<34} {note}",
                    t.id,
                    t.status.as_str(),
                    t.version,
                    t.grid_id.as_deref().unwrap_or("-"),
                    format!("{}/{}", t.kind.as_str(), t.category)
                );
            }
            Ok(())
        }
        TriageCommand::Act(a) => {
            let action = match a.action.as_str() {
                "accept" => TriageAction::Accept,
                "close" => TriageAction::Close,
                "dispatch" => TriageAction::Dispatch {
                    department: need(a.department, "department", "dispatch")?,
                },
                "resolve" => TriageAction::Resolve {
                    note: need(a.note, "note", "resolve")?,
                },
                "reject" => TriageAction::Reject {
                    reason: need(a.reason, "reason", "reject")?,
                },
                "duplicate" | "mark_duplicate" => TriageAction::MarkDuplicate {
                    of: need(a.of, "of", "duplicate")?,
                },
                "escalate" => TriageAction::Escalate {
                    reason: need(a.reason, "reason", "escalate")?,
                },
                "extend" => TriageAction::Extend {
                    hours: a
                        .hours
                        .ok_or_else(|| CliError::invalid("hours", "extend needs --hours"))?,
                    reason: need(a.reason, "reason", "extend")?,
                },
                other => {
                    return Err(CliError::invalid(
                        "action",
                        format!(
                            "{other:?} is not one of accept, dispatch, resolve, close, reject, \
                             duplicate, escalate, extend"
                        ),
                    ));
                }
            };
            let client = open(a.db)?;
            let seq = client.queue_triage(&a.ticket, action)?;
            if json {
                print_json(&serde_json::json!({ "queued": seq, "ticket": a.ticket }))
            } else {
                println!(
                    "queued action #{seq} on {}; `gridline triage push` sends it",
                    a.ticket
                );
                Ok(())
            }
        }
        TriageCommand::Candidates { server, ticket } => {
            let (client, ctx) = server.open("cli-supervisor")?;
            let list = client.ticket_candidates(&ctx, &ticket)?;
            if json {
                return print_json(&list);
            }
            if list.candidates.is_empty() {
                println!("no duplicate candidates for {ticket}");
            }
            for c in &list.candidates {
                println!(
                    "{:<14} {:>3.0} %  {:<11} {}",
                    c.ticket_id,
                    c.score * 100.0,
                    c.status.as_str(),
                    c.reason
                );
            }
            if !list.candidates.is_empty() {
                println!(
                    "`gridline triage act {ticket} duplicate --of <ticket>` merges it, keeping its evidence"
                );
            }
            Ok(())
        }
        TriageCommand::Push { server } => {
            let (client, ctx) = server.open("cli-supervisor")?;
            let summary = client.send_triage(&ctx)?;
            if json {
                print_json(&summary)?;
            } else {
                println!(
                    "applied {}, conflicts {}, failed {}, still queued {}",
                    summary.applied, summary.conflicts, summary.failed, summary.remaining
                );
                if let Some(e) = &summary.last_error {
                    println!("last problem: {e}");
                }
            }
            if summary.remaining > 0 {
                return Err(CliError::other(
                    "incomplete",
                    "triage push incomplete: network trouble",
                )
                .quiet_json());
            }
            Ok(())
        }
    }
}
