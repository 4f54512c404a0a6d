//! Photo bytes, content-addressed, behind one trait with two implementations: a folder on the
//! server's disk ([`local::MediaDir`], a district's default) and an S3-compatible bucket
//! ([`s3::S3Media`], a city's, shared by every instance).
//!
//! Both keep a verified photo under its SHA-256 and an upload in progress per account and
//! photo, whose length is the upload offset. Uploads belong to the account that started them:
//! another account knowing the hash can neither see their progress nor disturb them. A photo
//! only becomes visible under its name after its hash is verified and it decodes as a JPEG, and
//! it is created there only if absent, so two instances finishing the same photo never clobber
//! each other and a stored photo is always the right bytes.

pub mod local;
pub mod s3;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::OwnedMutexGuard;

use crate::account::hex;

pub use local::MediaDir;
pub use s3::S3Media;

/// Where photos are kept. Every method is safe to call from several instances at once for
/// different uploads; calls for one upload are serialised by the caller ([`UploadLocks`] in
/// one process, the store's upload lease across instances).
#[async_trait::async_trait]
pub trait MediaStore: Send + Sync + 'static {
    /// `"local"` or `"s3"`: for logs and the readiness check.
    fn backend(&self) -> &'static str;

    /// Succeeds when the store can be read (the readiness check).
    async fn ping(&self) -> std::io::Result<()>;

    /// Bytes received so far of `user`'s upload of `sha256` (0 if none).
    async fn partial_len(&self, user: i64, sha256: &str) -> std::io::Result<u64>;

    /// Adds `bytes` to `user`'s upload of `sha256`, which holds exactly `offset` bytes.
    async fn append(
        &self,
        user: i64,
        sha256: &str,
        offset: u64,
        bytes: Bytes,
    ) -> std::io::Result<()>;

    /// Deletes `user`'s upload in progress of `sha256`, if any.
    async fn discard_partial(&self, user: i64, sha256: &str) -> std::io::Result<()>;

    /// Verifies `user`'s finished upload of `sha256` ([`verify`]) and stores it under its name
    /// unless the same bytes are there already; the upload is gone afterwards either way.
    async fn finish(&self, user: i64, sha256: &str) -> std::io::Result<Finished>;

    /// The verified photo `sha256`, if stored.
    async fn read(&self, sha256: &str) -> std::io::Result<Option<Bytes>>;

    /// Stores already verified bytes under their name unless present (moving a district's
    /// photos into a city's store).
    async fn put_verified(&self, sha256: &str, bytes: Bytes) -> std::io::Result<()>;

    /// Every upload in progress, as (account, photo) (for checks and the sweeper's logs).
    async fn partials(&self) -> std::io::Result<Vec<(i64, String)>>;

    /// The names of every verified photo stored (for checks and migrations; not for requests).
    async fn photos(&self) -> std::io::Result<Vec<String>>;

    /// Deletes uploads in progress not written to for `max_age` (abandoned before the
    /// database knew of them, e.g. after a crash); returns how many went.
    async fn sweep_partials(&self, max_age: Duration) -> std::io::Result<usize>;
}

/// What verifying a finished upload found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The bytes are the photo: stored. Carries the perceptual hash the server computed from
    /// them (for duplicate candidates; a device's own hash is never trusted).
    Verified(gridline_core::photo::PerceptualHash),
    /// The bytes do not hash to the name: deleted.
    HashMismatch,
    /// The bytes hash right but are not a JPEG the server can decode: deleted.
    NotAPhoto(String),
}

/// Checks that `bytes` hash to `sha256` and decode as a JPEG within the device pipeline's own
/// limits (anything a device made passes, a decompression bomb does not). CPU-bound: call from
/// a blocking thread.
pub fn verify(sha256: &str, bytes: &[u8]) -> Finished {
    if hex(&Sha256::digest(bytes)) != sha256 {
        return Finished::HashMismatch;
    }
    match gridline_core::photo::verify_upload(bytes, &gridline_core::photo::PhotoOptions::default())
    {
        Ok(v) => Finished::Verified(v.phash),
        Err(e) => Finished::NotAPhoto(e.to_string()),
    }
}

/// Runs [`verify`] on a blocking thread.
pub(crate) async fn verify_off_thread(sha256: &str, bytes: Bytes) -> std::io::Result<Finished> {
    let name = sha256.to_string();
    tokio::task::spawn_blocking(move || verify(&name, &bytes))
        .await
        .map_err(std::io::Error::other)
}

/// An upload: the account and the photo.
type UploadKey = (i64, String);

/// One lock per account and photo being uploaded, so two `PATCH`es of the same upload (a
/// retry racing a slow original) take turns instead of interleaving bytes. Other accounts'
/// uploads of the same photo never wait on it. Across instances the store's upload lease
/// does the same (see `routes/media.rs`).
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
