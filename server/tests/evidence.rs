//! Signed evidence (issue 17): device key registration, the signature check of every report at
//! ingest (valid / unsigned / unknown key / revoked key / mismatch) stored with the ticket and
//! shown on it, revocation and rotation by the administrator's commands.

mod common;

use std::sync::Arc;

use common::*;
use gridline_core::evidence::{Signer, SoftwareSigner, sign_report};
use gridline_protocol::Report;
use gridline_protocol::evidence::hex;
use gridline_server::{Role, admin};
use serde_json::{Value, json};

fn register(h: &Harness, token: &str, key: &SoftwareSigner) -> reqwest::blocking::Response {
    h.post_json(
        token,
        "/v1/device-keys",
        &json!({"algorithm": "ed25519", "public_key": hex(&key.public_bytes())}),
    )
}

/// `report` signed by `key`, as JSON.
fn signed(report: Value, key: &SoftwareSigner) -> Value {
    let mut r: Report = serde_json::from_value(report).unwrap();
    let signer: Arc<dyn Signer> = Arc::new(SoftwareSigner::from_secret(&key.secret()));
    sign_report(&signer, &mut r).unwrap();
    serde_json::to_value(&r).unwrap()
}

/// Files `report` and returns its ticket's evidence record.
fn evidence_of(h: &Harness, token: &str, report: &Value) -> Value {
    let ticket = h.file(token, report);
    let resp = h.get(token, &format!("/v1/tickets/{ticket}"));
    assert_eq!(resp.status(), 200);
    let t: Value = resp.json().unwrap();
    t["evidence"].clone()
}

fn check(h: &Harness, token: &str, report: &Value) -> String {
    let e = evidence_of(h, token, report);
    assert!(e["detail"].as_str().is_some_and(|d| !d.is_empty()), "{e}");
    e["signature"].as_str().unwrap().to_string()
}

#[test]
fn a_registered_key_makes_valid_evidence_and_any_edit_after_signing_is_a_mismatch() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let key = SoftwareSigner::generate();
    assert_eq!(register(&h, &rider, &key).status(), 201);
    // Registering again is harmless.
    assert_eq!(register(&h, &rider, &key).status(), 200);

    let e = evidence_of(&h, &rider, &signed(report("li"), &key));
    assert_eq!(e["signature"], "valid", "{e}");
    assert_eq!(e["key_id"].as_str().unwrap().len(), 32);

    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("note", Box::new(|r| r["note"] = json!("nothing here"))),
        ("lat", Box::new(|r| r["location"]["lat"] = json!(29.8651))),
        ("mock", Box::new(|r| r["location"]["mock"] = json!(true))),
        (
            "provider",
            Box::new(|r| r["location"]["provider"] = json!("network")),
        ),
        (
            "fix_time",
            Box::new(|r| r["location"]["fix_time"] = json!("2026-11-28T09:29:51.000Z")),
        ),
        (
            "submitted_at",
            Box::new(|r| r["submitted_at"] = json!("2026-11-28T09:31:00.000Z")),
        ),
        ("severity", Box::new(|r| r["severity"] = json!("urgent"))),
        (
            "photo",
            Box::new(|r| {
                r["photos"] =
                    json!([{"sha256": "b".repeat(64), "bytes": 10, "width": 4, "height": 4}])
            }),
        ),
        (
            "signature",
            Box::new(|r| {
                let s = r["signature"]["signature"].as_str().unwrap().to_string();
                let flipped = if s.starts_with('0') { "1" } else { "0" };
                r["signature"]["signature"] = json!(format!("{flipped}{}", &s[1..]));
            }),
        ),
        (
            "garbage signature",
            Box::new(|r| r["signature"]["signature"] = json!("00")),
        ),
    ];
    for (what, edit) in edits {
        let mut r = signed(report("li"), &key);
        edit(&mut r);
        assert_eq!(check(&h, &rider, &r), "mismatch", "editing {what}");
    }
}

#[test]
fn unsigned_unknown_and_foreign_keys_are_recorded_never_trusted() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let zhao = h.user("zhao", Role::Rider, &[]);
    assert_eq!(check(&h, &li, &report("li")), "unsigned");

    let never_registered = SoftwareSigner::generate();
    assert_eq!(
        check(&h, &li, &signed(report("li"), &never_registered)),
        "unknown_key"
    );

    // Zhao's key signing a report Li submits (a stolen payload, or a shared phone) is not Li's.
    let zhaos = SoftwareSigner::generate();
    assert_eq!(register(&h, &zhao, &zhaos).status(), 201);
    assert_eq!(check(&h, &li, &signed(report("li"), &zhaos)), "unknown_key");
    // Li cannot claim Zhao's key either.
    expect_error(
        register(&h, &li, &zhaos),
        409,
        "key_conflict",
        Some("public_key"),
    );
}

