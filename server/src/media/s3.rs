//! Photos in an S3-compatible bucket, shared by every instance of a city deployment.
//!
//! Keys (under the configured prefix): a verified photo at `media/ab/abcdef…`; an upload in
//! progress as numbered pieces `partial/<account>-abcdef…/<offset, 20 digits>`, one per
//! stretch of bytes a request brought. Pieces are written with create-only puts, so two
//! writers of the same offset cannot both succeed, and an upload's length is the sum of its
//! pieces that follow on from 0: any instance, including one that restarted, sees the same
//! offset. Finishing reads the pieces back, verifies the photo, creates the photo's key only if
//! absent and deletes the pieces.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::{Finished, MediaStore, verify_off_thread};
use crate::config::S3Location;

/// Digits of a piece's offset in its key, so keys sort by offset.
const OFFSET_DIGITS: usize = 20;

/// A bucket (and prefix) holding photos.
#[derive(Debug, Clone)]
pub struct S3Media {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

fn io(e: object_store::Error) -> std::io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
        }
        object_store::Error::AlreadyExists { .. } => {
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, e.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

impl S3Media {
    /// A client for `location`, with credentials from the environment. Installs ring as the
    /// TLS provider if none is (for `https://` endpoints).
    pub fn open(location: &S3Location) -> std::io::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region);
        if let Some(endpoint) = &location.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(io)?;
        Ok(Self {
            store: Arc::new(store),
            prefix: location.prefix.clone(),
        })
    }

    fn key(&self, rest: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn photo_key(&self, sha256: &str) -> Path {
        self.key(&format!("media/{}/{sha256}", &sha256[..2]))
    }

    fn upload_prefix(&self, user: i64, sha256: &str) -> Path {
        self.key(&format!("partial/{user}-{sha256}"))
    }

    /// The upload's pieces that follow on from offset 0, in order, as (key, offset, size).
    async fn pieces(&self, user: i64, sha256: &str) -> std::io::Result<Vec<(Path, u64, u64)>> {
        let mut listed: Vec<(Path, u64, u64)> = self
            .store
            .list(Some(&self.upload_prefix(user, sha256)))
            .map_ok(|meta| {
                let offset = meta
                    .location
                    .filename()
                    .and_then(|name| name.parse::<u64>().ok());
                (meta.location, offset, meta.size)
            })
            .try_filter_map(|(key, offset, size)| async move { Ok(offset.map(|o| (key, o, size))) })
            .try_collect()
            .await
            .map_err(io)?;
        listed.sort_by_key(|(_, offset, _)| *offset);
        let mut held = 0;
        let mut chain = Vec::with_capacity(listed.len());
        for (key, offset, size) in listed {
            if offset != held {
                break;
            }
            held += size;
            chain.push((key, offset, size));
        }
        Ok(chain)
    }

    async fn delete_all(&self, keys: impl IntoIterator<Item = Path>) -> std::io::Result<()> {
        for key in keys {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    async fn create(&self, key: &Path, bytes: Bytes) -> Result<(), object_store::Error> {
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.store
            .put_opts(key, PutPayload::from_bytes(bytes), options)
            .await
            .map(|_| ())
    }
}

#[async_trait::async_trait]
impl MediaStore for S3Media {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn ping(&self) -> std::io::Result<()> {
        // Listing one key proves the bucket exists and the credentials work.
        let mut listing = self.store.list(Some(&self.key("media")));
        listing.try_next().await.map_err(io).map(|_| ())
    }

    async fn partial_len(&self, user: i64, sha256: &str) -> std::io::Result<u64> {
        Ok(self
            .pieces(user, sha256)
            .await?
            .iter()
            .map(|(_, _, size)| size)
            .sum())
    }

    async fn append(
        &self,
        user: i64,
        sha256: &str,
        offset: u64,
        bytes: Bytes,
    ) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let key = self.key(&format!(
            "partial/{user}-{sha256}/{offset:0width$}",
            width = OFFSET_DIGITS
        ));
        self.create(&key, bytes).await.map_err(io)
    }

    async fn discard_partial(&self, user: i64, sha256: &str) -> std::io::Result<()> {
        let keys: Vec<Path> = self
            .store
            .list(Some(&self.upload_prefix(user, sha256)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(io)?;
        self.delete_all(keys).await
    }

    async fn finish(&self, user: i64, sha256: &str) -> std::io::Result<Finished> {
        let pieces = self.pieces(user, sha256).await?;
        let total: u64 = pieces.iter().map(|(_, _, size)| size).sum();
        let mut whole = BytesMut::with_capacity(usize::try_from(total).unwrap_or(0));
        for (key, _, _) in &pieces {
            let piece = self
                .store
                .get(key)
                .await
                .map_err(io)?
                .bytes()
                .await
                .map_err(io)?;
            whole.extend_from_slice(&piece);
        }
        let whole = whole.freeze();
        let verdict = verify_off_thread(sha256, whole.clone()).await?;
        if matches!(verdict, Finished::Verified(_)) {
            match self.create(&self.photo_key(sha256), whole).await {
                // Another instance (or account) stored the same bytes first: same name, same
                // bytes.
                Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(io(e)),
            }
        }
        self.discard_partial(user, sha256).await?;
        Ok(verdict)
    }

    async fn read(&self, sha256: &str) -> std::io::Result<Option<Bytes>> {
        match self.store.get(&self.photo_key(sha256)).await {
            Ok(found) => found.bytes().await.map(Some).map_err(io),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn put_verified(&self, sha256: &str, bytes: Bytes) -> std::io::Result<()> {
        match self.create(&self.photo_key(sha256), bytes).await {
            Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn partials(&self) -> std::io::Result<Vec<(i64, String)>> {
        let prefix = self.key("partial");
        let depth = prefix.parts().count();
        let mut found: Vec<(i64, String)> = self
            .store
            .list(Some(&prefix))
            .try_filter_map(|meta| {
                let upload = meta
                    .location
                    .parts()
                    .nth(depth)
                    .map(|part| part.as_ref().to_string());
                std::future::ready(Ok(upload.and_then(|name| {
                    let (user, sha) = name.split_once('-')?;
                    Some((user.parse().ok()?, sha.to_string()))
                })))
            })
            .try_collect()
            .await
            .map_err(io)?;
        found.sort();
        found.dedup();
        Ok(found)
    }

    async fn photos(&self) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = self
            .store
            .list(Some(&self.key("media")))
            .map_ok(|meta| meta.location.filename().unwrap_or("").to_string())
            .try_collect()
            .await
            .map_err(io)?;
        names.sort();
        Ok(names)
    }

    async fn sweep_partials(&self, max_age: Duration) -> std::io::Result<usize> {
        let cutoff = chrono_seconds_ago(max_age);
        let stale: Vec<Path> = self
            .store
            .list(Some(&self.key("partial")))
            .try_filter(|meta| std::future::ready(meta.last_modified.timestamp() < cutoff))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(io)?;
        let n = stale.len();
        self.delete_all(stale).await?;
        Ok(n)
    }
}

/// Unix seconds `age` ago.
fn chrono_seconds_ago(age: Duration) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.saturating_sub(age).as_secs()).unwrap_or(0)
}
