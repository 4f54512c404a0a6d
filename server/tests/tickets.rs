//! Tickets: reading, filtering and paging, the triage lifecycle with `If-Match`, and who may
//! see and do what.

mod common;

use common::*;
use gridline_server::Role;
use serde_json::{Value, json};

struct District {
    h: Harness,
    li: String,
    zhao: String,
    sup_a: String,
    sup_b: String,
    admin: String,
}

fn district() -> District {
    let h = Harness::start();
    District {
        li: h.user("li", Role::Rider, &[]),
        zhao: h.user("zhao", Role::Rider, &[]),
        sup_a: h.user("wang", Role::Supervisor, &["HS-A"]),
        sup_b: h.user("chen", Role::Supervisor, &["HS-B"]),
        admin: h.user("root", Role::Admin, &[]),
        h,
    }
}

fn ticket(h: &Harness, token: &str, id: &str) -> Value {
    let resp = h.get(token, &format!("/v1/tickets/{id}"));
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let t: Value = resp.json().unwrap();
    assert_eq!(etag, format!("\"{}\"", t["version"]));
    t
}

#[test]
fn the_full_lifecycle_is_recorded_with_who_and_when() {
    let d = district();
    // A category without verification: resolve leads to resolved (see cases.rs for 核查).
    let id = d.h.file(&d.li, &plain_report("li"));
    let t = ticket(&d.h, &d.sup_a, &id);
    for field in [
        "id",
        "report_id",
        "status",
        "version",
        "kind",
        "category",
        "grid_id",
        "note",
    ] {
        assert!(t.get(field).is_some(), "ticket lacks {field}");
    }
    assert_eq!(t["status"], "submitted");
    assert_eq!(t["version"], 1);
    assert_eq!(t["submitted_by"], "li");
    assert_eq!(t["history"][0]["by"], "li");

    let steps = [
        (json!({"action": "accept"}), "accepted"),
        (
            json!({"action": "dispatch", "department": "市政养护"}),
            "dispatched",
        ),
        (
            json!({"action": "resolve", "note": "Filled and compacted"}),
            "resolved",
        ),
        (json!({"action": "close"}), "closed"),
    ];
    for (version, (action, status)) in (1u64..).zip(steps) {
        let resp = d.h.act(&d.sup_a, &id, version, action);
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["etag"].to_str().unwrap(),
            format!("\"{}\"", version + 1)
        );
        let t: Value = resp.json().unwrap();
        assert_eq!(t["status"], status);
        assert_eq!(t["version"], version + 1);
    }
    let t = ticket(&d.h, &d.li, &id);
    assert_eq!(t["department"], "市政养护");
    assert_eq!(t["resolution_note"], "Filled and compacted");
    let history: Vec<(&str, &str)> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["status"].as_str().unwrap(), e["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("submitted", "li"),
            ("accepted", "wang"),
            ("dispatched", "wang"),
            ("resolved", "wang"),
            ("closed", "wang"),
        ]
    );
    assert!(
        t["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["at"].is_string())
    );

    // Final: nothing more.
    let body = expect_error(
        d.h.act(&d.sup_a, &id, 5, json!({"action": "accept"})),
        409,
        "invalid_transition",
        Some("action"),
    );
    assert_eq!(body["ticket"]["status"], "closed");
}

