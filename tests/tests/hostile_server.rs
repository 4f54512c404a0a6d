//! The device core against a broken or malicious server (issue 11): the real server behind a
//! proxy that answers chosen requests with crafted responses. Every loop over the server's
//! answers must end by itself with a typed error, nothing may be marked sent or uploaded on a
//! broken answer's word, and only a Gridline error body may park a report.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gridline_core::sync::SyncOptions;
use gridline_core::{CancelToken, Client, GridlineError, ListFilter, ReportState};
use gridline_e2e::district::{District, device, make_photos};
use gridline_e2e::hostile_proxy::{HostileProxy, Seen, json, response};
use gridline_e2e::reports;
use gridline_protocol::wire::TicketQuery;
use serde_json::json as value;

/// Quick retries so a test that backs off does not wait long.
fn options() -> SyncOptions {
    SyncOptions {
        backoff: gridline_core::sync::Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
        },
        max_retries: 3,
        ..SyncOptions::default()
    }
}

fn upstream(district: &District) -> std::net::SocketAddr {
    district.server.as_ref().expect("running").addr()
}

fn states(client: &Client, state: ReportState) -> usize {
    client
        .list(&ListFilter {
            states: vec![state],
            limit: None,
        })
        .unwrap()
        .len()
}

/// A changes page with one change, ending at `next`, that says more are waiting.
fn endless_page(next: &str) -> Vec<u8> {
    json(
        200,
        &value!({"changes": [{"cursor": next, "report_id": "01890a5d-ac96-774b-bcce-b302099a8057",
            "ticket_id": "T1", "status": "accepted", "version": 2,
            "at": "2026-12-01T00:00:00Z", "by": "x"}],
            "next_cursor": next, "has_more": true}),
    )
}

/// A rider device with one pothole report carrying one photo, synced through `url`.
fn rider_with_photo(district: &District, url: &str) -> (Client, gridline_core::SyncContext) {
    let photos = make_photos(&district.scratch("photos"), 1);
    let rider = device(&district.scratch("d"), &district.riders[0]);
    reports::pothole(&rider, 29.86, 121.53, "p", Some(&photos[0]));
    let ctx = district.context(url, &district.riders[0]);
    (rider, ctx)
}

