//! `HEAD|PATCH|GET /v1/media/{sha256}`: resumable uploads, verification, limits, access.

mod common;

use common::*;
use gridline_server::Role;
use reqwest::Method;
use reqwest::blocking::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn photo_bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Files a report listing a photo of `declared` bytes named `name`; returns the ticket id.
fn report_with_photo(h: &Harness, token: &str, name: &str, declared: usize) -> String {
    let mut r = report("li");
    r["photos"] = json!([{"sha256": name, "bytes": declared, "width": 1600, "height": 1200}]);
    h.file(token, &r)
}

fn head(h: &Harness, token: &str, name: &str) -> Response {
    h.request(Method::HEAD, &format!("/v1/media/{name}"))
        .bearer_auth(token)
        .send()
        .unwrap()
}

fn offset_of(resp: &Response) -> u64 {
    resp.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn patch(h: &Harness, token: &str, name: &str, offset: u64, body: &[u8]) -> Response {
    h.request(Method::PATCH, &format!("/v1/media/{name}"))
        .bearer_auth(token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(body.to_vec())
        .send()
        .unwrap()
}

#[test]
fn uploads_resume_from_the_servers_offset_and_verify() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let sup = h.user("wang", Role::Supervisor, &["HS-A"]);
    let bytes = photo_bytes(300_000, 7);
    let name = sha(&bytes);
    let ticket = report_with_photo(&h, &li, &name, bytes.len());

    let resp = head(&h, &li, &name);
    assert_eq!(resp.status(), 200);
    assert_eq!(offset_of(&resp), 0);
    assert_eq!(resp.headers()["upload-length"], "300000");

    // First chunk, then a retry of it with the old offset: 409 names the server's offset.
    let resp = patch(&h, &li, &name, 0, &bytes[..100_000]);
    assert_eq!(resp.status(), 204);
    assert_eq!(offset_of(&resp), 100_000);
    let resp = patch(&h, &li, &name, 0, &bytes[..100_000]);
    assert_eq!(resp.status(), 409);
    assert_eq!(offset_of(&resp), 100_000);
    expect_error(resp, 409, "offset_mismatch", Some("Upload-Offset"));
    assert_eq!(offset_of(&head(&h, &li, &name)), 100_000);

    // The photo is not visible as uploaded until complete.
    let t: Value = h
        .get(&sup, &format!("/v1/tickets/{ticket}"))
        .json()
        .unwrap();
    assert_eq!(t["photos"][0]["uploaded"], false);
    expect_error(
        h.get(&sup, &format!("/v1/media/{name}")),
        404,
        "not_found",
        None,
    );

    let resp = patch(&h, &li, &name, 100_000, &bytes[100_000..]);
    assert_eq!(resp.status(), 204);
    assert_eq!(offset_of(&resp), 300_000);
    assert_eq!(offset_of(&head(&h, &li, &name)), 300_000);
    // Re-sending the completion is harmless.
    assert_eq!(patch(&h, &li, &name, 300_000, &[]).status(), 204);

    let t: Value = h
        .get(&sup, &format!("/v1/tickets/{ticket}"))
        .json()
        .unwrap();
    assert_eq!(t["photos"][0]["uploaded"], true);
    for token in [&li, &sup] {
        let resp = h.get(token, &format!("/v1/media/{name}"));
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        assert_eq!(resp.bytes().unwrap().as_ref(), &bytes[..]);
    }
}

#[test]
fn bytes_that_do_not_hash_to_the_name_are_not_kept() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let bytes = photo_bytes(50_000, 1);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, bytes.len());
    let mut corrupt = bytes.clone();
    corrupt[49_999] ^= 0xff;
    assert_eq!(patch(&h, &li, &name, 0, &corrupt[..20_000]).status(), 204);
    expect_error(
        patch(&h, &li, &name, 20_000, &corrupt[20_000..]),
        422,
        "hash_mismatch",
        None,
    );
    assert_eq!(offset_of(&head(&h, &li, &name)), 0, "nothing kept");
    let partial = h.dir.path().join("media/partial").join(&name);
    assert!(!partial.exists());
    // A correct upload afterwards succeeds.
    assert_eq!(patch(&h, &li, &name, 0, &bytes).status(), 204);
    assert_eq!(offset_of(&head(&h, &li, &name)), 50_000);
}

