//! Who a token belongs to (`GET /v1/me`) and the departments a supervisor dispatches to
//! (`GET /v1/departments`). Both are read-only and answer for any valid token, so a client
//! (the triage console, an SDK) can show the right screens without guessing from 403s.

use serde::{Deserialize, Serialize};

/// What a user may do; the server's roles on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Files reports; sees their own reports' tickets.
    Rider,
    /// Triages the tickets of their grids.
    Supervisor,
    /// Sees and triages everything.
    Admin,
}

impl AccountRole {
    /// True for roles that take triage actions.
    pub fn can_triage(self) -> bool {
        matches!(self, Self::Supervisor | Self::Admin)
    }
}

/// `GET /v1/me`: the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The user name; appears as `by` in ticket history.
    pub name: String,
    /// What the user may do.
    pub role: AccountRole,
    /// Grids the user supervises (empty for riders; admins see every grid regardless).
    #[serde(default)]
    pub grids: Vec<String>,
}

/// `GET /v1/departments`: where tickets can be dispatched, as the server is configured.
/// An empty list means the server names none and the client asks for free text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departments {
    /// Department names, in the configured order; each is a valid `dispatch` department.
    pub departments: Vec<String>,
}