#[test]
fn revocation_applies_from_then_on_and_rotation_keeps_old_tickets() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let old = SoftwareSigner::generate();
    assert_eq!(register(&h, &rider, &old).status(), 201);
    let before = h.file(&rider, &signed(report("li"), &old));

    // Rotation: the device registers a new key; both keep verifying.
    let new = SoftwareSigner::generate();
    assert_eq!(register(&h, &rider, &new).status(), 201);
    assert_eq!(check(&h, &rider, &signed(report("li"), &new)), "valid");
    assert_eq!(check(&h, &rider, &signed(report("li"), &old)), "valid");

    let keys = admin::device_keys(&h.storage, Some("li")).unwrap();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k.account == "li" && k.revoked_at.is_none())
    );
    assert!(
        admin::device_keys(&h.storage, Some("zhao"))
            .unwrap()
            .is_empty()
    );

    // The old phone is lost: the administrator revokes its key.
    let old_id = gridline_protocol::evidence::key_id(&old.public_bytes());
    let revoked = admin::revoke_device_key(&h.storage, &old_id).unwrap();
    assert!(revoked.revoked_at.is_some());
    // Twice keeps the first time.
    let again = admin::revoke_device_key(&h.storage, &old_id).unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at);

    assert_eq!(
        check(&h, &rider, &signed(report("li"), &old)),
        "revoked_key"
    );
    assert_eq!(check(&h, &rider, &signed(report("li"), &new)), "valid");
    // A ticket received before the revocation keeps what its check found.
    let t: Value = h
        .get(&rider, &format!("/v1/tickets/{before}"))
        .json()
        .unwrap();
    assert_eq!(t["evidence"]["signature"], "valid");
    // A revoked key cannot be registered back.
    expect_error(
        register(&h, &rider, &old),
        409,
        "key_conflict",
        Some("public_key"),
    );

    assert!(admin::revoke_device_key(&h.storage, &"0".repeat(32)).is_err());
    assert!(admin::revoke_device_key(&h.storage, "not-a-key").is_err());
}

#[test]
fn hostile_registrations_are_refused_with_the_field() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let good = hex(&SoftwareSigner::generate().public_bytes());
    for (body, status, code) in [
        (
            json!({"algorithm": "ed25519", "public_key": "00"}),
            422,
            "validation_failed",
        ),
        (
            json!({"algorithm": "ed25519", "public_key": good.to_uppercase()}),
            422,
            "validation_failed",
        ),
        (
            json!({"algorithm": "ed25519", "public_key": format!("{good}00")}),
            422,
            "validation_failed",
        ),
        (
            json!({"algorithm": "ed25519", "public_key": "é".repeat(32)}),
            422,
            "validation_failed",
        ),
        (
            json!({"algorithm": "rsa", "public_key": good}),
            400,
            "malformed_json",
        ),
        (
            json!({"algorithm": "ed25519", "public_key": good, "extra": 1}),
            400,
            "malformed_json",
        ),
        (json!({"algorithm": "ed25519"}), 400, "malformed_json"),
        (json!([]), 400, "malformed_json"),
    ] {
        let resp = h.post_json(&rider, "/v1/device-keys", &body);
        expect_error(resp, status, code, None);
    }
    // Not a point on the curve (y = 2 has no x).
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    let resp = h.post_json(
        &rider,
        "/v1/device-keys",
        &json!({"algorithm": "ed25519", "public_key": hex(&off_curve)}),
    );
    // Either refused as not a point, or (if the encoding decodes) accepted as a key that never
    // verifies anything; it must never be a server fault.
    assert!(resp.status().is_client_error() || resp.status().is_success());
    let resp = h
        .request(reqwest::Method::POST, "/v1/device-keys")
        .json(&json!({"algorithm": "ed25519", "public_key": good}))
        .send()
        .unwrap();
    expect_error(resp, 401, "unauthorized", None);
    let resp = h
        .request(reqwest::Method::POST, "/v1/device-keys")
        .bearer_auth(&rider)
        .header("content-type", "application/json")
        .body(vec![b' '; 10_000])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 413);
}

