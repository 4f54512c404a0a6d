//! `GET /v1/changes`: a total order, paged, scoped to the caller.

mod common;

use common::*;
use gridline_server::Role;
use serde_json::{Value, json};

fn page(h: &Harness, token: &str, cursor: &str, limit: u32) -> Value {
    let resp = h.get(token, &format!("/v1/changes?cursor={cursor}&limit={limit}"));
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

/// Follows the feed from the start; returns (ticket, status) pairs and the final cursor.
fn drain(h: &Harness, token: &str, limit: u32) -> (Vec<(String, String)>, String) {
    let mut cursor = String::new();
    let mut seen = Vec::new();
    let mut cursors = std::collections::HashSet::new();
    loop {
        let p = page(h, token, &cursor, limit);
        for c in p["changes"].as_array().unwrap() {
            // Cursors are opaque (they do not count the district's changes), and unique.
            let at = c["cursor"].as_str().unwrap();
            assert!(at.parse::<u64>().is_err(), "a counting cursor: {at}");
            assert!(cursors.insert(at.to_string()), "cursor {at} repeats");
            seen.push((
                c["ticket_id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            ));
        }
        cursor = p["next_cursor"].as_str().unwrap().to_string();
        if !p["has_more"].as_bool().unwrap() {
            return (seen, cursor);
        }
    }
}

#[test]
fn each_caller_sees_their_slice_in_order_and_resumes_from_the_cursor() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let zhao = h.user("zhao", Role::Rider, &[]);
    let sup_a = h.user("wang", Role::Supervisor, &["HS-A"]);
    let admin = h.user("root", Role::Admin, &[]);
    let a1 = h.file(&li, &report("li"));
    let b1 = h.file(&li, &report_at("li", IN_B));
    let a2 = h.file(&zhao, &report("zhao"));

    let (li_feed, li_cursor) = drain(&h, &li, 1);
    assert_eq!(
        li_feed,
        [
            (a1.clone(), "submitted".into()),
            (b1.clone(), "submitted".into())
        ]
    );
    let (sup_feed, sup_cursor) = drain(&h, &sup_a, 100);
    assert_eq!(
        sup_feed,
        [
            (a1.clone(), "submitted".into()),
            (a2.clone(), "submitted".into())
        ]
    );
    assert_eq!(drain(&h, &admin, 2).0.len(), 3);

    // Nothing new: the same cursor comes back.
    let p = page(&h, &li, &li_cursor, 10);
    assert!(p["changes"].as_array().unwrap().is_empty());
    assert_eq!(p["next_cursor"], li_cursor.as_str());
    assert_eq!(p["has_more"], false);

    // Triage shows up for the rider (own tickets) and the supervisor (own grid).
    let resp = h.act(
        &sup_a,
        &a1,
        1,
        json!({"action": "reject", "reason": "Fixed already"}),
    );
    assert_eq!(resp.status(), 200);
    let p = page(&h, &li, &li_cursor, 10);
    let changes = p["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    let c = &changes[0];
    assert_eq!(c["ticket_id"], a1.as_str());
    assert_eq!(c["status"], "rejected");
    assert_eq!(c["reason"], "Fixed already");
    assert_eq!(c["by"], "wang");
    assert_eq!(c["version"], 2);
    assert!(c["report_id"].is_string() && c["at"].is_string());
    assert_eq!(
        page(&h, &sup_a, &sup_cursor, 10)["changes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(page(&h, &zhao, "", 10)["changes"].as_array().unwrap().len() == 1);

    for bad in ["abc", "-1", "1.5"] {
        expect_error(
            h.get(&li, &format!("/v1/changes?cursor={bad}")),
            400,
            "invalid_request",
            Some("cursor"),
        );
    }
    expect_error(
        h.get(&li, "/v1/changes?since=1"),
        400,
        "invalid_request",
        Some("query"),
    );
}
