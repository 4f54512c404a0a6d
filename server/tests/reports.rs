//! `POST /v1/reports:batch`: per-item results, idempotency, grid assignment and bad input.

mod common;

use std::io::Write;

use common::*;
use gridline_server::Role;
use serde_json::{Value, json};

#[test]
fn same_id_and_content_is_the_same_ticket_never_a_second() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let r = report("li");
    let first = h.batch(&rider, std::slice::from_ref(&r));
    assert_eq!(first[0]["status"], "accepted");
    assert_eq!(first[0]["id"], r["id"]);
    let ticket = first[0]["ticket_id"].as_str().unwrap().to_string();

    // A resend (lost response), and a duplicate inside one batch.
    let again = h.batch(&rider, &[r.clone(), r.clone()]);
    for item in &again {
        assert_eq!(item["status"], "already_accepted");
        assert_eq!(item["ticket_id"], ticket.as_str());
    }
    assert_eq!(h.all_tickets(&rider).len(), 1);

    // Same id, different content: a conflict, and the stored ticket is untouched.
    let mut changed = r.clone();
    changed["note"] = json!("something else");
    let conflict = h.batch(&rider, &[changed]);
    assert_eq!(conflict[0]["status"], "conflict");
    assert!(conflict[0]["reason"].as_str().unwrap().contains(&ticket));

    // Another account reusing the id learns nothing about the ticket.
    let other = h.user("zhao", Role::Rider, &[]);
    let stolen = h.batch(&other, std::slice::from_ref(&r));
    assert_eq!(stolen[0]["status"], "conflict");
    assert!(!stolen[0]["reason"].as_str().unwrap().contains(&ticket));

    let tickets = h.all_tickets(&rider);
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["note"], r["note"]);
    assert!(h.all_tickets(&other).is_empty());
}

#[test]
fn one_bad_item_never_fails_the_batch() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let good = report("li");
    let mut bad_lat = report("li");
    bad_lat["location"]["lat"] = json!(91.0);
    let mut unknown_category = report("li");
    unknown_category["category"] = json!("unicorn");
    let mut unknown_field = report("li");
    unknown_field["colour"] = json!("red");
    let mut nested_unknown = report("li");
    nested_unknown["location"]["speed"] = json!(3);
    let mut missing_attr = report("li");
    missing_attr["attributes"] = json!({});
    let mut not_v7 = report("li");
    not_v7["id"] = json!("6f1c8a52-4d2b-4f43-9a44-0b1d2c3e4f50");
    let mut big_photo = report("li");
    big_photo["photos"] =
        json!([{"sha256": "a".repeat(64), "bytes": 999_999_999u64, "width": 10, "height": 10}]);
    let mut outreach_missing = report("li");
    outreach_missing["kind"] = json!("anti_fraud_outreach");
    let results = h.batch(
        &rider,
        &[
            good.clone(),
            bad_lat.clone(),
            unknown_category,
            unknown_field,
            nested_unknown,
            missing_attr,
            not_v7,
            big_photo,
            json!(42),
            json!({"id": "not-a-uuid"}),
            outreach_missing,
        ],
    );
    let got: Vec<(String, String)> = results
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expect = |s: &str, f: &str| (s.to_string(), f.to_string());
    assert_eq!(got[0], expect("accepted", ""));
    assert_eq!(got[1], expect("rejected", "location.lat"));
    assert_eq!(got[2], expect("rejected", "category"));
    assert_eq!(got[3].0, "rejected");
    assert!(got[3].1 == "colour" || got[3].1 == "report", "{:?}", got[3]);
    assert!(
        results[3]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown field")
    );
    assert_eq!(got[4].0, "rejected");
    assert!(got[4].1.starts_with("location"), "{:?}", got[4]);
    assert_eq!(got[5], expect("rejected", "attributes.size"));
    assert_eq!(got[6], expect("rejected", "id"));
    assert_eq!(got[7], expect("rejected", "photos.0.bytes"));
    assert_eq!(got[8], expect("rejected", "report"));
    assert_eq!(results[8]["id"], Value::Null);
    assert_eq!(got[9].0, "rejected");
    assert_eq!(results[9]["id"], Value::Null);
    assert_eq!(got[10], expect("rejected", "outreach"));
    assert_eq!(
        results[1]["id"], bad_lat["id"],
        "ids are echoed when readable"
    );
    assert_eq!(
        h.all_tickets(&rider).len(),
        1,
        "only the good report was stored"
    );
}

