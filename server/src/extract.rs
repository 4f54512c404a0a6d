//! Reading requests strictly: content types, body size, gzip, JSON with field paths, query
//! strings, conditional headers. Every failure is a precise [`ApiError`].

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, IF_NONE_MATCH};
use axum::http::{HeaderMap, Uri};
use gridline_protocol::FieldError;
use gridline_protocol::wire::ErrorCode;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Refuses a request whose `Content-Type` (ignoring parameters) is not one of `allowed`.
pub fn require_content_type(headers: &HeaderMap, allowed: &[&str]) -> Result<(), ApiError> {
    let given = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match given {
        Some(t) if allowed.contains(&t.as_str()) => Ok(()),
        Some(t) => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "Content-Type {t:?} is not accepted here; send {}",
                allowed[0]
            ),
        )
        .with_field("Content-Type")),
        None => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("a Content-Type header is required; send {}", allowed[0]),
        )
        .with_field("Content-Type")),
    }
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As is.
    Identity,
    /// `Content-Encoding: gzip`.
    Gzip,
}

/// Reads `Content-Encoding`: none, `identity` or `gzip`; anything else is 415.
pub fn content_encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let Some(value) = headers.get(CONTENT_ENCODING) else {
        return Ok(Encoding::Identity);
    };
    match value
        .to_str()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        Ok("identity") => Ok(Encoding::Identity),
        Ok("gzip") | Ok("x-gzip") => Ok(Encoding::Gzip),
        _ => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "only gzip Content-Encoding is accepted",
        )
        .with_field("Content-Encoding")),
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::BodyTooLarge,
        format!("the request body exceeds {limit} bytes"),
    )
}

/// Reads the whole body, refusing more than `limit` bytes (checked against `Content-Length`
/// first, then while reading).
pub async fn read_body(headers: &HeaderMap, body: Body, limit: u64) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    match Limited::new(body, cap).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(e) => Err(ApiError::invalid(
            "body",
            format!("the request body could not be read: {e}"),
        )),
    }
}

/// Undoes `encoding`, refusing output beyond `limit` bytes (a gzip bomb is a 413, not an
/// out-of-memory). Every gzip member is decoded (RFC 1952 allows several, and a decoder that
/// stops after the first would silently drop the rest); bytes after the last member that are
/// not another member are refused. Blocking for large bodies: call off the async workers.
pub fn decode(encoding: Encoding, raw: Bytes, limit: u64) -> Result<Bytes, ApiError> {
    match encoding {
        Encoding::Identity => Ok(raw),
        Encoding::Gzip => {
            let mut out = Vec::new();
            let mut decoder =
                flate2::read::MultiGzDecoder::new(&raw[..]).take(limit.saturating_add(1));
            decoder.read_to_end(&mut out).map_err(|e| {
                ApiError::invalid(
                    "Content-Encoding",
                    format!("the body is not valid gzip: {e}"),
                )
            })?;
            if out.len() as u64 > limit {
                return Err(too_large(limit));
            }
            Ok(out.into())
        }
    }
}

/// Parses JSON, naming the offending field on failure (`400 malformed_json`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = dotted(e.path());
        let err = ApiError::new(ErrorCode::MalformedJson, e.inner().to_string());
        if field.is_empty() {
            err
        } else {
            err.with_field(field)
        }
    })?;
    de.end()
        .map_err(|e| ApiError::new(ErrorCode::MalformedJson, e.to_string()))?;
    Ok(value)
}

/// Deserialises a JSON value, turning a failure into a [`FieldError`] with a dotted path.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = dotted(e.path());
        FieldError::new(
            if field.is_empty() {
                "report".to_string()
            } else {
                field
            },
            e.inner().to_string(),
        )
    })
}

/// `photos[0].sha256` in serde_path_to_error's notation becomes `photos.0.sha256`, the
/// protocol's notation.
fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => "?".to_string(),
        })
        .collect();
    parts.join(".")
}

/// Parses the query string strictly (`400 invalid_request` naming the problem).
pub fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::invalid("query", e.body_text()))
}

/// True when `If-None-Match` lists `etag` (or `*`); weak validators compare weakly, as RFC 9110
/// asks for `If-None-Match`.
pub fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let Some(value) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let bare = etag.trim_start_matches("W/");
    value
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == bare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn etags_match_lists_weak_forms_and_star() {
        let mut h = HeaderMap::new();
        assert!(!if_none_match(&h, "\"a\""));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"a\""));
        assert!(if_none_match(&h, "\"a\""));
        assert!(!if_none_match(&h, "\"b\""));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(&h, "\"b\""));
    }

    #[test]
    fn gzip_bombs_are_refused_by_decoded_size() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; 100_000]).unwrap();
        let small = Bytes::from(enc.finish().unwrap());
        assert!(small.len() < 1000);
        let err = decode(Encoding::Gzip, small.clone(), 50_000).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BodyTooLarge);
        assert_eq!(
            decode(Encoding::Gzip, small, 100_000).unwrap().len(),
            100_000
        );
        let err = decode(Encoding::Gzip, Bytes::from_static(b"not gzip"), 10).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn every_gzip_member_is_read_and_trailing_junk_refused() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let member = |text: &[u8]| {
            let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(text).unwrap();
            enc.finish().unwrap()
        };
        let mut two = member(b"{\"reports\":");
        two.extend_from_slice(&member(b"[]}"));
        assert_eq!(
            &decode(Encoding::Gzip, Bytes::from(two.clone()), 1000).unwrap()[..],
            b"{\"reports\":[]}"
        );
        two.extend_from_slice(b"trailing junk");
        let err = decode(Encoding::Gzip, Bytes::from(two), 1000).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn json_errors_name_the_field_in_protocol_notation() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Inner {
            #[allow(dead_code)]
            n: u32,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Outer {
            #[allow(dead_code)]
            items: Vec<Inner>,
        }
        let err =
            from_value::<Outer>(serde_json::json!({"items": [{"n": 1}, {"n": "x"}]})).unwrap_err();
        assert_eq!(err.field, "items.1.n");
        let err =
            from_value::<Outer>(serde_json::json!({"items": [{"n": 1, "z": 2}]})).unwrap_err();
        assert!(err.field.starts_with("items.0"), "{err:?}");
        assert!(err.reason.contains("unknown field"), "{err:?}");
    }
}
