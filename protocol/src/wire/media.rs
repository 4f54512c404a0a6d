//! Resumable, content-addressed photo upload (`/v1/media/{sha256}`), after tus 1.0 core.
//!
//! A photo is named by the lowercase hex SHA-256 of its bytes, and only a report of the caller
//! that lists it (with its size in `PhotoRef::bytes`) makes it uploadable; the declared size is
//! the upload length.
//!
//! - `HEAD` answers `200` with [`UPLOAD_OFFSET`] (bytes the server holds) and [`UPLOAD_LENGTH`]
//!   (the declared size). Offset equal to length means the photo is complete and verified.
//! - `PATCH` with [`UPLOAD_OFFSET`] and `Content-Type:` [`OFFSET_CONTENT_TYPE`] appends the body
//!   at that offset. The offset must equal the server's, else `409 offset_mismatch` (the
//!   response carries the server's offset, so the client continues from there). Bytes received
//!   before a connection drops are kept: the next `HEAD` tells where to resume. When the length
//!   is reached the server hashes the whole file: a match answers `204` and the photo is stored;
//!   a mismatch answers `422 hash_mismatch` and keeps nothing, so the client starts over.
//!   Bytes beyond the declared length answer `413 upload_too_large` and keep nothing.
//! - `GET` returns a complete photo to anyone who can see a ticket that lists it.

/// Request and response header: a byte offset into the upload.
pub const UPLOAD_OFFSET: &str = "upload-offset";
/// Response header: the declared total size of the upload.
pub const UPLOAD_LENGTH: &str = "upload-length";
/// The content type of a `PATCH` body, as in tus.
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
