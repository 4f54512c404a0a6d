//! Wire protocol v1 envelopes: what travels over HTTP between a device (or any client) and a
//! city grid server, around the [`Report`](crate::Report) itself.
//!
//! One submodule per concept: batches, tickets and triage, the changes feed, resumable media,
//! server limits, error bodies, and the paths and query strings that carry them.
//! `docs/protocol.md` explains the same for people; `docs/openapi.yaml` for tools.
//!
//! # Unknown fields
//! *Requests are strict, responses are tolerant.* Every request body and query string here
//! refuses unknown fields (`deny_unknown_fields`): a field the server would silently drop is
//! data a rider believes was filed, so the sender must hear about it (400/`malformed_json`, or a
//! per-item `rejected` inside a batch). Response types accept unknown fields, so a v1 server may
//! add optional fields and older clients keep working. Enumerations are closed within v1 except
//! [`ErrorCode`], which clients must treat as open (unknown codes read as
//! [`ErrorCode::Unknown`]).

mod account;
mod api_error;
mod batch;
mod changes;
mod duplicates;
mod limits;
pub mod media;
pub mod paths;
mod query;
mod tasks;
mod ticket;

pub use account::{Account, AccountRole, Departments};
pub use api_error::{ErrorBody, ErrorCode};
pub use batch::{BatchRequest, BatchResponse, ItemOutcome, ItemResult};
pub use changes::{Change, ChangesPage};
pub use duplicates::{CandidateList, DuplicateCandidate, MergedReport};
pub use limits::Limits;
pub use query::{ChangesQuery, TasksQuery, TicketQuery, TicketSort};
pub use tasks::{TaskPage, VerificationTask};
pub use ticket::{
    EventAction, Ticket, TicketEvent, TicketPage, TicketPhoto, TicketStatus, TransitionError,
    TriageAction,
};

/// The protocol version this crate speaks; also the path prefix (`/v1`).
pub const PROTOCOL_VERSION: u32 = 1;
