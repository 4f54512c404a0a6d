//! Accounts: who a user is, what their role lets them see ([`Scope`]), and their tokens.
//!
//! Bearer tokens are 256 random bits, shown once when a user is created and stored only as their
//! SHA-256. A slow password hash (argon2, bcrypt) exists to protect *guessable* secrets; a token
//! with 256 bits of entropy cannot be guessed or brute-forced from its hash, so a fast hash loses
//! nothing, and keeps the per-request lookup a single indexed read.
//!
//! Visibility is decided here and only here ([`User::scope`]); the stores enforce it in their
//! queries. This module depends on nothing else in the crate, so the store, the media and the
//! HTTP layers can all use it.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Files reports; sees their own reports' tickets.
    Rider,
    /// Triages tickets of their grids.
    Supervisor,
    /// Sees and triages everything.
    Admin,
}

impl Role {
    /// The lowercase name used in the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rider => "rider",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "rider" => Some(Self::Rider),
            "supervisor" => Some(Self::Supervisor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// True for roles that take triage actions.
    pub fn can_triage(self) -> bool {
        matches!(self, Self::Supervisor | Self::Admin)
    }
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Unique name; appears as `by` in ticket history.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Grids they supervise.
    pub grids: Vec<String>,
}

/// Which tickets (and their photos and changes) a caller can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Tickets of reports this user submitted.
    Owner(i64),
    /// Tickets in the grids this user supervises.
    Grids(i64),
    /// Everything.
    All,
}

impl User {
    /// The visibility rule: riders their own, supervisors their grids', admins all.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Rider => Scope::Owner(self.id),
            Role::Supervisor => Scope::Grids(self.id),
            Role::Admin => Scope::All,
        }
    }
}

/// Prefix of every token, so secret scanners and people recognise one.
const TOKEN_PREFIX: &str = "glt_";

/// A fresh random token (`glt_` + 64 hex digits = 256 bits from the OS-seeded CSPRNG).
pub fn new_token() -> String {
    new_secret(TOKEN_PREFIX)
}

/// Prefix of every Open311 API key.
pub const OPEN311_KEY_PREFIX: &str = "o311_";

/// A fresh random secret: `prefix` + 64 hex digits (256 bits). Tokens and Open311 API keys
/// are both made, and hashed ([`token_hash`]), this way.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex(&bytes))
}

/// What the database stores for a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a), token_hash(&a.clone()));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
    }

    #[test]
    fn scopes_follow_roles() {
        let user = |role| User {
            id: 7,
            name: "u".into(),
            role,
            grids: vec![],
        };
        assert_eq!(user(Role::Rider).scope(), Scope::Owner(7));
        assert_eq!(user(Role::Supervisor).scope(), Scope::Grids(7));
        assert_eq!(user(Role::Admin).scope(), Scope::All);
        for r in [Role::Rider, Role::Supervisor, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