#[test]
fn more_bytes_than_declared_are_refused_and_nothing_kept() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let bytes = photo_bytes(10_000, 2);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, 5_000);
    assert_eq!(patch(&h, &li, &name, 0, &bytes[..4_000]).status(), 204);
    expect_error(
        patch(&h, &li, &name, 4_000, &bytes[4_000..]),
        413,
        "upload_too_large",
        None,
    );
    assert_eq!(offset_of(&head(&h, &li, &name)), 0);
}

#[test]
fn only_the_reporting_rider_may_upload() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let zhao = h.user("zhao", Role::Rider, &[]);
    let sup_b = h.user("chen", Role::Supervisor, &["HS-B"]);
    let bytes = photo_bytes(1_000, 3);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, bytes.len());
    let unlisted = sha(b"never referenced");

    assert_eq!(head(&h, &zhao, &name).status(), 404);
    assert_eq!(head(&h, &li, &unlisted).status(), 404);
    expect_error(patch(&h, &zhao, &name, 0, &bytes), 404, "not_found", None);
    expect_error(patch(&h, &li, &unlisted, 0, b"x"), 404, "not_found", None);
    assert_eq!(offset_of(&head(&h, &li, &name)), 0);
    assert_eq!(patch(&h, &li, &name, 0, &bytes).status(), 204);
    // Downloads follow ticket visibility.
    expect_error(
        h.get(&zhao, &format!("/v1/media/{name}")),
        404,
        "not_found",
        None,
    );
    expect_error(
        h.get(&sup_b, &format!("/v1/media/{name}")),
        404,
        "not_found",
        None,
    );
}

#[test]
fn malformed_uploads_are_refused() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let bytes = photo_bytes(1_000, 4);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, bytes.len());
    let send = |path: String, ct: Option<&str>, offset: Option<&str>| {
        let mut req = h
            .request(Method::PATCH, &path)
            .bearer_auth(&li)
            .body(bytes.clone());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        if let Some(o) = offset {
            req = req.header("upload-offset", o);
        }
        req.send().unwrap()
    };
    let path = format!("/v1/media/{name}");
    let octets = Some("application/offset+octet-stream");
    expect_error(
        send(path.clone(), Some("image/jpeg"), Some("0")),
        415,
        "unsupported_media_type",
        Some("Content-Type"),
    );
    expect_error(
        send(path.clone(), octets, None),
        400,
        "invalid_request",
        Some("Upload-Offset"),
    );
    expect_error(
        send(path.clone(), octets, Some("-5")),
        400,
        "invalid_request",
        Some("Upload-Offset"),
    );
    expect_error(
        send(path.clone(), octets, Some("12")),
        409,
        "offset_mismatch",
        Some("Upload-Offset"),
    );
    expect_error(
        send(
            format!("/v1/media/{}", name.to_uppercase()),
            octets,
            Some("0"),
        ),
        400,
        "invalid_request",
        Some("sha256"),
    );
    expect_error(
        send("/v1/media/..%2F..%2Fetc".into(), octets, Some("0")),
        400,
        "invalid_request",
        Some("sha256"),
    );
    assert_eq!(offset_of(&head(&h, &li, &name)), 0, "nothing stored");
    // Upload to a photo whose declared size is over the limit is refused at the batch.
    let small = Harness::start_with(|c| c.limits.max_photo_bytes = 500);
    let li2 = small.user("li", Role::Rider, &[]);
    let mut r = report("li");
    r["photos"] = json!([{"sha256": name, "bytes": 1000, "width": 1, "height": 1}]);
    let results = small.batch(&li2, &[r]);
    assert_eq!(results[0]["field"], "photos.0.bytes");
}
