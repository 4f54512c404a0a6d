//! The 数字城管 loop (issue 15): deadlines set at dispatch from the catalog, overdue marked once
//! per deadline by the server's (injected) clock, escalation and extension, and riders
//! verifying fixes (核查) through `GET /v1/tasks` and verification reports that close or
//! reopen their ticket. Runs on SQLite, and on PostgreSQL + S3 when the environment names
//! them.

mod common;

use std::time::Duration;

use common::*;
use gridline_protocol::Timestamp;
use gridline_server::Role;
use gridline_server::clock::{Clock, ManualTime};
use serde_json::{Value, json};

const HOUR: i64 = 3_600_000;

struct Desk {
    h: Harness,
    hand: ManualTime,
    li: String,
    zhao: String,
    sup: String,
}

/// A district whose clock stands still until the test moves it, checking deadlines often.
fn desk() -> Desk {
    desk_with(|_| {})
}

fn desk_with(tweak: impl FnOnce(&mut gridline_server::Config)) -> Desk {
    let (clock, hand) = Clock::manual(Timestamp::now());
    let h = Harness::start_with(|c| {
        c.clock = clock;
        c.cases.deadline_check_every = Duration::from_millis(20);
        tweak(c);
    });
    Desk {
        li: h.user("li", Role::Rider, &[]),
        zhao: h.user("zhao", Role::Rider, &[]),
        sup: h.user("wang", Role::Supervisor, &["HS-A"]),
        h,
        hand,
    }
}

