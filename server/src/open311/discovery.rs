//! The Service Discovery document the GeoReport v2 spec asks every endpoint to publish
//! (`discovery.{xml,json}`): where the endpoint is, which spec and formats it speaks, whom to
//! ask for an API key.

use axum::http::HeaderMap;
use axum::http::header::HOST;

use crate::config::Open311Config;

use super::format::{Doc, Node};

/// When this endpoint's behaviour last changed (the spec's `changeset`).
pub const CHANGESET: &str = "2026-12-02T00:00:00Z";

/// The spec this endpoint implements.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

/// The endpoint's base URL: the configured public URL, else `http(s)://<Host>` (https when a
/// proxy says so in `X-Forwarded-Proto`), with `/open311/v2/`.
pub fn endpoint_url(config: &Open311Config, headers: &HeaderMap) -> String {
    let base = config.public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("localhost");
        let https = headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        let scheme = if https { "https" } else { "http" };
        format!("{scheme}://{host}")
    });
    format!("{}/open311/v2/", base.trim_end_matches('/'))
}

/// The discovery document for an endpoint at `url`.
pub fn document(config: &Open311Config, url: &str) -> Doc {
    Doc {
        root: "discovery",
        body: Node::Obj(vec![
            ("changeset", CHANGESET.into()),
            ("contact", config.contact.as_str().into()),
            (
                "key_service",
                "API keys are issued per client system by the server's operator \
                 (gridline server add-open311-client)"
                    .into(),
            ),
            (
                "endpoints",
                Node::List(
                    "endpoint",
                    vec![Node::Obj(vec![
                        ("specification", SPECIFICATION.into()),
                        ("url", url.into()),
                        ("changeset", CHANGESET.into()),
                        ("type", "production".into()),
                        (
                            "formats",
                            Node::List(
                                "format",
                                vec!["text/xml".into(), "application/json".into()],
                            ),
                        ),
                    ])],
                ),
            ),
        ]),
    }
}
