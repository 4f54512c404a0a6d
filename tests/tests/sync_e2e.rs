//! The device core against the real reference server over loopback: reports filed offline
//! reach the server exactly once, supervisors triage, riders see the statuses.

use gridline_core::sync::SyncOptions;
use gridline_core::{CancelToken, GridlineError, ListFilter, ReportState};
use gridline_e2e::district::{District, device};
use gridline_e2e::reports;
use gridline_protocol::wire::{TicketQuery, TicketStatus, TriageAction};

fn file_pothole(client: &gridline_core::Client, lat: f64, lon: f64, note: &str) -> uuid::Uuid {
    reports::pothole(client, lat, lon, note, None)
}

#[test]
fn offline_reports_sync_triage_and_statuses_flow_back() {
    let district = District::start(2);
    let scratch = district.scratch("devices");
    let rider = device(&scratch, &district.riders[0]);
    // South-west grid NB-01 (sup-a) and north-east NB-04 (sup-b).
    let a = file_pothole(&rider, 29.86, 121.53, "pothole in NB-01");
    let b = file_pothole(&rider, 29.88, 121.57, "pothole in NB-04");
    let ctx = district.context(&district.url(), &district.riders[0]);
    let summary = rider
        .sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(
        (
            summary.sent,
            summary.rejected,
            summary.remaining,
            summary.incomplete
        ),
        (2, 0, 0, false),
        "{summary:?}"
    );
    let accepted = rider
        .list(&ListFilter {
            states: vec![ReportState::Accepted],
            limit: None,
        })
        .unwrap();
    assert_eq!(accepted.len(), 2);
    let ticket_a = rider.get(a).unwrap().ticket_id.unwrap();

    // A second sync sends nothing again.
    let again = rider
        .sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!((again.sent, again.already_accepted), (0, 0));

    // Supervisor A sees only NB-01's ticket, accepts and resolves it.
    let sup = device(&scratch, &district.sup_a);
    let sup_ctx = district.context(&district.url(), &district.sup_a);
    sup.refresh_worklist(&sup_ctx, &TicketQuery::default())
        .unwrap();
    let worklist = sup.worklist(&[]).unwrap();
    assert_eq!(
        worklist.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        vec![ticket_a.clone()]
    );
    assert_eq!(worklist[0].grid_id.as_deref(), Some("NB-01"));
    sup.queue_triage(&ticket_a, TriageAction::Accept).unwrap();
    sup.queue_triage(
        &ticket_a,
        TriageAction::Resolve {
            note: "filled".into(),
        },
    )
    .unwrap_err(); // not yet accepted locally
    let pushed = sup.send_triage(&sup_ctx).unwrap();
    assert_eq!((pushed.applied, pushed.conflicts, pushed.failed), (1, 0, 0));
    sup.queue_triage(
        &ticket_a,
        TriageAction::Resolve {
            note: "filled with asphalt".into(),
        },
    )
    .unwrap();
    assert_eq!(sup.send_triage(&sup_ctx).unwrap().applied, 1);
    // Supervisor A cannot act on NB-04's ticket: it is not even in their worklist.
    let ticket_b = rider.get(b).unwrap().ticket_id.unwrap();
    assert!(matches!(
        sup.queue_triage(&ticket_b, TriageAction::Accept),
        Err(GridlineError::NotFound { .. })
    ));

    // The rider syncs and sees the statuses.
    let pulled = rider
        .sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert!(pulled.changes >= 2, "{pulled:?}");
    // A pothole needs a rider's verification before it closes (see verification.rs).
    assert_eq!(
        rider.get(a).unwrap().ticket_status,
        Some(TicketStatus::AwaitingVerification)
    );
    assert_eq!(
        rider.get(b).unwrap().ticket_status,
        Some(TicketStatus::Submitted)
    );
}