fn ticket(h: &Harness, token: &str, id: &str) -> Value {
    let resp = h.get(token, &format!("/v1/tickets/{id}"));
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

/// Acts at the ticket's current version; returns the response ticket (asserting 200).
fn act(h: &Harness, token: &str, id: &str, action: Value) -> Value {
    let version = ticket(h, token, id)["version"].as_u64().unwrap();
    let resp = h.act(token, id, version, action.clone());
    let status = resp.status();
    let body: Value = resp.json().unwrap();
    assert_eq!(status, 200, "{action} -> {body}");
    body
}

/// A pothole (48 h limit, verification required) filed by `li`, accepted and dispatched.
fn dispatched_pothole(d: &Desk) -> String {
    let id = d.h.file(&d.li, &report("li"));
    act(&d.h, &d.sup, &id, json!({"action": "accept"}));
    act(
        &d.h,
        &d.sup,
        &id,
        json!({"action": "dispatch", "department": "市政养护"}),
    );
    id
}

/// Events of the changes feed for `token` with the given action, as (ticket, event).
fn feed_actions(h: &Harness, token: &str, action: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    for _ in 0..1000 {
        let page: Value = h
            .get(token, &format!("/v1/changes?cursor={cursor}&limit=500"))
            .json()
            .unwrap();
        out.extend(
            page["changes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["action"] == action)
                .cloned(),
        );
        cursor = page["next_cursor"].as_str().unwrap().to_string();
        if page["has_more"] != true {
            break;
        }
    }
    out
}

/// Waits (bounded) until the feed shows `n` events with `action`; the server's deadline
/// checker runs every 20 ms of real time but decides by the manual clock.
fn await_feed(h: &Harness, token: &str, action: &str, n: usize) -> Vec<Value> {
    for _ in 0..500 {
        let found = feed_actions(h, token, action);
        if found.len() >= n {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the feed never showed {n} {action} events");
}

/// A verification of `ticket` at `at` (lat, lon) by `reporter`.
fn verification(reporter: &str, ticket: &str, fixed: bool, at: (f64, f64)) -> Value {
    let mut r = report_at(reporter, at);
    r["kind"] = json!("verification");
    r["category"] = json!("verification");
    r["note"] = json!(if fixed {
        "路面已修复"
    } else {
        "还在，更深了"
    });
    r["attributes"] =
        json!({"ticket": ticket, "result": if fixed { "fixed" } else { "not_fixed" }});
    r
}

#[test]
fn dispatch_sets_the_catalog_deadline_and_overdue_is_marked_once() {
    let d = desk();
    let id = dispatched_pothole(&d);
    let t = ticket(&d.h, &d.sup, &id);
    let dispatched_at = Timestamp::parse_rfc3339(t["history"][2]["at"].as_str().unwrap()).unwrap();
    let due = Timestamp::parse_rfc3339(t["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        due.as_millis() - dispatched_at.as_millis(),
        48 * HOUR,
        "pothole: 48 h"
    );
    assert_eq!(t["history"][2]["due_at"], t["due_at"]);
    assert!(t.get("overdue").is_none(), "not overdue yet: {t}");
    // Re-routing keeps the deadline.
    let t = act(
        &d.h,
        &d.sup,
        &id,
        json!({"action": "dispatch", "department": "城管"}),
    );
    assert_eq!(t["due_at"], ticket(&d.h, &d.sup, &id)["due_at"]);

    d.hand.advance(48 * HOUR + 1);
    let marked = await_feed(&d.h, &d.sup, "overdue", 1);
    assert_eq!(marked[0]["ticket_id"], id);
    assert_eq!(marked[0]["by"], "system");
    assert_eq!(marked[0]["status"], "dispatched");
    let t = ticket(&d.h, &d.sup, &id);
    assert_eq!(t["overdue"], true);
    // The reporter sees it too, in their own feed.
    assert_eq!(feed_actions(&d.h, &d.li, "overdue").len(), 1);

    // Listing: overdue filter and deadline order.
    let other = d.h.file(&d.li, &report("li"));
    let page: Value = d.h.get(&d.sup, "/v1/tickets?overdue=true").json().unwrap();
    let ids: Vec<&str> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let page: Value = d.h.get(&d.sup, "/v1/tickets?overdue=false").json().unwrap();
    assert!(
        page["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != id.as_str())
    );

    // More time passes, the checker keeps running, a restart happens: still one mark.
    d.hand.advance(10 * HOUR);
    std::thread::sleep(Duration::from_millis(200));
    let mut h = d.h;
    let (clock, _hand2) = Clock::manual(Timestamp::from_millis(
        Timestamp::now().as_millis() + 100 * HOUR,
    ));
    h.restart_with(|c| {
        c.clock = clock;
        c.cases.deadline_check_every = Duration::from_millis(20);
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        feed_actions(&h, &d.sup, "overdue").len(),
        1,
        "exactly once across restarts"
    );
    let _ = other;
}

#[test]
fn escalation_and_extension_are_recorded_and_extension_clears_overdue() {
    let d = desk();
    let id = dispatched_pothole(&d);
    let due0 =
        Timestamp::parse_rfc3339(ticket(&d.h, &d.sup, &id)["due_at"].as_str().unwrap()).unwrap();
    let t = act(
        &d.h,
        &d.sup,
        &id,
        json!({"action": "escalate", "reason": "两天没人去"}),
    );
    assert_eq!(t["escalations"], 1);
    assert_eq!(t["status"], "dispatched");
    assert!(
        t.get("reject_reason").is_none(),
        "an escalation reason is not a reject reason"
    );
    let last = t["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["reason"].as_str()),
        (Some("escalate"), Some("两天没人去"))
    );

    d.hand.advance(49 * HOUR);
    await_feed(&d.h, &d.sup, "overdue", 1);
    let t = act(
        &d.h,
        &d.sup,
        &id,
        json!({"action": "extend", "hours": 24, "reason": "等材料"}),
    );
    let due1 = Timestamp::parse_rfc3339(t["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due1.as_millis() - due0.as_millis(), 24 * HOUR);
    assert!(
        t.get("overdue").is_none(),
        "extended past now: no longer overdue: {t}"
    );
    // The new deadline passes too: a second mark, for the second deadline.
    d.hand.advance(24 * HOUR);
    let marks = await_feed(&d.h, &d.sup, "overdue", 2);
    assert_eq!(marks[1]["due_at"], t["due_at"]);

    // Bad actions are refused with the field.
    let v = ticket(&d.h, &d.sup, &id)["version"].as_u64().unwrap();
    for (body, field) in [
        (
            json!({"action": "extend", "hours": 0, "reason": "x"}),
            "hours",
        ),
        (
            json!({"action": "extend", "hours": 24, "reason": " "}),
            "reason",
        ),
        (json!({"action": "escalate", "reason": ""}), "reason"),
    ] {
        expect_error(
            d.h.act(&d.sup, &id, v, body),
            422,
            "validation_failed",
            Some(field),
        );
    }
    // A category without a time limit has no deadline to extend.
    let d2 = desk_with(|c| c.catalog.kinds[0].categories[0].handling_hours = None);
    let open_ended = dispatched_pothole(&d2);
    assert!(ticket(&d2.h, &d2.sup, &open_ended).get("due_at").is_none());
    expect_error(
        d2.h.act(
            &d2.sup,
            &open_ended,
            3,
            json!({"action": "extend", "hours": 1, "reason": "x"}),
        ),
        422,
        "validation_failed",
        Some("hours"),
    );
    // Riders cannot escalate.
    expect_error(
        d.h.act(&d.li, &id, v, json!({"action": "escalate", "reason": "x"})),
        403,
        "forbidden",
        None,
    );
}

#[test]
fn every_forbidden_transition_is_refused_with_the_ticket() {
    let d = desk();
    let verification_statuses = [
        "submitted",
        "accepted",
        "dispatched",
        "awaiting_verification",
        "resolved",
        "closed",
    ];
    let actions = [
        json!({"action": "accept"}),
        json!({"action": "dispatch", "department": "d"}),
        json!({"action": "resolve", "note": "n"}),
        json!({"action": "close"}),
        json!({"action": "reject", "reason": "r"}),
        json!({"action": "escalate", "reason": "r"}),
        json!({"action": "extend", "hours": 1, "reason": "r"}),
    ];
    let allowed = |status: &str, action: &str| {
        matches!(
            (status, action),
            ("submitted", "accept" | "reject")
                | ("accepted", "dispatch" | "resolve" | "reject" | "escalate")
                | (
                    "dispatched",
                    "dispatch" | "resolve" | "reject" | "escalate" | "extend"
                )
                | ("resolved", "close")
        )
    };
    // Drive one pothole to each status, then try every action on it.
    let path = [
        json!({"action": "accept"}),
        json!({"action": "dispatch", "department": "d"}),
        json!({"action": "resolve", "note": "n"}),
    ];
    for (depth, status) in verification_statuses.iter().enumerate() {
        for action in &actions {
            let id = d.h.file(&d.li, &report("li"));
            for step in path.iter().take(depth.min(3)) {
                act(&d.h, &d.sup, &id, step.clone());
            }
            if depth >= 4 {
                let done = d.h.batch(&d.zhao, &[verification("zhao", &id, true, IN_A)]);
                assert_eq!(done[0]["status"], "accepted", "{done:?}");
            }
            if depth == 5 {
                act(&d.h, &d.sup, &id, json!({"action": "close"}));
            }
            let t = ticket(&d.h, &d.sup, &id);
            assert_eq!(t["status"], *status);
            let name = action["action"].as_str().unwrap();
            let resp =
                d.h.act(&d.sup, &id, t["version"].as_u64().unwrap(), action.clone());
            if allowed(status, name) {
                assert_eq!(resp.status(), 200, "{name} on {status}");
            } else {
                let body = expect_error(resp, 409, "invalid_transition", Some("action"));
                assert_eq!(body["ticket"]["status"], *status, "{name} on {status}");
            }
        }
    }
}

#[test]
fn riders_verify_fixes_and_a_failed_fix_goes_back_to_its_department() {
    let d = desk();
    let fixed = dispatched_pothole(&d);
    let unfixed = dispatched_pothole(&d);
    let plain = d.h.file(&d.li, &plain_report("li"));
    for id in [&fixed, &unfixed] {
        let t = act(
            &d.h,
            &d.sup,
            id,
            json!({"action": "resolve", "note": "已填补"}),
        );
        assert_eq!(t["status"], "awaiting_verification");
    }
    act(&d.h, &d.sup, &plain, json!({"action": "accept"}));
    assert_eq!(
        act(
            &d.h,
            &d.sup,
            &plain,
            json!({"action": "resolve", "note": "ok"})
        )["status"],
        "resolved"
    );

    // Zhao filed in HS-A before, so HS-A's tasks are offered; never li's own.
    d.h.file(&d.zhao, &plain_report("zhao"));
    let tasks: Value = d.h.get(&d.zhao, "/v1/tasks").json().unwrap();
    let offered: Vec<&str> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_id"].as_str().unwrap())
        .collect();
    assert_eq!(offered, [fixed.as_str(), unfixed.as_str()]);
    let task = &tasks["tasks"][0];
    assert_eq!(task["resolution_note"], "已填补");
    assert_eq!(task["radius_m"], 100.0);
    assert!(
        task.get("reporter").is_none() && task.get("note").is_none(),
        "{task}"
    );
    let own: Value = d.h.get(&d.li, "/v1/tasks").json().unwrap();
    assert_eq!(
        own["tasks"],
        json!([]),
        "the reporter is not offered their own ticket"
    );
    let near: Value =
        d.h.get(
            &d.zhao,
            &format!("/v1/tasks?near={},{}&radius_m=500", IN_A.1, IN_A.0),
        )
        .json()
        .unwrap();
    assert_eq!(near["tasks"].as_array().unwrap().len(), 2);
    let far: Value =
        d.h.get(&d.zhao, "/v1/tasks?near=121.60,29.90&radius_m=500")
            .json()
            .unwrap();
    assert_eq!(far["tasks"], json!([]));
    expect_error(
        d.h.get(&d.zhao, "/v1/tasks?near=abc"),
        400,
        "invalid_request",
        Some("near"),
    );
    expect_error(
        d.h.get(&d.zhao, "/v1/tasks?radius_m=1e9"),
        400,
        "invalid_request",
        Some("radius_m"),
    );

    // Refusals, each naming its field; nothing changes.
    let far_point = (IN_A.0 + 0.003, IN_A.1); // ~330 m north
    let refused = d.h.batch(
        &d.zhao,
        &[
            verification("zhao", &fixed, true, far_point),
            verification("zhao", &plain, true, IN_A),
            verification("zhao", "T999999", true, IN_A),
        ],
    );
    let fields: Vec<&str> = refused
        .iter()
        .map(|r| r["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        ["location", "attributes.ticket", "attributes.ticket"],
        "{refused:?}"
    );
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("within 100 m"),
        "{refused:?}"
    );
    let by_reporter = d.h.batch(&d.li, &[verification("li", &fixed, true, IN_A)]);
    assert_eq!(by_reporter[0]["field"], "attributes.ticket");
    let mut garbled = verification("zhao", &fixed, true, IN_A);
    garbled["attributes"]["result"] = json!("maybe");
    assert_eq!(
        d.h.batch(&d.zhao, &[garbled])[0]["field"],
        "attributes.result"
    );
    assert_eq!(
        ticket(&d.h, &d.sup, &fixed)["status"],
        "awaiting_verification"
    );

    // Fixed: resolved, waiting for the supervisor to close. Resent: recognised, no second effect.
    let v = verification("zhao", &fixed, true, (IN_A.0 + 0.0002, IN_A.1));
    let first = d.h.batch(&d.zhao, std::slice::from_ref(&v));
    assert_eq!(first[0]["status"], "accepted");
    let again = d.h.batch(&d.zhao, std::slice::from_ref(&v));
    assert_eq!(again[0]["status"], "already_accepted");
    let t = ticket(&d.h, &d.sup, &fixed);
    assert_eq!(t["status"], "resolved");
    let last = t["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "verified_fixed");
    assert_eq!(last["by"], "zhao");
    assert_eq!(last["verification"], first[0]["ticket_id"]);
    assert_eq!(
        t["history"].as_array().unwrap().len(),
        5,
        "one verification event"
    );
    // The verification is a ticket of its own, final at once, evidence the supervisor can open.
    let evidence = ticket(&d.h, &d.sup, first[0]["ticket_id"].as_str().unwrap());
    assert_eq!(
        (evidence["kind"].as_str(), evidence["status"].as_str()),
        (Some("verification"), Some("closed"))
    );
    assert_eq!(evidence["verifies"], fixed.as_str());
    act(&d.h, &d.sup, &fixed, json!({"action": "close"}));
    assert_eq!(
        ticket(&d.h, &d.li, &fixed)["status"],
        "closed",
        "the reporter sees the end"
    );

    // Not fixed: back to dispatched with a fresh deadline and the evidence attached (返工).
    d.hand.advance(HOUR);
    let nf =
        d.h.batch(&d.zhao, &[verification("zhao", &unfixed, false, IN_A)]);
    assert_eq!(nf[0]["status"], "accepted");
    let t = ticket(&d.h, &d.li, &unfixed);
    assert_eq!(t["status"], "dispatched");
    let last = t["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "verified_not_fixed");
    assert_eq!(last["note"], "还在，更深了");
    assert_eq!(last["verification"], nf[0]["ticket_id"]);
    let reopened_due = Timestamp::parse_rfc3339(t["due_at"].as_str().unwrap()).unwrap();
    let at = Timestamp::parse_rfc3339(last["at"].as_str().unwrap()).unwrap();
    assert_eq!(reopened_due.as_millis() - at.as_millis(), 48 * HOUR);
    assert_eq!(
        t["resolution_note"], "已填补",
        "the department's note stays"
    );
    let tasks: Value = d.h.get(&d.zhao, "/v1/tasks").json().unwrap();
    assert_eq!(tasks["tasks"], json!([]), "no task is left");
}

#[test]
fn verified_tickets_close_at_once_when_configured() {
    let d = desk_with(|c| c.cases.close_on_verified = true);
    let id = dispatched_pothole(&d);
    act(
        &d.h,
        &d.sup,
        &id,
        json!({"action": "resolve", "note": "ok"}),
    );
    let done = d.h.batch(&d.zhao, &[verification("zhao", &id, true, IN_A)]);
    assert_eq!(done[0]["status"], "accepted");
    let t = ticket(&d.h, &d.li, &id);
    assert_eq!(t["status"], "closed");
    assert_eq!(
        t["history"].as_array().unwrap().last().unwrap()["action"],
        "verified_fixed"
    );
}
