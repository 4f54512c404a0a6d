//! The supervisors' triage console: plain HTML, CSS and JavaScript modules under
//! `server/console/www/`, compiled into the binary and served at `/console/`.
//!
//! The console is a client of the documented API like any other (it signs in with a bearer
//! token and calls `/v1/...`); these routes only hand out static files. Every console response
//! carries a strict Content-Security-Policy: scripts, styles and connections only from this
//! origin, images from this origin or `blob:` (photos are fetched with the token and shown
//! through object URLs), no inline script or style, no frames, no external origin at all — the
//! console works with no internet, so nothing may load from a CDN, a font service or a tile
//! server. `Cache-Control: no-cache` with a strong `ETag`: a browser revalidates each file
//! with one small round trip and never runs a console older than the server.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, LOCATION};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::extract::if_none_match;
use crate::state::etag_of;

/// Where the console lives.
pub const PATH: &str = "/console/";

/// The policy every console response carries; see the module docs.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Embeds one file of `server/console/www/`.
macro_rules! asset {
    ($path:literal, $mime:literal) => {
        (
            $path,
            $mime,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/www/", $path)) as &[u8],
        )
    };
}

/// Every file of the console: path under `/console/`, content type, bytes. A test checks
/// that this table and the folder agree.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("js/actions.js", "text/javascript; charset=utf-8"),
    asset!("js/api.js", "text/javascript; charset=utf-8"),
    asset!("js/app.js", "text/javascript; charset=utf-8"),
    asset!("js/detail.js", "text/javascript; charset=utf-8"),
    asset!("js/dom.js", "text/javascript; charset=utf-8"),
    asset!("js/geo.js", "text/javascript; charset=utf-8"),
    asset!("js/i18n.js", "text/javascript; charset=utf-8"),
    asset!("js/keys.js", "text/javascript; charset=utf-8"),
    asset!("js/map.js", "text/javascript; charset=utf-8"),
    asset!("js/tickets.js", "text/javascript; charset=utf-8"),
    asset!("js/worklist.js", "text/javascript; charset=utf-8"),
];

/// One embedded file and its entity tag.
struct Asset {
    mime: &'static str,
    bytes: &'static [u8],
    etag: String,
}

fn assets() -> &'static HashMap<&'static str, Asset> {
    static TABLE: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    TABLE.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(path, mime, bytes)| {
                (
                    *path,
                    Asset {
                        mime,
                        bytes,
                        etag: etag_of(bytes),
                    },
                )
            })
            .collect()
    })
}

/// The console's routes: `/console` redirects to `/console/`, which serves `index.html`.
pub fn router() -> Router {
    Router::new()
        .route("/console", get(redirect))
        .route(PATH, get(|headers: HeaderMap| async move { serve("index.html", &headers) }))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                serve(&path, &headers)
            }),
        )
}

async fn redirect() -> Response {
    (StatusCode::PERMANENT_REDIRECT, [(LOCATION, PATH)]).into_response()
}

/// The headers of every console response.
fn policy() -> [(HeaderName, &'static str); 4] {
    [
        (CONTENT_SECURITY_POLICY, CSP),
        (HeaderName::from_static("x-frame-options"), "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ]
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = assets().get(path) else {
        return (policy(), ApiError::not_found("console file")).into_response();
    };
    let tags = [
        (ETAG, asset.etag.clone()),
        (CACHE_CONTROL, "no-cache".to_string()),
    ];
    if if_none_match(headers, &asset.etag) {
        return (StatusCode::NOT_MODIFIED, policy(), tags).into_response();
    }
    (policy(), tags, [(CONTENT_TYPE, asset.mime)], asset.bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `server/console/www` is embedded, and nothing else.
    #[test]
    fn the_table_lists_exactly_the_files_of_the_folder() {
        fn walk(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().into_string().unwrap();
                if entry.file_type().unwrap().is_dir() {
                    walk(&entry.path(), &format!("{prefix}{name}/"), out);
                } else {
                    out.push(format!("{prefix}{name}"));
                }
            }
        }
        let mut on_disk = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console/www"),
            "",
            &mut on_disk,
        );
        on_disk.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|(p, _, _)| p.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }

    /// The markup loads no inline script or style and nothing from another origin, so the
    /// policy above is enough for it.
    #[test]
    fn the_markup_needs_nothing_the_policy_forbids() {
        for (path, _, bytes) in ASSETS {
            // The SVG namespace is a name, not a place anything loads from.
            let text = std::str::from_utf8(bytes)
                .unwrap()
                .replace("http://www.w3.org/2000/svg", "");
            assert!(
                !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
                "{path} names an external origin"
            );
            assert!(
                !text.contains("innerHTML")
                    && !text.contains("outerHTML")
                    && !text.contains("insertAdjacentHTML"),
                "{path} builds markup from strings"
            );
            assert!(
                !text.contains("eval(") && !text.contains("new Function"),
                "{path} evaluates strings"
            );
        }
        let index = std::str::from_utf8(assets()["index.html"].bytes).unwrap();
        assert!(
            !index.contains("<script>") && !index.contains(" style=") && !index.contains("<style")
        );
        assert!(
            !index.contains(" on") || !regex_like_handler(index),
            "inline handler in index.html"
        );
    }

    /// True when `html` has an inline event handler attribute (` onclick=` and the like).
    fn regex_like_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(i, _)| {
            let rest = &html[i + 3..];
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        })
    }
}
