//! One sync at a time per database, across threads and processes: an exclusive OS lock on a
//! file beside the database (`rider.db` -> `rider.sync.lock`). The lock belongs to the open
//! file, so a crashed process releases it with its file handles; no expiry to tune.
//!
//! Only the holder may touch rows in `sending` (recovering them, sending them, requeueing
//! them), so two runs can never reset or resend each other's batch.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::GridlineError;

/// Held while a sync (or a wipe) runs; dropping it releases the lock.
#[derive(Debug)]
pub struct SyncLease {
    _file: File,
}

/// The lock file of the database at `db_path`.
pub fn lock_path(db_path: &Path) -> PathBuf {
    db_path.with_extension("sync.lock")
}

impl SyncLease {
    /// Takes the lease, or fails at once with [`GridlineError::Busy`] when another caller (a
    /// thread of this process or another process) holds it. `what` names the caller's job.
    pub fn acquire(db_path: &Path, what: &str) -> Result<SyncLease, GridlineError> {
        let path = lock_path(db_path);
        let storage = |e: std::io::Error| GridlineError::Storage {
            reason: format!("cannot open {}: {e}", path.display()),
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(storage)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(GridlineError::Busy {
                    reason: format!("another sync is running on this database; {what} not started"),
                });
            }
            Err(TryLockError::Error(e)) => return Err(storage(e)),
        }
        // The owner, for a person looking at a stuck device; the lock itself is the OS's.
        let _ = file.set_len(0);
        let _ = writeln!(file, "pid {} {what}", std::process::id());
        Ok(SyncLease { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lease_is_busy_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("rider.db");
        let first = SyncLease::acquire(&db, "sync").expect("first lease");
        let second = SyncLease::acquire(&db, "sync");
        assert!(
            matches!(second, Err(GridlineError::Busy { .. })),
            "{second:?}"
        );
        // Another thread is refused too (a different open file, as another process has).
        let db2 = db.clone();
        let from_thread = std::thread::spawn(move || SyncLease::acquire(&db2, "sync").is_err())
            .join()
            .expect("thread");
        assert!(from_thread);
        drop(first);
        SyncLease::acquire(&db, "sync").expect("free again");
        assert!(lock_path(&db).exists());
    }
}
