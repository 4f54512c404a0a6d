//! The durable offline store: a SQLite file that holds drafts, the outbox and its history,
//! photo records and settings. Every public method is one transaction, so each user action
//! is either wholly on disk when it returns or not at all.

mod keys;
mod open;
mod outbox;
mod photos;
mod reports;
mod schema;
mod settings;
mod signals;
mod tasks;
mod wipe;
mod worklist;

use std::path::Path;

use rusqlite::Connection;

pub use keys::StoredKey;
pub use open::open_database;
pub use outbox::{PendingPhoto, QueuedPayload};
pub use photos::{NewPhoto, OrphanFiles, PhotoPositions};
pub use reports::{ListCursor, ListFilter, ReportRow, StateChange};
pub use schema::LATEST_VERSION;
pub use settings::CachedDocument;
pub use wipe::Unsent;
pub use worklist::{QueuedTriage, TriageState};

use crate::error::Result;

/// A handle on the device database. Not `Sync`: the client wraps it in a mutex.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database file at `path`, migrating it to the latest schema.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store {
            conn: open::open_database(path)?,
        })
    }

    /// A throwaway database in memory, for tests and previews.
    pub fn open_in_memory() -> Result<Store> {
        Ok(Store {
            conn: open::open_in_memory()?,
        })
    }

    /// Runs SQLite's own consistency check; `Ok(())` when it answers "ok".
    pub fn integrity_check(&self) -> Result<()> {
        let answer: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(crate::error::Error::Corrupt(answer))
        }
    }
}
