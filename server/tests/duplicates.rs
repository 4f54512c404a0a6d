//! Duplicate candidates (`GET /v1/tickets/{id}/candidates`) ranked with the server's own
//! photo hashes, who may ask for them, and merging (`mark_duplicate`) keeping every report's
//! evidence reachable from the surviving ticket.

mod common;

use common::*;
use gridline_core::photo::fixtures;
use gridline_server::Role;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const W: u32 = 480;
const H: u32 = 360;

fn jpeg(rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
    jpeg_q(rgb, w, h, 92)
}

/// Another quality gives other bytes (another photo id) of the same picture.
fn jpeg_q(rgb: &[u8], w: u32, h: u32, quality: u8) -> Vec<u8> {
    let spec = fixtures::JpegSpec {
        quality,
        ..fixtures::JpegSpec::default()
    };
    fixtures::jpeg(rgb, w, h, &spec)
}

/// Metres north of `IN_A`, as a point.
fn north_of_a(m: f64) -> (f64, f64) {
    (IN_A.0 + m / 111_195.0, IN_A.1)
}

/// Files a pothole at `at` with `photo` and uploads the photo's bytes; returns the ticket.
fn file_with_photo(h: &Harness, token: &str, who: &str, at: (f64, f64), photo: &[u8]) -> String {
    let name = sha(photo);
    let mut r = report_at(who, at);
    r["photos"] = json!([{"sha256": name, "bytes": photo.len(), "width": W, "height": H}]);
    let ticket = h.file(token, &r);
    let resp = h
        .request(Method::PATCH, &format!("/v1/media/{name}"))
        .bearer_auth(token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .body(photo.to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 204, "upload of {name}");
    ticket
}

struct Scene {
    h: Harness,
    sup_a: String,
    sup_b: String,
    li: String,
    admin: String,
    first: String,
    second_angle: String,
    other_pothole: String,
    far: String,
    other_grid: String,
}

fn scene() -> Scene {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let zhao = h.user("zhao", Role::Rider, &[]);
    let sup_a = h.user("wang", Role::Supervisor, &["HS-A"]);
    let sup_b = h.user("chen", Role::Supervisor, &["HS-B"]);
    let admin = h.user("root", Role::Admin, &[]);
    let pothole = fixtures::scene(3, W, H);
    let first = file_with_photo(&h, &li, "li", IN_A, &jpeg(&pothole, W, H));
    // The same pothole from another phone: framed a little differently, brighter.
    let (cw, ch) = (W - 24, H - 18);
    let other_angle = fixtures::brighten(&fixtures::crop(&pothole, W, 12, 8, cw, ch), 25);
    let second_angle = file_with_photo(
        &h,
        &zhao,
        "zhao",
        north_of_a(12.0),
        &jpeg(&other_angle, cw, ch),
    );
    let other_pothole = file_with_photo(
        &h,
        &zhao,
        "zhao",
        north_of_a(6.0),
        &jpeg(&fixtures::scene(9, W, H), W, H),
    );
    let far = file_with_photo(
        &h,
        &zhao,
        "zhao",
        north_of_a(400.0),
        &jpeg_q(&pothole, W, H, 85),
    );
    let other_grid = file_with_photo(&h, &zhao, "zhao", IN_B, &jpeg_q(&pothole, W, H, 80));
    Scene {
        h,
        sup_a,
        sup_b,
        li,
        admin,
        first,
        second_angle,
        other_pothole,
        far,
        other_grid,
    }
}

fn candidates(s: &Scene, token: &str, id: &str) -> Value {
    let resp = s.h.get(token, &format!("/v1/tickets/{id}/candidates"));
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

#[test]
fn candidates_rank_the_same_pothole_first_and_say_why() {
    let s = scene();
    let list = candidates(&s, &s.sup_a, &s.first);
    assert_eq!(list["ticket_id"], s.first.as_str());
    let c = list["candidates"].as_array().unwrap();
    let ids: Vec<&str> = c.iter().map(|c| c["ticket_id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [s.second_angle.as_str(), s.other_pothole.as_str()],
        "{list:#}"
    );
    for absent in [&s.first, &s.far, &s.other_grid] {
        assert!(!ids.contains(&absent.as_str()));
    }
    let best = &c[0];
    let similarity = best["similarity"].as_f64().unwrap();
    assert!(
        similarity >= gridline_core::duplicates::SAME_SCENE_SIMILARITY,
        "{best}"
    );
    let reason = best["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("photo ") && reason.contains("% similar, 12 m away, same category"),
        "{reason}"
    );
    assert!(best["score"].as_f64().unwrap() > c[1]["score"].as_f64().unwrap());
    assert!(c[1]["similarity"].as_f64().unwrap() < similarity);
    assert_eq!(best["same_category"], true);
    assert_eq!(best["status"], "submitted");
    // Admins see the same.
    assert_eq!(
        candidates(&s, &s.admin, &s.first)["candidates"],
        list["candidates"]
    );
}

#[test]
fn candidates_follow_the_ticket_access_rules() {
    let s = scene();
    let path = |id: &str| format!("/v1/tickets/{id}/candidates");
    // Another grid's supervisor: the ticket does not exist for them.
    expect_error(s.h.get(&s.sup_b, &path(&s.first)), 404, "not_found", None);
    // The rider who filed it may see the ticket, not other riders' reports: 403.
    expect_error(s.h.get(&s.li, &path(&s.first)), 403, "forbidden", None);
    // A rider asking about another rider's ticket: 404.
    expect_error(
        s.h.get(&s.li, &path(&s.second_angle)),
        404,
        "not_found",
        None,
    );
    // Unknown and malformed ids.
    for bad in [
        "T999999999",
        "nope",
        "%20",
        "T1%27%20OR%201%3D1",
        &"9".repeat(400),
    ] {
        expect_error(s.h.get(&s.sup_a, &path(bad)), 404, "not_found", None);
    }
    // No token.
    let resp = s.h.request(Method::GET, &path(&s.first)).send().unwrap();
    assert_eq!(resp.status(), 401);
    // Candidates never include what the caller cannot see: HS-B's copy of the photo is
    // not a candidate for HS-B's own ticket from HS-A either.
    let list = candidates(&s, &s.sup_b, &s.other_grid);
    assert_eq!(list["candidates"], json!([]));
}

#[test]
fn merging_keeps_the_duplicates_evidence_on_the_surviving_ticket() {
    let s = scene();
    let dup = s.second_angle.clone();
    let before: Value =
        s.h.get(&s.sup_a, &format!("/v1/tickets/{dup}"))
            .json()
            .unwrap();
    let resp = s.h.act(
        &s.sup_a,
        &dup,
        1,
        json!({"action": "mark_duplicate", "of": s.first}),
    );
    assert_eq!(resp.status(), 200);

    let survivor: Value =
        s.h.get(&s.sup_a, &format!("/v1/tickets/{}", s.first))
            .json()
            .unwrap();
    let merged = survivor["merged"].as_array().expect("merged list");
    assert_eq!(merged.len(), 1, "{survivor:#}");
    let m = &merged[0];
    assert_eq!(m["ticket_id"], dup.as_str());
    assert_eq!(m["reporter"], "zhao");
    assert_eq!(m["photos"], before["photos"]);
    assert_eq!(m["location"], before["location"]);
    assert_eq!(m.get("evidence"), before.get("evidence"));
    // The duplicate's photo is readable through the surviving ticket.
    let sha = m["photos"][0]["sha256"].as_str().unwrap();
    assert_eq!(s.h.get(&s.sup_a, &format!("/v1/media/{sha}")).status(), 200);
    // The merged ticket is no longer an open candidate.
    let list = candidates(&s, &s.sup_a, &s.first);
    assert!(
        list["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ticket_id"] != dup.as_str()),
        "{list:#}"
    );
    // The rider who filed the survivor sees neither the merged report nor its photo.
    let own: Value =
        s.h.get(&s.li, &format!("/v1/tickets/{}", s.first))
            .json()
            .unwrap();
    assert!(own.get("merged").is_none(), "{own:#}");
    assert_eq!(s.h.get(&s.li, &format!("/v1/media/{sha}")).status(), 404);
}
