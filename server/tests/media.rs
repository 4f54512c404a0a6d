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

/// A real JPEG of noisy pixels (so it does not compress to nothing): `width` × 3/4 of it.
fn photo(width: u32, seed: u8) -> Vec<u8> {
    use gridline_core::photo::fixtures;
    let height = width * 3 / 4;
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    let rgb: Vec<u8> = (0..width * height * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    fixtures::jpeg(&rgb, width, height, &fixtures::JpegSpec::default())
}

/// Uploads in progress (any account) of photos whose name mentions `name`.
fn partials_of(h: &Harness, name: &str) -> usize {
    h.partial_uploads()
        .iter()
        .filter(|(_, sha)| sha.contains(name))
        .count()
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
    let bytes = photo(400, 7);
    let (len, cut) = (bytes.len() as u64, bytes.len() / 3);
    let name = sha(&bytes);
    let ticket = report_with_photo(&h, &li, &name, bytes.len());

    let resp = head(&h, &li, &name);
    assert_eq!(resp.status(), 200);
    assert_eq!(offset_of(&resp), 0);
    assert_eq!(resp.headers()["upload-length"], len.to_string().as_str());

    // First chunk, then a retry of it with the old offset: 409 names the server's offset.
    let resp = patch(&h, &li, &name, 0, &bytes[..cut]);
    assert_eq!(resp.status(), 204);
    assert_eq!(offset_of(&resp), cut as u64);
    let resp = patch(&h, &li, &name, 0, &bytes[..cut]);
    assert_eq!(resp.status(), 409);
    assert_eq!(offset_of(&resp), cut as u64);
    expect_error(resp, 409, "offset_mismatch", Some("Upload-Offset"));
    assert_eq!(offset_of(&head(&h, &li, &name)), cut as u64);

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

    let resp = patch(&h, &li, &name, cut as u64, &bytes[cut..]);
    assert_eq!(resp.status(), 204);
    assert_eq!(offset_of(&resp), len);
    assert_eq!(offset_of(&head(&h, &li, &name)), len);
    // Re-sending the completion is harmless.
    assert_eq!(patch(&h, &li, &name, len, &[]).status(), 204);

    let t: Value = h
        .get(&sup, &format!("/v1/tickets/{ticket}"))
        .json()
        .unwrap();
    assert_eq!(t["photos"][0]["uploaded"], true);
    for token in [&li, &sup] {
        let resp = h.get(token, &format!("/v1/media/{name}"));
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        assert_eq!(resp.bytes().unwrap().as_ref(), &bytes[..]);
    }
}

#[test]
fn bytes_that_do_not_hash_to_the_name_are_not_kept() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let bytes = photo(120, 1);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, bytes.len());
    let mut corrupt = bytes.clone();
    let last = corrupt.len() - 3;
    corrupt[last] ^= 0xff;
    assert_eq!(patch(&h, &li, &name, 0, &corrupt[..2_000]).status(), 204);
    expect_error(
        patch(&h, &li, &name, 2_000, &corrupt[2_000..]),
        422,
        "hash_mismatch",
        None,
    );
    assert_eq!(offset_of(&head(&h, &li, &name)), 0, "nothing kept");
    assert_eq!(partials_of(&h, &name), 0);
    // A correct upload afterwards succeeds.
    assert_eq!(patch(&h, &li, &name, 0, &bytes).status(), 204);
    assert_eq!(offset_of(&head(&h, &li, &name)), bytes.len() as u64);
}

#[test]
fn more_bytes_than_declared_are_refused_and_nothing_kept() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let bytes = photo(120, 2);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, 1_000);
    assert_eq!(patch(&h, &li, &name, 0, &bytes[..800]).status(), 204);
    expect_error(
        patch(&h, &li, &name, 800, &bytes[800..]),
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
    let bytes = photo(40, 3);
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
    let bytes = photo(40, 4);
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
    r["photos"] = json!([{"sha256": name, "bytes": bytes.len(), "width": 1, "height": 1}]);
    let results = small.batch(&li2, &[r]);
    assert_eq!(results[0]["field"], "photos.0.bytes");
}

