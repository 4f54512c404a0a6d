//! The upstream outbox's shared vocabulary (both backends store it the same way): which
//! tickets are forwarded, the states a row goes through, and what an attempt came to.
//!
//! ```text
//! pending ──POST answers an id──▶ sent
//!    │ └──POST answers a token──▶ token ──GET tokens answers an id──▶ sent
//!    └──4xx, or too many attempts──▶ parked ◀──────────────┘
//! ```

use gridline_protocol::Timestamp;
use gridline_protocol::wire::TicketStatus;

/// Statuses of tickets the outbox takes in: accepted as a case, not refused.
pub const FORWARDED_STATUSES: [TicketStatus; 5] = [
    TicketStatus::Accepted,
    TicketStatus::Dispatched,
    TicketStatus::AwaitingVerification,
    TicketStatus::Resolved,
    TicketStatus::Closed,
];

/// Where a ticket is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutboxState {
    /// Not yet known upstream: (re)send when due.
    Pending,
    /// The upstream answered a token; ask for the id when due.
    Token,
    /// The upstream's `service_request_id` is recorded. Final.
    Sent,
    /// Refused by the upstream (or given up on) with an error; an operator looks. Final.
    Parked,
}

impl OutboxState {
    /// Every state.
    pub const ALL: [OutboxState; 4] = [Self::Pending, Self::Token, Self::Sent, Self::Parked];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Token => "token",
            Self::Sent => "sent",
            Self::Parked => "parked",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// The ticket's row id.
    pub ticket_id: i64,
    /// Where it is.
    pub state: OutboxState,
    /// Attempts taken so far (including one in flight).
    pub attempts: u32,
    /// When it is next due.
    pub next_at: Timestamp,
    /// The upstream's `service_request_id`, once known.
    pub upstream_id: Option<String>,
    /// The upstream's token, while waiting for the id.
    pub token: Option<String>,
    /// The last error (the upstream's text for a parked row).
    pub last_error: Option<String>,
    /// Last change.
    pub updated_at: Timestamp,
}

/// What came of an attempt, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// The upstream id is known.
    Sent {
        /// Its `service_request_id`.
        upstream_id: String,
    },
    /// The upstream answered a token; ask again at `retry_at`.
    Token {
        /// The token.
        token: String,
        /// When to ask.
        retry_at: Timestamp,
    },
    /// A transient failure; try again at `retry_at` (the state stays).
    Retry {
        /// What went wrong.
        error: String,
        /// When to try again.
        retry_at: Timestamp,
    },
    /// A permanent failure: park with this error.
    Parked {
        /// The upstream's error (or why we gave up).
        error: String,
    },
}

/// Longest error text kept.
pub const MAX_ERROR_CHARS: usize = 1000;

/// `text` cut to [`MAX_ERROR_CHARS`].
pub fn clip_error(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// Rows per state, and the rows of one state (what `Store::outbox_status` answers).
pub type OutboxStatus = (Vec<(OutboxState, u64)>, Vec<OutboxRow>);

/// The columns a row takes after an attempt: (state, upstream_id, token, last_error, next_at).
pub type Recorded = (
    OutboxState,
    Option<String>,
    Option<String>,
    Option<String>,
    Timestamp,
);

/// The state, upstream id, token and error a row takes after `outcome`, given its current
/// token.
pub fn recorded(outcome: &OutboxOutcome, token: Option<&str>, now: Timestamp) -> Recorded {
    match outcome {
        OutboxOutcome::Sent { upstream_id } => (
            OutboxState::Sent,
            Some(upstream_id.clone()),
            token.map(str::to_string),
            None,
            now,
        ),
        OutboxOutcome::Token { token, retry_at } => (
            OutboxState::Token,
            None,
            Some(token.clone()),
            None,
            *retry_at,
        ),
        OutboxOutcome::Retry { error, retry_at } => (
            if token.is_some() {
                OutboxState::Token
            } else {
                OutboxState::Pending
            },
            None,
            token.map(str::to_string),
            Some(clip_error(error)),
            *retry_at,
        ),
        OutboxOutcome::Parked { error } => (
            OutboxState::Parked,
            None,
            token.map(str::to_string),
            Some(clip_error(error)),
            now,
        ),
    }
}
