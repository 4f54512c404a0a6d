//! Photo files in the data folder, content-addressed.
//!
//! A complete photo lives at `media/ab/abcdef…` (its SHA-256, fanned out by the first byte);
//! an upload in progress at `media/partial/abcdef…`, whose length is the upload offset. A
//! photo only moves from partial to complete after its hash is verified, by an atomic rename,
//! so a complete file is always the right bytes.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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

    /// Where the upload in progress of `sha256` lives.
    pub fn partial_path(&self, sha256: &str) -> PathBuf {
        self.root.join("partial").join(sha256)
    }

    /// Bytes received so far of an upload in progress (0 if none).
    pub fn partial_len(&self, sha256: &str) -> std::io::Result<u64> {
        match std::fs::metadata(self.partial_path(sha256)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Deletes an upload in progress, if any.
    pub fn discard_partial(&self, sha256: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.partial_path(sha256)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Verifies a finished upload: if its bytes hash to `sha256` it is made durable and moved
    /// into place (`Ok(true)`); otherwise it is deleted (`Ok(false)`).
    pub fn finish(&self, sha256: &str) -> std::io::Result<bool> {
        let partial = self.partial_path(sha256);
        let actual = sha256_file(&partial)?;
        if actual != sha256 {
            self.discard_partial(sha256)?;
            return Ok(false);
        }
        std::fs::File::open(&partial)?.sync_all()?;
        let target = self.complete_path(sha256);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&partial, &target)?;
        if let Some(dir) = target.parent() {
            sync_dir(dir);
        }
        Ok(true)
    }
}

/// Lowercase hex SHA-256 of a file's bytes.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Makes a rename durable where the platform allows opening a directory (Unix); best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// One lock per photo being uploaded, so two `PATCH`es of the same photo (a retry racing a
/// slow original) take turns instead of interleaving bytes.
#[derive(Debug, Default)]
pub struct UploadLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl UploadLocks {
    /// Waits for and holds the lock of `sha256`.
    pub async fn lock(&self, sha256: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            // Forget locks nobody holds or waits for, so the map stays small.
            locks.retain(|_, l| Arc::strong_count(l) > 1);
            locks.entry(sha256.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_keeps_only_bytes_that_match_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let media = MediaDir::open(dir.path().join("media")).unwrap();
        let good = b"jpeg bytes";
        let name = hex(&Sha256::digest(good));
        std::fs::write(media.partial_path(&name), good).unwrap();
        assert_eq!(media.partial_len(&name).unwrap(), good.len() as u64);
        assert!(media.finish(&name).unwrap());
        assert_eq!(std::fs::read(media.complete_path(&name)).unwrap(), good);
        assert_eq!(media.partial_len(&name).unwrap(), 0);

        let liar = "0".repeat(64);
        std::fs::write(media.partial_path(&liar), good).unwrap();
        assert!(!media.finish(&liar).unwrap());
        assert!(!media.partial_path(&liar).exists());
        assert!(!media.complete_path(&liar).exists());
    }
}
