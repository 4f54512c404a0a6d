//! Running blocking work — the stores, hashing, file I/O — off the async workers.

use crate::error::ApiError;

/// Runs blocking work (SQLite, hashing, file I/O) off the async workers; a panic inside becomes
/// `500 internal` instead of taking the connection down.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))
}
