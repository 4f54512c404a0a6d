//! What a server accepts, published at `GET /v1/limits` so clients size their batches and
//! refuse oversized photos before they spend a rider's mobile data.

use serde::{Deserialize, Serialize};

/// A server's published limits. Clients must not exceed them; the server enforces every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Protocol version spoken (1).
    pub protocol_version: u32,
    /// Most reports in one `POST /v1/reports:batch`.
    pub max_reports_per_batch: u32,
    /// Most bytes of one request body, after gzip decoding.
    pub max_request_bytes: u64,
    /// Largest photo, in bytes.
    pub max_photo_bytes: u64,
    /// Largest `limit` honoured by `GET /v1/changes` and `GET /v1/tickets` (larger is clamped).
    pub max_page_size: u32,
}

impl Default for Limits {
    /// Sized for a 500-report batch of text reports (~1 KiB each) with room to spare,
    /// and for 1600 px JPEG photos (typically 200-600 KiB).
    fn default() -> Self {
        Self {
            protocol_version: super::PROTOCOL_VERSION,
            max_reports_per_batch: 500,
            max_request_bytes: 4 * 1024 * 1024,
            max_photo_bytes: 10 * 1024 * 1024,
            max_page_size: 500,
        }
    }
}