#[test]
fn the_server_locates_the_grid_from_the_point_and_only_hears_the_device() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let located = report_at("li", IN_B);
    // A device claiming the neighbouring grid (stale grids, or a rider steering a report to
    // another supervisor) does not move the ticket: the point decides.
    let mut claimed = report_at("li", IN_B);
    claimed["grid_id"] = json!("HS-A");
    let mut unknown = report_at("li", IN_A);
    unknown["grid_id"] = json!("HS-ZZ");
    let mut outside = report_at("li", (30.5, 120.0));
    outside["grid_id"] = json!("HS-A");
    for (r, grid) in [
        (located, json!("HS-B")),
        (claimed, json!("HS-B")),
        (unknown, json!("HS-A")),
        (outside, Value::Null),
    ] {
        let ticket = h.file(&rider, &r);
        let t: Value = h
            .get(&rider, &format!("/v1/tickets/{ticket}"))
            .json()
            .unwrap();
        assert_eq!(t["grid_id"], grid, "{r}");
    }
}

#[test]
fn gzip_bodies_are_accepted() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let reports: Vec<Value> = (0..50).map(|_| report("li")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&serde_json::to_vec(&json!({ "reports": reports })).unwrap())
        .unwrap();
    let body = gz.finish().unwrap();
    let resp = h
        .request(reqwest::Method::POST, "/v1/reports:batch")
        .bearer_auth(&rider)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let results: Value = resp.json().unwrap();
    let results = results["results"].as_array().unwrap();
    assert_eq!(results.len(), 50);
    assert!(results.iter().all(|r| r["status"] == "accepted"));
    assert_eq!(h.all_tickets(&rider).len(), 50);
}

#[test]
fn request_level_errors_are_precise_and_store_nothing() {
    let h = Harness::start_with(|c| {
        c.limits.max_reports_per_batch = 3;
        c.limits.max_request_bytes = 16 * 1024;
    });
    let rider = h.user("li", Role::Rider, &[]);
    let post = |ct: Option<&str>, enc: Option<&str>, body: Vec<u8>| {
        let mut req = h
            .request(reqwest::Method::POST, "/v1/reports:batch")
            .bearer_auth(&rider)
            .body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        if let Some(enc) = enc {
            req = req.header("content-encoding", enc);
        }
        req.send().unwrap()
    };
    let json_ct = Some("application/json");
    let one = serde_json::to_vec(&json!({"reports": [report("li")]})).unwrap();

    expect_error(
        post(json_ct, None, b"{\"reports\": [".to_vec()),
        400,
        "malformed_json",
        None,
    );
    expect_error(
        post(json_ct, None, b"[]".to_vec()),
        400,
        "malformed_json",
        None,
    );
    expect_error(
        post(json_ct, None, b"{}".to_vec()),
        400,
        "malformed_json",
        None,
    );
    expect_error(
        post(json_ct, None, br#"{"reports": [], "extra": 1}"#.to_vec()),
        400,
        "malformed_json",
        Some("extra"),
    );
    expect_error(
        post(json_ct, None, br#"{"reports": {}}"#.to_vec()),
        400,
        "malformed_json",
        Some("reports"),
    );
    expect_error(
        post(Some("text/plain"), None, one.clone()),
        415,
        "unsupported_media_type",
        Some("Content-Type"),
    );
    expect_error(
        post(None, None, one.clone()),
        415,
        "unsupported_media_type",
        Some("Content-Type"),
    );
    expect_error(
        post(json_ct, Some("br"), one.clone()),
        415,
        "unsupported_media_type",
        Some("Content-Encoding"),
    );
    expect_error(
        post(json_ct, Some("gzip"), one.clone()),
        400,
        "invalid_request",
        Some("Content-Encoding"),
    );

    let four: Vec<Value> = (0..4).map(|_| report("li")).collect();
    let body = serde_json::to_vec(&json!({ "reports": four })).unwrap();
    expect_error(
        post(json_ct, None, body),
        413,
        "batch_too_large",
        Some("reports"),
    );

    let mut huge = report("li");
    huge["note"] = json!("x".repeat(20_000));
    let body = serde_json::to_vec(&json!({ "reports": [huge] })).unwrap();
    expect_error(post(json_ct, None, body), 413, "body_too_large", None);

    // A small gzip body that inflates past the limit.
    let mut padded = serde_json::to_vec(&json!({"reports": []})).unwrap();
    padded.splice(1..1, vec![b' '; 100_000]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&padded).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 16 * 1024);
    expect_error(
        post(json_ct, Some("gzip"), bomb),
        413,
        "body_too_large",
        None,
    );

    assert!(
        h.all_tickets(&rider).is_empty(),
        "nothing stored on failure"
    );
    // The charset parameter is fine, and an empty batch is a valid (empty) answer.
    let resp = post(Some("application/json; charset=utf-8"), None, one);
    assert_eq!(resp.status(), 200);
    assert_eq!(h.batch(&rider, &[]).len(), 0);
}

#[test]
fn one_unreadable_report_fails_alone() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let good = report("li");
    let bad_id = uuid::Uuid::now_v7();
    // 1e999 is valid JSON syntax but no number a parser can hold.
    let body =
        format!(r#"{{"reports":[{good},{{"id":"{bad_id}","kind":"road_damage","lat":1e999}}]}}"#);
    let resp = h
        .request(reqwest::Method::POST, "/v1/reports:batch")
        .bearer_auth(&rider)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let results: Value = resp.json().unwrap();
    let results = results["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "accepted");
    assert_eq!(results[1]["status"], "rejected");
    assert_eq!(results[1]["id"], json!(bad_id.to_string()));
    assert_eq!(results[1]["field"], "report");
}

#[test]
fn times_far_in_the_future_are_refused() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let ahead = gridline_protocol::Timestamp::from_millis(
        gridline_protocol::Timestamp::now().as_millis() + 30 * 24 * 3600 * 1000,
    );
    let mut r = report("li");
    r["submitted_at"] = json!(ahead.to_rfc3339());
    let results = h.batch(&rider, &[r]);
    assert_eq!(results[0]["status"], "rejected");
    assert_eq!(results[0]["field"], "submitted_at");
    let mut r = report("li");
    r["created_at"] = json!("0001-01-01T00:00:00Z");
    assert_eq!(h.batch(&rider, &[r])[0]["field"], "created_at");
}

#[test]
fn an_account_over_its_write_quota_is_told_to_wait() {
    let h = Harness::start_with(|c| {
        c.write_quota = Some(gridline_server::config::WriteQuota {
            reports: 3,
            per_ms: 3_600_000,
        })
    });
    let rider = h.user("li", Role::Rider, &[]);
    let other = h.user("zhao", Role::Rider, &[]);
    let two: Vec<Value> = (0..2).map(|_| report("li")).collect();
    assert_eq!(h.batch(&rider, &two).len(), 2);
    let resp = h.post_json(
        &rider,
        "/v1/reports:batch",
        &json!({"reports": two.clone()}),
    );
    assert!(resp.headers().contains_key("retry-after"));
    expect_error(resp, 429, "quota_exceeded", None);
    // Resending what was accepted is also counted against the window, but other accounts are
    // not affected.
    assert_eq!(h.batch(&other, &[report("zhao")])[0]["status"], "accepted");
}

#[test]
fn a_flood_of_bad_tokens_is_cut_off_by_address() {
    let h = Harness::start_with(|c| {
        c.auth_failure_limit = Some(gridline_server::RateLimit {
            per_second: 0.01,
            burst: 5,
        })
    });
    let mut statuses = Vec::new();
    for i in 0..8 {
        let resp = h.get(&format!("glt_{i:064}"), "/v1/limits");
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let resp = h.get("glt_wrong", "/v1/limits");
    assert!(resp.headers().contains_key("retry-after"));
    expect_error(resp, 429, "rate_limited", None);
}

/// Issue 11: "a second gzip member is silently ignored". A body of two gzip members, the JSON
/// split across them, must be read whole: were the second member dropped, the document would
/// end half-way and the batch fail, or (split between reports) lose the later reports.
#[test]
fn every_gzip_member_of_a_body_is_read() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let reports: Vec<Value> = (0..4).map(|_| report("li")).collect();
    let text = serde_json::to_vec(&json!({ "reports": reports })).unwrap();
    let member = |part: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(part).unwrap();
        gz.finish().unwrap()
    };
    let (first, second) = text.split_at(text.len() / 2);
    let mut body = member(first);
    body.extend_from_slice(&member(second));
    let resp = h
        .request(reqwest::Method::POST, "/v1/reports:batch")
        .bearer_auth(&rider)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let results: Value = resp.json().unwrap();
    let results = results["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{results:?}");
    assert!(results.iter().all(|r| r["status"] == "accepted"));
    assert_eq!(h.all_tickets(&rider).len(), 4);
}