/// The attack of issue 11: another account, knowing only a photo's hash and length (a
/// supervisor sees both), lists it with a larger length and uploads junk. The owner's upload
/// must neither be revealed, disturbed nor completed wrongly.
#[test]
fn another_account_can_neither_see_nor_disturb_an_upload() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let mallory = h.user("mallory", Role::Rider, &[]);
    let sup = h.user("wang", Role::Supervisor, &["HS-A"]);
    let bytes = photo(240, 9);
    let (len, half) = (bytes.len() as u64, bytes.len() / 2);
    let name = sha(&bytes);
    let ticket = report_with_photo(&h, &li, &name, bytes.len());
    assert_eq!(patch(&h, &li, &name, 0, &bytes[..half]).status(), 204);

    // Mallory's own claim, one byte longer, is accepted as a report of hers: her upload is
    // her own, with her own length and progress.
    report_with_photo(&h, &mallory, &name, bytes.len() + 1);
    let resp = head(&h, &mallory, &name);
    assert_eq!(offset_of(&resp), 0, "the owner's progress is not revealed");
    assert_eq!(
        resp.headers()["upload-length"],
        (len + 1).to_string().as_str()
    );
    let junk = vec![0x5a; bytes.len() + 1];
    assert_eq!(patch(&h, &mallory, &name, 0, &junk[..100]).status(), 204);
    expect_error(
        patch(&h, &mallory, &name, 100, &junk[100..]),
        422,
        "hash_mismatch",
        None,
    );

    // The owner's half is intact and the owner's view is the owner's length.
    let resp = head(&h, &li, &name);
    assert_eq!(offset_of(&resp), half as u64);
    assert_eq!(resp.headers()["upload-length"], len.to_string().as_str());
    let resp = patch(&h, &li, &name, half as u64, &bytes[half..]);
    assert_eq!(resp.status(), 204);
    assert_eq!(offset_of(&resp), len);
    assert_eq!(resp.headers()["upload-length"], len.to_string().as_str());
    let t: Value = h
        .get(&sup, &format!("/v1/tickets/{ticket}"))
        .json()
        .unwrap();
    assert_eq!(t["photos"][0]["uploaded"], true);
    let got = h.get(&sup, &format!("/v1/media/{name}"));
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().unwrap().as_ref(), &bytes[..]);
    // A stored photo's length is fixed now: a new claim with another length is refused.
    let mut r = report("mallory");
    r["photos"] = json!([{"sha256": name, "bytes": bytes.len() + 7, "width": 1, "height": 1}]);
    let results = h.batch(&mallory, &[r]);
    assert_eq!(results[0]["status"], "rejected", "{results:?}");
    assert_eq!(results[0]["field"], "photos.0.bytes");
}

#[test]
fn knowing_a_hash_is_not_enough_to_read_a_photo() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let mallory = h.user("mallory", Role::Rider, &[]);
    let sup_a = h.user("wang", Role::Supervisor, &["HS-A"]);
    let sup_b = h.user("chen", Role::Supervisor, &["HS-B"]);
    let bytes = photo(160, 5);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, bytes.len());
    assert_eq!(patch(&h, &li, &name, 0, &bytes).status(), 204);

    // Mallory lists the hash in a report of hers, in the other grid.
    let mut r = report_at("mallory", IN_B);
    r["photos"] = json!([{"sha256": name, "bytes": bytes.len(), "width": 160, "height": 120}]);
    let theirs = h.file(&mallory, &r);
    for token in [&mallory, &sup_b] {
        expect_error(
            h.get(token, &format!("/v1/media/{name}")),
            404,
            "not_found",
            None,
        );
    }
    let t: Value = h
        .get(&sup_b, &format!("/v1/tickets/{theirs}"))
        .json()
        .unwrap();
    assert_eq!(
        t["photos"][0]["uploaded"], false,
        "a listed hash is not an upload"
    );
    // Her HEAD reads 0: she has to prove she holds the bytes by sending them.
    assert_eq!(offset_of(&head(&h, &mallory, &name)), 0);
    assert_eq!(h.get(&sup_a, &format!("/v1/media/{name}")).status(), 200);
    // Sending them proves it; then her ticket shows the photo like any other.
    assert_eq!(patch(&h, &mallory, &name, 0, &bytes).status(), 204);
    assert_eq!(h.get(&sup_b, &format!("/v1/media/{name}")).status(), 200);
    let t: Value = h
        .get(&sup_b, &format!("/v1/tickets/{theirs}"))
        .json()
        .unwrap();
    assert_eq!(t["photos"][0]["uploaded"], true);
}