#[test]
fn stale_and_missing_versions_are_refused() {
    let d = district();
    let id = d.h.file(&d.li, &report("li"));
    assert_eq!(
        d.h.act(&d.sup_a, &id, 1, json!({"action": "accept"}))
            .status(),
        200
    );

    // A second supervisor view still at version 1.
    let body = expect_error(
        d.h.act(
            &d.admin,
            &id,
            1,
            json!({"action": "reject", "reason": "not ours"}),
        ),
        409,
        "version_conflict",
        Some("If-Match"),
    );
    assert_eq!(body["ticket"]["version"], 2);
    assert_eq!(body["ticket"]["status"], "accepted");

    let no_if_match =
        d.h.http
            .post(d.h.url(&format!("/v1/tickets/{id}/actions")))
            .bearer_auth(&d.sup_a)
            .json(&json!({"action": "close"}))
            .send()
            .unwrap();
    expect_error(no_if_match, 428, "precondition_required", Some("If-Match"));
    let garbage =
        d.h.http
            .post(d.h.url(&format!("/v1/tickets/{id}/actions")))
            .bearer_auth(&d.sup_a)
            .header("if-match", "*")
            .json(&json!({"action": "close"}))
            .send()
            .unwrap();
    expect_error(garbage, 400, "invalid_request", Some("If-Match"));

    // Bad action bodies.
    expect_error(
        d.h.act(&d.sup_a, &id, 2, json!({"action": "fly"})),
        400,
        "malformed_json",
        None,
    );
    expect_error(
        d.h.act(&d.sup_a, &id, 2, json!({"action": "close", "note": "x"})),
        400,
        "malformed_json",
        None,
    );
    expect_error(
        d.h.act(
            &d.sup_a,
            &id,
            2,
            json!({"action": "reject", "reason": "  "}),
        ),
        422,
        "validation_failed",
        Some("reason"),
    );
    expect_error(
        d.h.act(&d.sup_a, &id, 2, json!({"action": "close"})),
        409,
        "invalid_transition",
        Some("action"),
    );
    let text =
        d.h.http
            .post(d.h.url(&format!("/v1/tickets/{id}/actions")))
            .bearer_auth(&d.sup_a)
            .header("if-match", "2")
            .header("content-type", "text/plain")
            .body("accept")
            .send()
            .unwrap();
    expect_error(text, 415, "unsupported_media_type", Some("Content-Type"));
    // Nothing moved.
    assert_eq!(ticket(&d.h, &d.sup_a, &id)["version"], 2);
}

#[test]
fn reject_and_duplicate_carry_their_reason_and_original() {
    let d = district();
    let first = d.h.file(&d.li, &report("li"));
    let second = d.h.file(&d.zhao, &report("zhao"));
    let third = d.h.file(&d.zhao, &report("zhao"));
    let other_grid = d.h.file(&d.zhao, &report_at("zhao", IN_B));

    let resp = d.h.act(
        &d.sup_a,
        &second,
        1,
        json!({"action": "mark_duplicate", "of": first}),
    );
    assert_eq!(resp.status(), 200);
    let t: Value = resp.json().unwrap();
    assert_eq!(t["status"], "duplicate");
    assert_eq!(t["duplicate_of"], first.as_str());
    assert_eq!(t["history"][1]["duplicate_of"], first.as_str());

    // Unknown, self, invisible, or itself a duplicate: refused naming `of`.
    for of in [
        "T999999",
        third.as_str(),
        other_grid.as_str(),
        second.as_str(),
        "nonsense",
    ] {
        let resp = d.h.act(
            &d.sup_a,
            &third,
            1,
            json!({"action": "mark_duplicate", "of": of}),
        );
        expect_error(resp, 422, "validation_failed", Some("of"));
    }
    let resp = d.h.act(
        &d.sup_a,
        &third,
        1,
        json!({"action": "reject", "reason": "Private property"}),
    );
    let t: Value = resp.json().unwrap();
    assert_eq!(t["status"], "rejected");
    assert_eq!(t["reject_reason"], "Private property");
    assert_eq!(
        ticket(&d.h, &d.zhao, &third)["history"][1]["reason"],
        "Private property"
    );
}

