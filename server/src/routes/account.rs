//! `GET /v1/me` (who the token belongs to) and `GET /v1/departments` (where tickets can be
//! dispatched). Both answer any valid token: a client decides which screens to show from
//! them (the console refuses riders' tokens at sign-in) instead of probing for 403s.

use axum::Json;
use axum::extract::State;
use gridline_protocol::wire::{Account, AccountRole, Departments};

use crate::account::Role;
use crate::auth::Caller;
use crate::state::AppState;

/// `GET /v1/me`.
pub async fn me(Caller(user): Caller) -> Json<Account> {
    Json(Account {
        name: user.name.clone(),
        role: match user.role {
            Role::Rider => AccountRole::Rider,
            Role::Supervisor => AccountRole::Supervisor,
            Role::Admin => AccountRole::Admin,
        },
        grids: user.grids.clone(),
    })
}

/// `GET /v1/departments`, as configured (`gridline serve --department`).
pub async fn departments(State(state): State<AppState>, _caller: Caller) -> Json<Departments> {
    Json((*state.departments).clone())
}