/// Issue 11: invisible format characters in single-line fields and the years 0001 and 9999
/// passed the live server. Each such report is refused alone, naming its field.
#[test]
fn the_server_refuses_invisible_characters_and_implausible_years() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let mut batch = Vec::new();
    let mut expect = Vec::new();
    for ch in [
        "\u{200E}",
        "\u{200F}",
        "\u{200B}",
        "\u{FEFF}",
        "\u{E0041}",
        "\u{2028}",
    ] {
        let mut r = report("li");
        r["note"] = json!(format!("pothole{ch}here"));
        batch.push(r);
        expect.push("note");
    }
    for (field, at) in [
        ("created_at", "0001-01-01T00:00:00Z"),
        ("created_at", "9999-12-31T23:59:59Z"),
        ("submitted_at", "9999-12-31T23:59:59Z"),
    ] {
        let mut r = report("li");
        r[field] = json!(at);
        batch.push(r);
        expect.push(field);
    }
    let results = h.batch(&rider, &batch);
    for (i, field) in expect.iter().enumerate() {
        assert_eq!(results[i]["status"], "rejected", "{i}: {:?}", results[i]);
        assert_eq!(results[i]["field"], *field, "{i}: {:?}", results[i]);
    }
    assert!(h.all_tickets(&rider).is_empty(), "nothing stored");
}