#[test]
fn visibility_follows_roles_and_hides_existence() {
    let d = district();
    let li_a = d.h.file(&d.li, &report("li"));
    let zhao_b = d.h.file(&d.zhao, &report_at("zhao", IN_B));

    // Riders: own only; another's ticket is a 404, exactly like a missing one.
    assert_eq!(d.h.get(&d.li, &format!("/v1/tickets/{li_a}")).status(), 200);
    let hidden = expect_error(
        d.h.get(&d.li, &format!("/v1/tickets/{zhao_b}")),
        404,
        "not_found",
        None,
    );
    let missing = expect_error(
        d.h.get(&d.li, "/v1/tickets/T999999"),
        404,
        "not_found",
        None,
    );
    assert_eq!(hidden, missing);
    expect_error(d.h.get(&d.li, "/v1/tickets/abc"), 404, "not_found", None);
    // A rider may not triage even their own ticket (403), nor probe others' (404).
    expect_error(
        d.h.act(&d.li, &li_a, 1, json!({"action": "accept"})),
        403,
        "forbidden",
        None,
    );
    expect_error(
        d.h.act(&d.li, &zhao_b, 1, json!({"action": "accept"})),
        404,
        "not_found",
        None,
    );

    // Supervisors: their grids only, for reading and acting.
    assert_eq!(
        d.h.get(&d.sup_a, &format!("/v1/tickets/{li_a}")).status(),
        200
    );
    expect_error(
        d.h.get(&d.sup_a, &format!("/v1/tickets/{zhao_b}")),
        404,
        "not_found",
        None,
    );
    expect_error(
        d.h.act(&d.sup_a, &zhao_b, 1, json!({"action": "accept"})),
        404,
        "not_found",
        None,
    );
    assert_eq!(
        d.h.get(&d.sup_b, &format!("/v1/tickets/{zhao_b}")).status(),
        200
    );

    let ids = |token: &str| -> Vec<String> {
        d.h.all_tickets(token)
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&d.li), std::slice::from_ref(&li_a));
    assert_eq!(ids(&d.zhao), std::slice::from_ref(&zhao_b));
    assert_eq!(ids(&d.sup_a), std::slice::from_ref(&li_a));
    assert_eq!(ids(&d.sup_b), std::slice::from_ref(&zhao_b));
    assert_eq!(ids(&d.admin), [li_a, zhao_b]);
}

#[test]
fn listing_filters_and_pages() {
    let d = district();
    let mut ids = Vec::new();
    for i in 0..7 {
        let at = if i % 2 == 0 { IN_A } else { IN_B };
        ids.push(d.h.file(&d.li, &report_at("li", at)));
    }
    let mut garbage = report("li");
    garbage["kind"] = json!("garbage_sorting");
    garbage["category"] = json!("overflowing_bin");
    garbage["attributes"] = json!({"bin_types": ["kitchen", "residual"]});
    let garbage_id = d.h.file(&d.li, &garbage);
    assert_eq!(
        d.h.act(&d.admin, &ids[0], 1, json!({"action": "accept"}))
            .status(),
        200
    );

    let list = |q: &str| -> (Vec<String>, Value) {
        let page: Value =
            d.h.get(&d.admin, &format!("/v1/tickets?{q}"))
                .json()
                .unwrap();
        let ids = page["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        (ids, page["next"].clone())
    };
    assert_eq!(list("status=accepted").0, [ids[0].clone()]);
    assert_eq!(list("status=accepted,submitted").0.len(), 8);
    assert_eq!(
        list("kind=garbage_sorting").0,
        std::slice::from_ref(&garbage_id)
    );
    assert_eq!(
        list("grid=HS-B").0,
        [ids[1].clone(), ids[3].clone(), ids[5].clone()]
    );
    assert_eq!(
        list("since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z")
            .0
            .len(),
        8
    );
    assert!(list("since=2100-01-01T00:00:00Z").0.is_empty());
    assert!(list("until=2000-01-01T00:00:00Z").0.is_empty());

    // Paging: 3 + 3 + 2, in id order, `next` null at the end.
    let (p1, next) = list("limit=3");
    assert_eq!(p1, ids[..3]);
    let (p2, next) = list(&format!("limit=3&cursor={}", next.as_str().unwrap()));
    assert_eq!(p2, ids[3..6]);
    let (p3, next) = list(&format!("limit=3&cursor={}", next.as_str().unwrap()));
    assert_eq!(p3, [ids[6].clone(), garbage_id]);
    assert_eq!(next, Value::Null);

    for (q, field) in [
        ("status=open", "status"),
        ("kind=potholes", "query"),
        ("since=yesterday", "query"),
        ("cursor=zzz", "cursor"),
        ("colour=red", "query"),
        ("limit=-1", "query"),
    ] {
        expect_error(
            d.h.get(&d.admin, &format!("/v1/tickets?{q}")),
            400,
            "invalid_request",
            Some(field),
        );
    }
}
