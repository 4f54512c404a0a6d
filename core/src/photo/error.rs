//! The one error type of the photo pipeline. Its variants are part of the API (the FFI maps
//! them to sealed exceptions), so they are few, stable, and each says what the rider can do.

use std::io;

/// Why a photo was refused or could not be processed.
///
/// A photo error never touches the report draft it was meant for: the caller keeps the draft
/// and shows the message.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The file has no bytes at all.
    #[error("the photo file is empty")]
    Empty,
    /// The file is larger than the configured limit; refused before reading it.
    #[error("the photo file is {bytes} bytes; at most {limit} are accepted")]
    TooLarge {
        /// Size of the file.
        bytes: u64,
        /// The limit in force ([`PhotoOptions::max_input_bytes`](super::PhotoOptions)).
        limit: u64,
    },
    /// The header claims more pixels than the limit (a huge photo or a decompression bomb);
    /// refused before any pixel buffer is allocated.
    #[error("the photo is {width}x{height} pixels; at most {limit} pixels are accepted")]
    TooManyPixels {
        /// Width the header claims.
        width: u32,
        /// Height the header claims.
        height: u32,
        /// The pixel-count limit that applied.
        limit: u64,
    },
    /// The file ends before the image does.
    #[error("the photo file is truncated: {detail}")]
    Truncated {
        /// What was missing, for logs.
        detail: String,
    },
    /// The file claims to be a JPEG, PNG or WebP but its data is invalid.
    #[error("the photo file is corrupt: {detail}")]
    Corrupt {
        /// What was wrong, for logs.
        detail: String,
    },
    /// Not a JPEG, PNG or WebP (HEIC, GIF, a PDF, ...), or a variant the pipeline
    /// does not decode (lossless or 12-bit JPEG, arithmetic coding).
    #[error("unsupported photo format: {format}")]
    UnsupportedFormat {
        /// The format that was recognised, or a short description.
        format: String,
    },
    /// Reading the input or writing the output failed.
    #[error("photo file I/O failed: {0}")]
    Io(#[from] io::Error),
}

impl PhotoError {
    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        Self::Corrupt {
            detail: detail.into(),
        }
    }

    pub(crate) fn truncated(detail: impl Into<String>) -> Self {
        Self::Truncated {
            detail: detail.into(),
        }
    }

    pub(crate) fn unsupported(format: impl Into<String>) -> Self {
        Self::UnsupportedFormat {
            format: format.into(),
        }
    }
}