#[test]
fn stale_triage_is_a_conflict_carrying_the_servers_ticket() {
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = device(&scratch, &district.riders[0]);
    let id = file_pothole(&rider, 29.86, 121.53, "contested");
    rider
        .sync(
            &district.context(&district.url(), &district.riders[0]),
            &SyncOptions::default(),
            None,
            &CancelToken::new(),
        )
        .unwrap();
    let ticket = rider.get(id).unwrap().ticket_id.unwrap();
    let ctx = district.context(&district.url(), &district.sup_a);
    // Two devices of the same supervisor decide offline on the same version.
    let phone = device(&scratch.join("phone"), &district.sup_a);
    let tablet = device(&scratch.join("tablet"), &district.sup_a);
    for d in [&phone, &tablet] {
        d.refresh_worklist(&ctx, &TicketQuery::default()).unwrap();
    }
    phone.queue_triage(&ticket, TriageAction::Accept).unwrap();
    tablet
        .queue_triage(
            &ticket,
            TriageAction::Reject {
                reason: "not a pothole".into(),
            },
        )
        .unwrap();
    assert_eq!(phone.send_triage(&ctx).unwrap().applied, 1);
    let late = tablet.send_triage(&ctx).unwrap();
    assert_eq!((late.applied, late.conflicts), (0, 1), "{late:?}");
    // The tablet's worklist now shows the server's state, to decide again on fresh facts.
    let current = tablet.worklist(&[]).unwrap();
    assert_eq!(current[0].status, TicketStatus::Accepted);
}

#[test]
fn a_refused_token_is_an_auth_error_and_nothing_is_lost() {
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = device(&scratch, &district.riders[0]);
    let id = file_pothole(&rider, 29.86, 121.53, "auth test");
    let mut bad = district.riders[0].clone();
    bad.token = "not-a-real-token".into();
    let err = rider.sync(
        &district.context(&district.url(), &bad),
        &SyncOptions::default(),
        None,
        &CancelToken::new(),
    );
    assert!(matches!(err, Err(GridlineError::Auth { .. })), "{err:?}");
    assert_eq!(rider.get(id).unwrap().state, ReportState::Queued);
    let ok = rider.sync(
        &district.context(&district.url(), &district.riders[0]),
        &SyncOptions::default(),
        None,
        &CancelToken::new(),
    );
    assert_eq!(ok.unwrap().sent, 1);
}

#[test]
fn an_unreachable_server_leaves_reports_queued_and_says_when_to_retry() {
    let district = District::create(1);
    let scratch = district.scratch("devices");
    let rider = device(&scratch, &district.riders[0]);
    let id = file_pothole(&rider, 29.86, 121.53, "no signal");
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = SyncOptions {
        max_retries: 1,
        backoff: gridline_core::sync::Backoff {
            base: std::time::Duration::from_millis(10),
            cap: std::time::Duration::from_millis(20),
        },
        ..Default::default()
    };
    let s = rider
        .sync(
            &district.context(&format!("http://127.0.0.1:{port}"), &district.riders[0]),
            &options,
            None,
            &CancelToken::new(),
        )
        .unwrap();
    assert!(s.incomplete && s.next_retry_at.is_some(), "{s:?}");
    assert_eq!(rider.get(id).unwrap().state, ReportState::Queued);
    assert_eq!(rider.next_retry_at().unwrap(), s.next_retry_at);
}

/// Gives a stale token until asked to refresh.
struct Rotating {
    good: String,
    asked: std::sync::Mutex<Vec<bool>>,
}

impl gridline_core::transport::TokenProvider for Rotating {
    fn token(&self, refresh: bool) -> Result<String, gridline_core::transport::TokenError> {
        self.asked.lock().unwrap().push(refresh);
        Ok(if refresh {
            self.good.clone()
        } else {
            "expired-token".into()
        })
    }
}

#[test]
fn a_refused_token_is_refreshed_once_and_the_sync_goes_on() {
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = device(&scratch, &district.riders[0]);
    file_pothole(&rider, 29.86, 121.53, "refresh");
    let tokens = std::sync::Arc::new(Rotating {
        good: district.riders[0].token.clone(),
        asked: Default::default(),
    });
    let mut ctx = district.context(&district.url(), &district.riders[0]);
    ctx.tokens = tokens.clone();
    let s = rider
        .sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(s.sent, 1, "{s:?}");
    let asked = tokens.asked.lock().unwrap().clone();
    assert_eq!(
        asked.iter().filter(|r| **r).count(),
        1,
        "one refresh, then the fresh token is reused: {asked:?}"
    );
}

