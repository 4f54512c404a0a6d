//! The duplicates half of the store (issue 17): the perceptual hash the server computed for
//! each verified photo, and which tickets were merged into which. One trait, a supertrait of
//! [`super::Store`], implemented per backend in `sqlite_duplicates.rs` and
//! `postgres_duplicates.rs`. Ranking is not here: it is `gridline_core::duplicates`, the same
//! function the device uses, applied by the top-level `duplicates` module.

use std::collections::HashMap;

use gridline_core::photo::PerceptualHash;
use gridline_protocol::Timestamp;

use super::StoreError;

/// Photo hashes and merged tickets, per backend.
pub trait DuplicateStore {
    /// Records the hash the server computed from a photo's verified bytes. Idempotent: the
    /// same bytes always give the same hash, so a second call changes nothing.
    fn photo_hash_stored(
        &self,
        sha256: &str,
        phash: PerceptualHash,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// The stored hashes of whichever of `sha256s` have one.
    fn photo_hashes(
        &self,
        sha256s: &[String],
    ) -> Result<HashMap<String, PerceptualHash>, StoreError>;

    /// Rows of the tickets marked as duplicates of ticket row `id` (directly), oldest first.
    fn merged_into(&self, id: i64) -> Result<Vec<i64>, StoreError>;
}
