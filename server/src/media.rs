//! Photo files in the data folder, content-addressed.
//!
//! A complete photo lives at `media/ab/abcdef…` (its SHA-256, fanned out by the first byte);
//! an upload in progress at `media/partial/<account>-abcdef…`, whose length is the upload
//! offset. Uploads belong to the account that started them: another account knowing the hash
//! can neither see their progress nor disturb them. A photo only moves from partial to
//! complete after its hash is verified and it decodes as a JPEG, by an atomic rename, so a
//! complete file is always the right bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::OwnedMutexGuard;

use crate::auth::hex;

/// The media folder.
#[derive(Debug, Clone)]
pub struct MediaDir {
    root: PathBuf,
}

impl MediaDir {
    /// Uses (and creates) `root` and its `partial/` folder.
    pub fn open(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("partial"))?;
        Ok(Self { root })
    }

    /// Where the verified photo `sha256` lives. `sha256` must be 64 lowercase hex digits
    /// (checked by the routes), so it cannot escape the folder.
    pub fn complete_path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Where account `user`'s upload in progress of `sha256` lives.
    pub fn partial_path(&self, user: i64, sha256: &str) -> PathBuf {
        self.root.join("partial").join(format!("{user}-{sha256}"))
    }

    /// Bytes received so far of `user`'s upload of `sha256` (0 if none).
    pub fn partial_len(&self, user: i64, sha256: &str) -> std::io::Result<u64> {
        match std::fs::metadata(self.partial_path(user, sha256)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Deletes `user`'s upload in progress of `sha256`, if any.
    pub fn discard_partial(&self, user: i64, sha256: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.partial_path(user, sha256)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Verifies `user`'s finished upload of `sha256`: its bytes must hash to the name and
    /// decode as a JPEG. A verified photo is made durable and moved into place (or, when the
    /// same bytes are stored already, the copy is dropped); anything else is deleted.
    pub fn finish(&self, user: i64, sha256: &str) -> std::io::Result<Finished> {
        let partial = self.partial_path(user, sha256);
        let bytes = std::fs::read(&partial)?;
        if hex(&Sha256::digest(&bytes)) != sha256 {
            self.discard_partial(user, sha256)?;
            return Ok(Finished::HashMismatch);
        }
        if let Err(e) = gridline_core::photo::verify_jpeg(&bytes, &photo_limits()) {
            self.discard_partial(user, sha256)?;
            return Ok(Finished::NotAPhoto(e.to_string()));
        }
        let target = self.complete_path(sha256);
        if target.is_file() {
            // Same name, so the same bytes: this account proved it holds them.
            self.discard_partial(user, sha256)?;
            return Ok(Finished::Verified);
        }
        std::fs::File::open(&partial)?.sync_all()?;
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&partial, &target)?;
        if let Some(dir) = target.parent() {
            sync_dir(dir);
        }
        Ok(Finished::Verified)
    }

    /// Deletes partial files not written to for `max_age` (uploads abandoned before the
    /// database knew of them, e.g. after a crash); returns how many went.
    pub fn sweep_partials(&self, max_age: Duration) -> std::io::Result<usize> {
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in std::fs::read_dir(self.root.join("partial"))? {
            let entry = entry?;
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|at| now.duration_since(at).unwrap_or_default() > max_age);
            if stale && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// What verifying a finished upload found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The bytes are the photo: stored.
    Verified,
    /// The bytes do not hash to the name: deleted.
    HashMismatch,
    /// The bytes hash right but are not a JPEG the server can decode: deleted.
    NotAPhoto(String),
}

/// The decoding limits an uploaded photo is checked with: the device pipeline's own, so
/// anything a device made passes and a bomb does not.
fn photo_limits() -> gridline_core::photo::PhotoOptions {
    gridline_core::photo::PhotoOptions::default()
}

/// Makes a rename durable where the platform allows opening a directory (Unix); best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// An upload: the account and the photo.
type UploadKey = (i64, String);

/// One lock per account and photo being uploaded, so two `PATCH`es of the same upload (a
/// retry racing a slow original) take turns instead of interleaving bytes. Other accounts'
/// uploads of the same photo never wait on it.
#[derive(Debug, Default)]
pub struct UploadLocks {
    locks: Mutex<HashMap<UploadKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl UploadLocks {
    /// Holds the lock of `user`'s upload of `sha256`, waiting at most `wait`; `None` when the
    /// upload stayed busy that long (the caller answers "retry").
    pub async fn lock(
        &self,
        user: i64,
        sha256: &str,
        wait: Duration,
    ) -> Option<OwnedMutexGuard<()>> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            // Forget locks nobody holds or waits for, so the map stays small.
            locks.retain(|_, l| Arc::strong_count(l) > 1);
            locks.entry((user, sha256.to_string())).or_default().clone()
        };
        tokio::time::timeout(wait, lock.lock_owned()).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_keeps_only_bytes_that_match_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let media = MediaDir::open(dir.path().join("media")).unwrap();
        let good = gridline_core::photo::fixtures::jpeg(
            &gridline_core::photo::fixtures::quadrants(16, 16),
            16,
            16,
            &Default::default(),
        );
        let name = hex(&Sha256::digest(&good));
        std::fs::write(media.partial_path(1, &name), &good).unwrap();
        assert_eq!(media.partial_len(1, &name).unwrap(), good.len() as u64);
        assert_eq!(
            media.partial_len(2, &name).unwrap(),
            0,
            "uploads are per account"
        );
        assert_eq!(media.finish(1, &name).unwrap(), Finished::Verified);
        assert_eq!(std::fs::read(media.complete_path(&name)).unwrap(), good);
        assert_eq!(media.partial_len(1, &name).unwrap(), 0);
        // A second account proving the same bytes leaves the stored file as it was.
        std::fs::write(media.partial_path(2, &name), &good).unwrap();
        assert_eq!(media.finish(2, &name).unwrap(), Finished::Verified);
        assert!(!media.partial_path(2, &name).exists());

        let liar = "0".repeat(64);
        std::fs::write(media.partial_path(1, &liar), &good).unwrap();
        assert_eq!(media.finish(1, &liar).unwrap(), Finished::HashMismatch);
        assert!(!media.partial_path(1, &liar).exists());
        assert!(!media.complete_path(&liar).exists());

        let junk = b"not a photo at all, but named after its own hash";
        let junk_name = hex(&Sha256::digest(junk));
        std::fs::write(media.partial_path(1, &junk_name), junk).unwrap();
        assert!(matches!(
            media.finish(1, &junk_name).unwrap(),
            Finished::NotAPhoto(_)
        ));
        assert!(!media.complete_path(&junk_name).exists());
        assert!(!media.partial_path(1, &junk_name).exists());
    }
}
