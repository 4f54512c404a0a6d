//! Photos in a folder of the server's disk: a complete photo at `ab/abcdef…` (its SHA-256,
//! fanned out by the first byte), an upload in progress at `partial/<account>-abcdef…`,
//! whose length is the upload offset. A verified photo moves into place by an atomic rename
//! after an fsync, so a complete file is always the right bytes.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::{Finished, MediaStore, verify_off_thread};

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

    /// Writes verified `bytes` durably under `sha256` (atomic rename of `from`, or of a
    /// temporary file), unless the photo is there already.
    fn install(&self, sha256: &str, from: &Path) -> std::io::Result<()> {
        let target = self.complete_path(sha256);
        if target.is_file() {
            // Same name, so the same bytes.
            return remove_if_present(from);
        }
        std::fs::File::open(from)?.sync_all()?;
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(from, &target)?;
        if let Some(dir) = target.parent() {
            sync_dir(dir);
        }
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)?
}

#[async_trait::async_trait]
impl MediaStore for MediaDir {
    fn backend(&self) -> &'static str {
        "local"
    }

    async fn ping(&self) -> std::io::Result<()> {
        tokio::fs::metadata(self.root.join("partial"))
            .await
            .map(|_| ())
    }

    async fn partial_len(&self, user: i64, sha256: &str) -> std::io::Result<u64> {
        match tokio::fs::metadata(self.partial_path(user, sha256)).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    async fn append(
        &self,
        user: i64,
        sha256: &str,
        offset: u64,
        bytes: Bytes,
    ) -> std::io::Result<()> {
        let path = self.partial_path(user, sha256);
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        let held = file.metadata().await?.len();
        if held != offset {
            return Err(std::io::Error::other(format!(
                "upload holds {held} bytes, not {offset}"
            )));
        }
        file.write_all(&bytes).await?;
        file.flush().await
    }

    async fn discard_partial(&self, user: i64, sha256: &str) -> std::io::Result<()> {
        let path = self.partial_path(user, sha256);
        blocking(move || remove_if_present(&path)).await
    }

    async fn finish(&self, user: i64, sha256: &str) -> std::io::Result<Finished> {
        let partial = self.partial_path(user, sha256);
        let bytes = Bytes::from(tokio::fs::read(&partial).await?);
        let verdict = verify_off_thread(sha256, bytes).await?;
        let (dir, name) = (self.clone(), sha256.to_string());
        blocking(move || match verdict {
            Finished::Verified(phash) => dir
                .install(&name, &partial)
                .map(|()| Finished::Verified(phash)),
            other => remove_if_present(&partial).map(|()| other),
        })
        .await
    }

    async fn read(&self, sha256: &str) -> std::io::Result<Option<Bytes>> {
        match tokio::fs::read(self.complete_path(sha256)).await {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn put_verified(&self, sha256: &str, bytes: Bytes) -> std::io::Result<()> {
        let (dir, name) = (self.clone(), sha256.to_string());
        blocking(move || {
            let staging = dir
                .root
                .join("partial")
                .join(format!("import-{name}-{}", std::process::id()));
            std::fs::write(&staging, &bytes)?;
            dir.install(&name, &staging)
        })
        .await
    }

    async fn partials(&self) -> std::io::Result<Vec<(i64, String)>> {
        let folder = self.root.join("partial");
        blocking(move || {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(folder)? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                if let Some((user, sha)) = name.split_once('-')
                    && let Ok(user) = user.parse()
                {
                    found.push((user, sha.to_string()));
                }
            }
            found.sort();
            Ok(found)
        })
        .await
    }

    async fn photos(&self) -> std::io::Result<Vec<String>> {
        let root = self.root.clone();
        blocking(move || {
            let mut names = Vec::new();
            for shard in std::fs::read_dir(&root)? {
                let shard = shard?;
                if shard.file_name() == "partial" || !shard.file_type()?.is_dir() {
                    continue;
                }
                for file in std::fs::read_dir(shard.path())? {
                    names.push(file?.file_name().to_string_lossy().into_owned());
                }
            }
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn sweep_partials(&self, max_age: Duration) -> std::io::Result<usize> {
        let folder = self.root.join("partial");
        blocking(move || {
            let now = SystemTime::now();
            let mut removed = 0;
            for entry in std::fs::read_dir(folder)? {
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
        })
        .await
    }
}

/// Makes a rename durable where the platform allows opening a directory (Unix); best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