#[test]
fn bytes_named_after_their_own_hash_must_still_be_a_jpeg() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let sup = h.user("wang", Role::Supervisor, &["HS-A"]);
    let mut fake = b"<html><script>alert(1)</script></html>".to_vec();
    fake.resize(2_000, b' ');
    let name = sha(&fake);
    let ticket = report_with_photo(&h, &li, &name, fake.len());
    let body = expect_error(
        patch(&h, &li, &name, 0, &fake),
        422,
        "validation_failed",
        Some("body"),
    );
    assert!(body["message"].as_str().unwrap().contains("JPEG"), "{body}");
    assert_eq!(offset_of(&head(&h, &li, &name)), 0);
    assert_eq!(partials_of(&h, &name), 0);
    expect_error(
        h.get(&sup, &format!("/v1/media/{name}")),
        404,
        "not_found",
        None,
    );
    let t: Value = h
        .get(&sup, &format!("/v1/tickets/{ticket}"))
        .json()
        .unwrap();
    assert_eq!(t["photos"][0]["uploaded"], false);
}

#[test]
fn one_account_cannot_declare_two_lengths_for_one_photo() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let bytes = photo(80, 6);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, bytes.len());
    let mut r = report("li");
    r["photos"] = json!([{"sha256": name, "bytes": bytes.len() * 2, "width": 1, "height": 1}]);
    let results = h.batch(&li, &[r]);
    assert_eq!(results[0]["status"], "rejected", "{results:?}");
    assert_eq!(results[0]["field"], "photos.0.bytes");
    assert_eq!(
        head(&h, &li, &name).headers()["upload-length"],
        bytes.len().to_string().as_str()
    );
}

#[test]
fn unfinished_uploads_count_against_a_quota_and_expire() {
    let first = photo(200, 11);
    let second = photo(200, 12);
    let quota = (first.len() + second.len() / 2) as u64;
    let h = Harness::start_with(|c| {
        c.uploads.pending_quota = quota;
        // Long enough that the first upload cannot expire before the second is refused on
        // a loaded machine; the sweep below waits up to 10 s for it.
        c.uploads.expire_after = std::time::Duration::from_secs(2);
        c.uploads.sweep_every = std::time::Duration::from_millis(100);
    });
    let li = h.user("li", Role::Rider, &[]);
    let (a, b) = (sha(&first), sha(&second));
    report_with_photo(&h, &li, &a, first.len());
    report_with_photo(&h, &li, &b, second.len());
    assert_eq!(patch(&h, &li, &a, 0, &first[..1_000]).status(), 204);
    let resp = patch(&h, &li, &b, 0, &second[..1_000]);
    assert!(resp.headers().contains_key("retry-after"));
    expect_error(resp, 429, "quota_exceeded", None);
    assert_eq!(partials_of(&h, &b), 0, "a refused upload keeps nothing");

    // Left alone, the first upload expires: its bytes are deleted and the quota frees.
    let mut waited = 0;
    while partials_of(&h, &a) > 0 {
        assert!(waited < 100, "the abandoned upload was never swept");
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    assert_eq!(offset_of(&head(&h, &li, &a)), 0);
    assert_eq!(patch(&h, &li, &b, 0, &second).status(), 204);
    assert_eq!(offset_of(&head(&h, &li, &b)), second.len() as u64);
}

#[test]
fn a_stalled_upload_releases_the_photo_after_the_idle_timeout() {
    use std::io::Write;
    let h = Harness::start_with(|c| {
        c.uploads.idle_timeout = std::time::Duration::from_millis(500);
        c.uploads.lock_wait = std::time::Duration::from_secs(5);
    });
    let li = h.user("li", Role::Rider, &[]);
    let bytes = photo(160, 13);
    let name = sha(&bytes);
    report_with_photo(&h, &li, &name, bytes.len());
    // A PATCH that promises the whole photo, sends 500 bytes and then nothing more.
    let addr = h.base.trim_start_matches("http://");
    let mut stalled = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stalled,
        "PATCH /v1/media/{name} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {li}\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: 0\r\n\
         content-length: {}\r\n\r\n",
        bytes.len()
    )
    .unwrap();
    stalled.write_all(&bytes[..500]).unwrap();
    stalled.flush().unwrap();
    // The same device's retry waits for the stalled request to time out, then sees what it
    // left: the 500 bytes, kept for resuming.
    let mut offset = 0;
    for _ in 0..50 {
        offset = offset_of(&head(&h, &li, &name));
        if offset == 500 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(offset, 500);
    let resp = patch(&h, &li, &name, 500, &bytes[500..]);
    assert_eq!(resp.status(), 204);
    assert_eq!(offset_of(&resp), bytes.len() as u64);
    drop(stalled);
}