fn signal_names(h: &Harness, token: &str, report: &Value) -> Vec<String> {
    let e = evidence_of(h, token, report);
    e["signals"]
        .as_array()
        .map(|a| {
            a.iter()
                .inspect(|s| {
                    assert!(
                        s["explanation"].as_str().is_some_and(|x| !x.is_empty()),
                        "{s}"
                    );
                    assert!(s["severity"].is_string(), "{s}");
                })
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fraud_signals_fire_on_crafted_reports_and_stay_silent_on_normal_ones() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let other = h.user("zhao", Role::Rider, &[]);
    assert!(signal_names(&h, &rider, &report("li")).is_empty());
    // A second ordinary report a few metres and minutes later: still nothing.
    let mut next = report_at("li", (29.8651, 121.5451));
    next["location"]["fix_time"] = json!("2026-11-28T09:40:00.000Z");
    next["created_at"] = json!("2026-11-28T09:40:10.000Z");
    next["submitted_at"] = json!("2026-11-28T09:40:20.000Z");
    assert!(signal_names(&h, &rider, &next).is_empty());

    let mut mock = report("li");
    mock["location"]["mock"] = json!(true);
    mock["location"]["fix_time"] = json!("2026-11-28T09:40:00.000Z");
    assert_eq!(signal_names(&h, &rider, &mock), ["mock_location"]);

    // 70 km from the previous report within minutes.
    let mut far = report_at("li", (30.5, 121.545));
    far["location"]["fix_time"] = json!("2026-11-28T09:45:00.000Z");
    far["created_at"] = json!("2026-11-28T09:45:00.000Z");
    far["submitted_at"] = json!("2026-11-28T09:45:10.000Z");
    assert_eq!(signal_names(&h, &rider, &far), ["impossible_speed"]);

    let mut stale = report("li");
    stale["location"]["fix_time"] = json!("2026-11-28T06:00:00.000Z");
    stale["location"]["lat"] = json!(29.8652);
    assert_eq!(signal_names(&h, &rider, &stale), ["stale_fix"]);

    // The same photo in another account's report.
    let photo = json!([{"sha256": "c".repeat(64), "bytes": 1000, "width": 40, "height": 30}]);
    let mut first = report("zhao");
    first["photos"] = photo.clone();
    assert!(signal_names(&h, &other, &first).is_empty());
    let mut again = report_at("li", (30.5, 121.545));
    again["location"]["fix_time"] = json!("2026-11-28T09:50:00.000Z");
    again["created_at"] = json!("2026-11-28T09:50:00.000Z");
    again["submitted_at"] = json!("2026-11-28T09:50:10.000Z");
    again["photos"] = photo;
    assert_eq!(signal_names(&h, &rider, &again), ["photo_reused"]);

    // The worklist filters on them.
    let count = |query: &str| {
        let page: Value = h
            .get(&rider, &format!("/v1/tickets?{query}"))
            .json()
            .unwrap();
        page["tickets"].as_array().unwrap().len()
    };
    assert_eq!(count("signal=mock_location"), 1);
    assert_eq!(count("signal=impossible_speed"), 1);
    assert_eq!(count("signal=any"), 4);
    assert_eq!(count("signal=none_such"), 0);
    assert_eq!(count("signal="), 6, "an empty signal is no filter");
    for bad in ["0.5", "Mock", "mock%01", "a-b"] {
        expect_error(
            h.get(&rider, &format!("/v1/tickets?signal={bad}")),
            400,
            "invalid_request",
            Some("signal"),
        );
    }
    assert_eq!(count("signature=unsigned"), 6);
    assert_eq!(count("signature=valid"), 0);
    assert_eq!(count("signature=unsigned&signal=stale_fix"), 1);
    expect_error(
        h.get(&rider, "/v1/tickets?signature=forged"),
        400,
        "invalid_request",
        None,
    );
}

#[test]
fn photo_exif_facts_raise_their_signals_at_ingest_and_hostile_facts_are_refused() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let with_photo = |sha: char, exif: Value| {
        let mut r = report("li");
        r["photos"] = json!([{"sha256": sha.to_string().repeat(64), "bytes": 1000,
                              "width": 40, "height": 30, "exif": exif}]);
        r
    };
    // A camera photo a minute before the fix, 20 m away: nothing to see.
    let fresh = with_photo(
        'a',
        json!({"captured_at": "2026-11-28T09:28:50.000Z", "gps_distance_m": 20, "camera": true}),
    );
    assert!(signal_names(&h, &rider, &fresh).is_empty());
    let cases = [
        ('b', json!({"camera": false}), "no_camera_exif"),
        (
            'c',
            json!({"captured_at": "2026-11-20T09:00:00.000Z", "camera": true}),
            "photo_time_mismatch",
        ),
        (
            'd',
            json!({"captured_at": "2026-12-28T09:00:00.000Z", "camera": true}),
            "photo_in_future",
        ),
        (
            'e',
            json!({"gps_distance_m": 4200, "camera": true}),
            "photo_far_from_fix",
        ),
    ];
    for (sha, exif, name) in cases {
        assert_eq!(
            signal_names(&h, &rider, &with_photo(sha, exif.clone())),
            [name],
            "{exif}"
        );
    }
    let page: Value = h
        .get(&rider, "/v1/tickets?signal=photo_far_from_fix")
        .json()
        .unwrap();
    assert_eq!(page["tickets"].as_array().unwrap().len(), 1);

    // Facts no device could have measured are refused with the field; nothing is stored.
    for (exif, field) in [
        (
            json!({"gps_distance_m": -5, "camera": true}),
            "gps_distance_m",
        ),
        (
            json!({"gps_distance_m": 30000000, "camera": true}),
            "gps_distance_m",
        ),
        (json!({"lat": 29.8, "camera": true}), ""),
        (json!({"camera": "yes"}), ""),
    ] {
        let results = h.batch(&rider, &[with_photo('f', exif.clone())]);
        assert_eq!(results[0]["status"], "rejected", "{exif}: {results:?}");
        let said = results[0]["field"].as_str().unwrap_or_default().to_string()
            + results[0]["reason"].as_str().unwrap_or_default();
        assert!(said.contains(field), "{exif}: {results:?}");
    }
    assert_eq!(h.all_tickets(&rider).len(), 5);
}

#[test]
fn a_backlog_synced_in_one_batch_is_compared_stop_by_stop_and_a_photo_twice_in_it_is_reused() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    h.file(&rider, &report("li"));
    // Ten stops 400 m apart, a minute apart, filed offline and sent together, newest first:
    // the first and the last are 3.6 km apart within the same upload, which is no reason to
    // doubt anyone.
    let stops: Vec<Value> = (0..10)
        .rev()
        .map(|i| {
            let mut r = report_at("li", (29.8651 + f64::from(i) * 0.0036, 121.5451));
            let at = format!("2026-11-28T09:{:02}:00.000Z", 31 + i);
            r["location"]["fix_time"] = json!(at);
            r["created_at"] = json!(at);
            r["submitted_at"] = json!(at);
            r
        })
        .collect();
    let results = h.batch(&rider, &stops);
    assert!(
        results.iter().all(|r| r["status"] == "accepted"),
        "{results:?}"
    );
    for t in h.all_tickets(&rider) {
        assert!(t["evidence"]["signals"].is_null(), "{t}");
    }
    // Two reports of one upload 70 km apart a minute apart: the second could not be there.
    // (Each alone is plausible after the rider's last stored report an hour earlier.)
    let mut near = report_at("li", (29.8651, 121.5451));
    near["location"]["fix_time"] = json!("2026-11-28T10:40:00.000Z");
    near["created_at"] = json!("2026-11-28T10:40:00.000Z");
    near["submitted_at"] = json!("2026-11-28T10:40:05.000Z");
    let mut far = report_at("li", (30.5, 121.5451));
    far["location"]["fix_time"] = json!("2026-11-28T10:41:00.000Z");
    far["created_at"] = json!("2026-11-28T10:41:00.000Z");
    far["submitted_at"] = json!("2026-11-28T10:41:05.000Z");
    let results = h.batch(&rider, &[far, near]);
    let signals_of = |result: &Value| -> Vec<String> {
        let id = result["ticket_id"].as_str().unwrap();
        let t: Value = h.get(&rider, &format!("/v1/tickets/{id}")).json().unwrap();
        t["evidence"]["signals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(signals_of(&results[0]), ["impossible_speed"]);
    assert!(signals_of(&results[1]).is_empty());
    // The same photo in two reports of one upload.
    let photo = json!([{"sha256": "d".repeat(64), "bytes": 1000, "width": 40, "height": 30}]);
    let mut a = report_at("li", (29.9, 121.5451));
    let mut b = report_at("li", (29.9, 121.5451));
    for r in [&mut a, &mut b] {
        r["location"]["fix_time"] = json!("2026-11-28T09:45:00.000Z");
        r["submitted_at"] = json!("2026-11-28T09:45:10.000Z");
        r["created_at"] = json!("2026-11-28T09:45:00.000Z");
        r["photos"] = photo.clone();
    }
    let results = h.batch(&rider, &[a, b]);
    assert!(signals_of(&results[0]).is_empty());
    assert_eq!(signals_of(&results[1]), ["photo_reused"]);
}