fn expect_protocol_error(result: Result<gridline_core::SyncSummary, GridlineError>) -> String {
    match result {
        Err(GridlineError::Network { reason, .. })
            if reason.contains("broke the sync protocol") =>
        {
            reason
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[test]
fn a_changes_feed_whose_cursor_never_advances_ends_the_run() {
    let district = District::start(1);
    let proxy = HostileProxy::start(upstream(&district), |seen: &Seen| {
        (seen.path() == "/v1/changes").then(|| endless_page("c1"))
    })
    .unwrap();
    let rider = device(&district.scratch("d"), &district.riders[0]);
    reports::pothole(&rider, 29.86, 121.53, "p", None);
    let ctx = district.context(&proxy.base_url(), &district.riders[0]);
    let reason = expect_protocol_error(rider.sync(&ctx, &options(), None, &CancelToken::new()));
    assert!(reason.contains("cursor"), "{reason}");
    assert!(
        proxy.count("/v1/changes") <= 3,
        "{}",
        proxy.count("/v1/changes")
    );
    // The report itself went through the real server.
    assert_eq!(states(&rider, ReportState::Accepted), 1);
}

#[test]
fn a_changes_feed_that_cycles_between_cursors_ends_the_run() {
    let district = District::start(1);
    let flip = Arc::new(AtomicBool::new(false));
    let proxy = HostileProxy::start(upstream(&district), move |seen: &Seen| {
        (seen.path() == "/v1/changes").then(|| {
            let next = if flip.fetch_xor(true, Ordering::SeqCst) {
                "b"
            } else {
                "a"
            };
            endless_page(next)
        })
    })
    .unwrap();
    let rider = device(&district.scratch("d"), &district.riders[0]);
    let ctx = district.context(&proxy.base_url(), &district.riders[0]);
    let reason = expect_protocol_error(rider.sync(&ctx, &options(), None, &CancelToken::new()));
    assert!(reason.contains("earlier cursor"), "{reason}");
    assert_eq!(proxy.count("/v1/changes"), 3);
}

#[test]
fn patches_answered_without_progress_end_the_run_and_mark_nothing() {
    let district = District::start(1);
    let proxy = HostileProxy::start(upstream(&district), |seen: &Seen| {
        (seen.method == "PATCH").then(|| {
            response(
                204,
                &[("upload-offset", "0"), ("upload-length", "999999")],
                b"",
            )
        })
    })
    .unwrap();
    let (rider, ctx) = rider_with_photo(&district, &proxy.base_url());
    let result = rider.sync(&ctx, &options(), None, &CancelToken::new());
    // The HEAD (real server) says length N; the crafted PATCH answer names another length, so
    // the photo is simply not believed uploaded.
    let summary = result.unwrap();
    assert!(summary.incomplete, "{summary:?}");
    assert_eq!(summary.photos, 0);
    assert_eq!(summary.photos_remaining, 1);
    assert!(proxy.count_prefix("/v1/media/") < 20);
}

#[test]
fn patches_that_claim_success_but_make_no_progress_are_bounded() {
    let district = District::start(1);
    let photos = make_photos(&district.scratch("photos"), 1);
    let rider = device(&district.scratch("d"), &district.riders[0]);
    reports::pothole(&rider, 29.86, 121.53, "p", Some(&photos[0]));
    let mut opts = options();
    opts.photo_chunk = 1;
    // A hostile server answers every HEAD "0 of len" and every PATCH 204 "0 of len": the
    // 40,000-requests-in-30-s loop of issue 11.
    let len = rider.list(&ListFilter::default()).unwrap()[0].photos[0].bytes;
    let processed = len.to_string();
    let proxy = HostileProxy::start(upstream(&district), move |seen: &Seen| {
        seen.path().starts_with("/v1/media/").then(|| {
            response(
                if seen.method == "HEAD" { 200 } else { 204 },
                &[
                    ("upload-offset", "0"),
                    ("upload-length", processed.as_str()),
                ],
                b"",
            )
        })
    })
    .unwrap();
    let ctx_hostile = district.context(&proxy.base_url(), &district.riders[0]);
    let reason = expect_protocol_error(rider.sync(&ctx_hostile, &opts, None, &CancelToken::new()));
    assert!(reason.contains("without progress"), "{reason}");
    assert!(
        proxy.count_prefix("/v1/media/") <= 10,
        "{}",
        proxy.count_prefix("/v1/media/")
    );
    // Nothing was marked uploaded: through the real server the photo is still sent in full.
    let real = district.context(&district.url(), &district.riders[0]);
    let summary = rider
        .sync(&real, &options(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(
        (summary.photos, summary.photo_bytes),
        (1, len as i64),
        "{summary:?}"
    );
}

#[test]
fn an_offset_beyond_the_length_is_not_taken_for_done() {
    // Issue 11: "Upload-Offset 2671 / Upload-Length 2670" made the device mark the photo
    // uploaded with 0 bytes sent.
    let district = District::start(1);
    let proxy = HostileProxy::start(upstream(&district), |seen: &Seen| {
        (seen.method == "HEAD").then(|| {
            response(
                200,
                &[("upload-offset", "2671"), ("upload-length", "2670")],
                b"",
            )
        })
    })
    .unwrap();
    let (rider, ctx) = rider_with_photo(&district, &proxy.base_url());
    let summary = rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    assert!(summary.incomplete);
    assert_eq!(
        (summary.photos, summary.photos_remaining),
        (0, 1),
        "{summary:?}"
    );
    assert!(summary.last_error.unwrap().contains("stays queued"));

    // Through the real server the same photo then uploads normally.
    let ctx = district.context(&district.url(), &district.riders[0]);
    let summary = rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(
        (summary.photos, summary.photos_remaining),
        (1, 0),
        "{summary:?}"
    );
}

#[test]
fn huge_and_bomb_answers_are_refused_without_reading_them() {
    let district = District::start(1);
    let bomb = gzip_bomb();
    let proxy = HostileProxy::start(upstream(&district), move |seen: &Seen| {
        (seen.path() == "/v1/changes").then(|| {
            response(
                200,
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                &bomb,
            )
        })
    })
    .unwrap();
    let rider = device(&district.scratch("d"), &district.riders[0]);
    let ctx = district.context(&proxy.base_url(), &district.riders[0]);
    let reason = expect_protocol_error(rider.sync(&ctx, &options(), None, &CancelToken::new()));
    assert!(reason.contains("more than"), "{reason}");
    assert_eq!(proxy.count("/v1/changes"), 1);
}

/// ~100 KB of gzip that inflates to 100 MiB of spaces (the cap on a changes page is 16 MiB).
fn gzip_bomb() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 100 << 20]).unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_proxys_html_400_parks_nothing() {
    let district = District::start(1);
    let proxy = HostileProxy::start(upstream(&district), |seen: &Seen| {
        (seen.method == "POST").then(|| {
            response(
                400,
                &[("content-type", "text/html")],
                b"<html><body><h1>400 Bad Request</h1>nginx</body></html>",
            )
        })
    })
    .unwrap();
    let rider = device(&district.scratch("d"), &district.riders[0]);
    for i in 0..20 {
        reports::pothole(&rider, 29.86, 121.53 + i as f64 * 0.0001, "p", None);
    }
    let ctx = district.context(&proxy.base_url(), &district.riders[0]);
    let summary = rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    assert!(summary.incomplete, "{summary:?}");
    assert_eq!(summary.rejected, 0);
    assert_eq!(states(&rider, ReportState::Rejected), 0);
    assert_eq!(rider.counts().unwrap().pending, 20);
    assert!(summary.next_retry_at.is_some());
    assert!(proxy.count("/v1/reports:batch") <= 5);

    // A proxy's 413 page does not park the lone report either.
    let proxy = HostileProxy::start(upstream(&district), |seen: &Seen| {
        (seen.method == "POST").then(|| response(413, &[], b"Request Entity Too Large"))
    })
    .unwrap();
    let ctx = district.context(&proxy.base_url(), &district.riders[0]);
    let summary = rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(summary.rejected, 0, "{summary:?}");
    assert_eq!(rider.counts().unwrap().pending, 20);

    // The real server then takes all of them.
    let ctx = district.context(&district.url(), &district.riders[0]);
    let summary = rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(
        (summary.sent, summary.incomplete),
        (20, false),
        "{summary:?}"
    );
}

#[test]
fn a_worklist_whose_cursor_repeats_ends_the_refresh() {
    let district = District::start(1);
    let rider = device(&district.scratch("d"), &district.riders[0]);
    reports::pothole(&rider, 29.86, 121.53, "p", None);
    let ctx = district.context(&district.url(), &district.riders[0]);
    rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    // The real first page of tickets, with its `next` cursor rewritten to point at itself:
    // asked for the next page, the proxy serves the same page again.
    let first: Arc<std::sync::Mutex<Option<serde_json::Value>>> = Arc::default();
    let proxy =
        HostileProxy::rewriting(upstream(&district), move |seen: &Seen, answer: Vec<u8>| {
            if seen.path() != "/v1/tickets" {
                return answer;
            }
            let mut first = first.lock().unwrap();
            if first.is_none() {
                let mut page: serde_json::Value =
                    serde_json::from_slice(split_body(&answer)).unwrap();
                assert_eq!(page["tickets"].as_array().map(Vec::len), Some(1), "{page}");
                page["next"] = value!("same");
                *first = Some(page);
            }
            json(200, first.as_ref().unwrap())
        })
        .unwrap();
    let sup = device(&district.scratch("s"), &district.sup_a);
    let ctx = district.context(&proxy.base_url(), &district.sup_a);
    let err = sup
        .refresh_worklist(&ctx, &TicketQuery::default())
        .unwrap_err();
    assert!(
        matches!(&err, GridlineError::Network { reason, .. } if reason.contains("cursor")),
        "{err:?}"
    );
    assert!(
        proxy.count("/v1/tickets") <= 3,
        "{}",
        proxy.count("/v1/tickets")
    );
}

fn split_body(answer: &[u8]) -> &[u8] {
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    &answer[at + 4..]
}

#[test]
fn a_run_past_its_deadline_stops_incomplete() {
    let district = District::start(1);
    let rider = device(&district.scratch("d"), &district.riders[0]);
    reports::pothole(&rider, 29.86, 121.53, "p", None);
    let ctx = district.context(&district.url(), &district.riders[0]);
    let mut opts = options();
    opts.run_deadline = Duration::ZERO;
    let summary = rider.sync(&ctx, &opts, None, &CancelToken::new()).unwrap();
    assert!(summary.incomplete);
    assert!(summary.last_error.unwrap().contains("deadline"));
    assert_eq!(
        rider.counts().unwrap().pending,
        1,
        "nothing lost, nothing sent"
    );
}

/// Issue 11: "a stalled PATCH holds the photo's lock until the request timeout and the sync
/// then reports complete while a photo is still waiting". Another connection of the same
/// rider promises the whole photo and goes silent; the device's own PATCH is told "busy" by
/// the real server, and the run must say it is incomplete with the photo still queued. Once
/// the stalled request is gone the photo uploads in full.
#[test]
fn a_photo_held_by_a_stalled_request_leaves_the_run_incomplete() {
    let mut district = District::create(1);
    let mut config = district.config();
    config.uploads.lock_wait = Duration::from_millis(200);
    config.uploads.idle_timeout = Duration::from_secs(60);
    district.start_server(config);
    // First through a proxy that refuses every media request: the report reaches the
    // server, its photo does not.
    let proxy = HostileProxy::start(upstream(&district), |seen: &Seen| {
        seen.path()
            .starts_with("/v1/media/")
            .then(|| response(503, &[("retry-after", "0")], b"down"))
    })
    .unwrap();
    let (rider, ctx) = rider_with_photo(&district, &proxy.base_url());
    let summary = rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(
        (summary.sent, summary.photos_remaining),
        (1, 1),
        "{summary:?}"
    );
    let photo = rider.list(&ListFilter::default()).unwrap()[0].photos[0].clone();

    // The same rider's stalled PATCH, straight to the real server.
    let addr = upstream(&district);
    let mut stalled = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stalled,
        "PATCH /v1/media/{} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: 0\r\n\
         content-length: {}\r\n\r\n",
        photo.sha256, district.riders[0].token, photo.bytes
    )
    .unwrap();
    stalled.write_all(&[0xff, 0xd8]).unwrap();
    stalled.flush().unwrap();
    // Wait until the server holds the upload for the stalled request: the rider's own HEAD
    // then waits its turn and is told the photo is busy.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::new();
    let mut held = false;
    for _ in 0..100 {
        let resp = http
            .head(format!("{}/v1/media/{}", district.url(), photo.sha256))
            .bearer_auth(&district.riders[0].token)
            .send()
            .unwrap();
        if resp.status() == 409 {
            held = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(held, "the stalled request never took the upload");

    let real = district.context(&district.url(), &district.riders[0]);
    let summary = rider
        .sync(&real, &options(), None, &CancelToken::new())
        .unwrap();
    assert!(summary.incomplete, "{summary:?}");
    assert_eq!(
        (summary.photos, summary.photos_remaining),
        (0, 1),
        "{summary:?}"
    );
    assert_eq!(
        rider.counts().unwrap().pending,
        0,
        "the report itself is sent"
    );

    // The stalled request goes away; the photo then uploads and the run is complete.
    drop(stalled);
    let mut done = None;
    for _ in 0..50 {
        let s = rider
            .sync(&real, &options(), None, &CancelToken::new())
            .unwrap();
        if s.photos_remaining == 0 {
            done = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let done = done.expect("the photo never uploaded after the stalled request ended");
    assert!(!done.incomplete, "{done:?}");
    let tickets = district.all_tickets();
    assert!(tickets[0].photos[0].uploaded, "{tickets:?}");
}

#[test]
fn duplicate_candidates_come_from_the_server_and_a_lying_answer_is_refused() {
    let district = District::start(1);
    let rider = device(&district.scratch("d"), &district.riders[0]);
    reports::pothole(&rider, 29.86, 121.53, "first", None);
    reports::pothole(&rider, 29.86009, 121.53, "same hole, 10 m on", None);
    let ctx = district.context(&district.url(), &district.riders[0]);
    rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    let sup = device(&district.scratch("s"), &district.sup_a);
    let real = district.context(&district.url(), &district.sup_a);
    sup.refresh_worklist(&real, &TicketQuery::default())
        .unwrap();
    let tickets = sup.worklist(&[]).unwrap();
    assert_eq!(tickets.len(), 2);
    let (a, b) = (&tickets[0].id, &tickets[1].id);
    let list = sup.ticket_candidates(&real, a).unwrap();
    assert_eq!(&list.ticket_id, a);
    assert_eq!(list.candidates.len(), 1, "{list:?}");
    let c = &list.candidates[0];
    assert_eq!(&c.ticket_id, b);
    assert!((c.distance_m - 10.0).abs() < 1.0, "{c:?}");
    assert!(c.reason.contains("same category"), "{}", c.reason);

    let missing = sup.ticket_candidates(&real, "T999999").unwrap_err();
    assert!(
        matches!(&missing, GridlineError::NotFound { what } if what.contains("T999999")),
        "{missing:?}"
    );
    // A path trick in the id is sent escaped, never as a path.
    assert!(sup.ticket_candidates(&real, "../media/x").is_err());

    // A server answering for another ticket, or with garbage, is not believed.
    let other = b.clone();
    let proxy =
        HostileProxy::rewriting(upstream(&district), move |seen: &Seen, answer: Vec<u8>| {
            if !seen.path().ends_with("/candidates") {
                return answer;
            }
            if seen.path().contains(&other) {
                return response(
                    200,
                    &[("content-type", "application/json")],
                    b"{\"ticket_id\": 7}",
                );
            }
            let mut list: serde_json::Value = serde_json::from_slice(split_body(&answer)).unwrap();
            list["ticket_id"] = value!("T1");
            json(200, &list)
        })
        .unwrap();
    let lying = district.context(&proxy.base_url(), &district.sup_a);
    let err = sup.ticket_candidates(&lying, a).unwrap_err();
    assert!(
        matches!(&err, GridlineError::Network { reason, .. } if reason.contains("answered for T1")),
        "{err:?}"
    );
    let err = sup.ticket_candidates(&lying, b).unwrap_err();
    assert!(
        matches!(&err, GridlineError::Network { reason, .. } if reason.contains("unreadable")),
        "{err:?}"
    );
}

#[test]
fn a_batch_answered_out_of_order_and_short_is_matched_by_id() {
    let district = District::start(1);
    let rider = device(&district.scratch("d"), &district.riders[0]);
    for i in 0..30 {
        reports::pothole(&rider, 29.86, 121.53 + i as f64 * 0.0001, "p", None);
    }
    // The real server takes the whole batch; its answer comes back reversed and without the
    // result for the batch's first report. Later answers pass unchanged.
    let dropped: Arc<std::sync::Mutex<Option<serde_json::Value>>> = Arc::default();
    let seen_dropped = Arc::clone(&dropped);
    let proxy =
        HostileProxy::rewriting(upstream(&district), move |seen: &Seen, answer: Vec<u8>| {
            let mut dropped = seen_dropped.lock().unwrap();
            if seen.path() != "/v1/reports:batch" || dropped.is_some() {
                return answer;
            }
            let mut body: serde_json::Value = serde_json::from_slice(split_body(&answer)).unwrap();
            let Some(results) = body["results"].as_array_mut().filter(|r| r.len() == 30) else {
                return answer;
            };
            *dropped = Some(results.remove(0)["id"].clone());
            results.reverse();
            json(200, &body)
        })
        .unwrap();
    let ctx = district.context(&proxy.base_url(), &district.riders[0]);
    let summary = rider
        .sync(&ctx, &options(), None, &CancelToken::new())
        .unwrap();
    assert!(dropped.lock().unwrap().is_some(), "the batch was tampered");
    // 29 matched by id whatever their order; the unanswered one was sent again and the
    // server, which had it, said so: accepted once, never filed twice.
    assert_eq!(
        (summary.sent, summary.already_accepted, summary.incomplete),
        (29, 1, false),
        "{summary:?}"
    );
    assert_eq!(states(&rider, ReportState::Accepted), 30);
    assert_eq!(proxy.count("/v1/reports:batch"), 2);
    let sup = device(&district.scratch("s"), &district.sup_a);
    let ctx = district.context(&district.url(), &district.sup_a);
    sup.refresh_worklist(&ctx, &TicketQuery::default()).unwrap();
    let tickets: std::collections::HashMap<_, _> = sup
        .worklist(&[])
        .unwrap()
        .into_iter()
        .map(|t| (t.report_id, t.id))
        .collect();
    assert_eq!(tickets.len(), 30, "one ticket per report");
    // Each report learned its own ticket, not its neighbour's in the answer.
    for r in rider.list(&ListFilter::default()).unwrap() {
        assert_eq!(r.ticket_id.as_ref(), tickets.get(&r.id), "report {}", r.id);
    }
}