/// Cancels the run as soon as the first report batch is answered.
struct CancelAfterFirstBatch(CancelToken);

impl gridline_core::SyncObserver for CancelAfterFirstBatch {
    fn on_progress(&self, p: gridline_core::SyncProgress) {
        if p.phase == gridline_core::SyncPhase::Reports && p.done > 0 {
            self.0.cancel();
        }
    }
}

#[test]
fn cancelling_stops_at_the_next_safe_point_and_a_later_sync_finishes() {
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = device(&scratch, &district.riders[0]);
    for i in 0..30 {
        file_pothole(&rider, 29.86 + i as f64 * 1e-4, 121.53, "many");
    }
    let ctx = district.context(&district.url(), &district.riders[0]);
    let cancel = CancelToken::new();
    let observer = CancelAfterFirstBatch(cancel.clone());
    let options = SyncOptions {
        max_batch: 10,
        ..Default::default()
    };
    let s = rider
        .sync(&ctx, &options, Some(&observer), &cancel)
        .unwrap();
    assert!(s.incomplete, "{s:?}");
    assert_eq!(
        (s.sent, s.remaining),
        (10, 20),
        "one batch went, the rest waits: {s:?}"
    );
    let s = rider
        .sync(&ctx, &options, None, &CancelToken::new())
        .unwrap();
    assert_eq!((s.sent, s.remaining, s.incomplete), (20, 0, false));
}

#[test]
fn device_and_server_put_a_point_on_a_shared_edge_in_the_same_grid() {
    let district = District::start(2);
    let scratch = district.scratch("devices");
    // Device A has the grids (an empty sync pulls them) and assigns the grid itself.
    let a = device(&scratch, &district.riders[0]);
    let ctx_a = district.context(&district.url(), &district.riders[0]);
    assert!(
        a.sync(&ctx_a, &SyncOptions::default(), None, &CancelToken::new())
            .unwrap()
            .grids_updated
    );
    // lon 121.55 is the edge between NB-01 (west) and NB-02 (east).
    let on_edge = file_pothole(&a, 29.86, 121.55, "on the edge, device decides");
    assert_eq!(
        a.get(on_edge).unwrap().grid_id.as_deref(),
        Some("NB-01"),
        "smallest id wins on a shared edge"
    );
    // Device B never saw the grids: the server decides.
    let b = device(&scratch, &district.riders[1]);
    let by_server = file_pothole(&b, 29.86, 121.55, "on the edge, server decides");
    assert_eq!(b.get(by_server).unwrap().grid_id, None);
    a.sync(&ctx_a, &SyncOptions::default(), None, &CancelToken::new())
        .unwrap();
    b.sync(
        &district.context(&district.url(), &district.riders[1]),
        &SyncOptions::default(),
        None,
        &CancelToken::new(),
    )
    .unwrap();
    let grids: Vec<_> = district
        .all_tickets()
        .into_iter()
        .map(|t| t.grid_id)
        .collect();
    assert_eq!(
        grids,
        vec![Some("NB-01".to_string()), Some("NB-01".to_string())]
    );
}

#[test]
fn many_photos_upload_in_one_run_without_spending_retries() {
    // Each completed upload must be believed at once: a spare round trip per photo used to
    // cost a retry, so a run with more photos than retries stopped early.
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = device(&scratch, &district.riders[0]);
    let photos = gridline_e2e::district::make_photos(&scratch.join("camera"), 10);
    for (i, p) in photos.iter().enumerate() {
        reports::pothole(&rider, 29.86, 121.53 + i as f64 * 0.0001, "p", Some(p));
    }
    let ctx = district.context(&district.url(), &district.riders[0]);
    let options = SyncOptions {
        max_retries: 2,
        ..SyncOptions::default()
    };
    let summary = rider
        .sync(&ctx, &options, None, &CancelToken::new())
        .unwrap();
    assert_eq!(
        (summary.photos, summary.photos_remaining, summary.incomplete),
        (10, 0, false),
        "{summary:?}"
    );
    assert_eq!(district.server_photos().len(), 10);
}
