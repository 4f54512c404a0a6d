//! Verification (核查) end to end: a rider's device learns of tasks through sync, files a
//! verification with a photo while the server is unreachable, syncs later; the ticket closes or
//! goes back to its department, and the reporter sees the final status.

use gridline_core::sync::SyncOptions;
use gridline_core::{CancelToken, Client, DraftPatch, GridlineError, SyncContext};
use gridline_e2e::district::{District, device, make_photos};
use gridline_e2e::reports;
use gridline_protocol::wire::{EventAction, TicketQuery, TicketStatus, TriageAction};

fn sync(client: &Client, ctx: &SyncContext) -> gridline_core::sync::SyncSummary {
    client
        .sync(ctx, &SyncOptions::default(), None, &CancelToken::new())
        .expect("sync")
}

#[test]
fn a_rider_verifies_offline_and_the_ticket_closes_or_reopens() {
    let district = District::start(2);
    let scratch = district.scratch("devices");
    let url = district.url();
    let (li, zhao) = (&district.riders[0], &district.riders[1]);
    let reporter = device(&scratch, li);
    let verifier = device(&scratch, zhao);
    let fixed_spot = (29.8601, 121.5301);
    let broken_spot = (29.8621, 121.5331);
    let fixed = reports::pothole(&reporter, fixed_spot.0, fixed_spot.1, "坑", None);
    let broken = reports::pothole(&reporter, broken_spot.0, broken_spot.1, "又一个坑", None);
    // Zhao has filed in NB-01 before, so NB-01's tasks are offered to zhao.
    reports::pothole(&verifier, 29.8611, 121.5311, "zhao's own", None);
    sync(&reporter, &district.context(&url, li));
    sync(&verifier, &district.context(&url, zhao));
    let ticket = |id| reporter.get(id).unwrap().ticket_id.unwrap();
    let (fixed_ticket, broken_ticket) = (ticket(fixed), ticket(broken));

    // The supervisor sends both to a department, which resolves them.
    let desk = device(&scratch, &district.sup_a);
    let desk_ctx = district.context(&url, &district.sup_a);
    desk.refresh_worklist(&desk_ctx, &TicketQuery::default())
        .unwrap();
    let steps = [
        TriageAction::Accept,
        TriageAction::Dispatch {
            department: "市政".into(),
        },
        TriageAction::Resolve {
            note: "已填补".into(),
        },
    ];
    for step in steps {
        for t in [&fixed_ticket, &broken_ticket] {
            desk.queue_triage(t, step.clone()).unwrap();
        }
        assert_eq!(desk.send_triage(&desk_ctx).unwrap().applied, 2);
    }

    // Zhao's phone pulls the tasks, then loses signal.
    let summary = sync(&verifier, &district.context(&url, zhao));
    assert_eq!(summary.tasks, 2, "{summary:?}");
    let tasks = verifier.tasks().unwrap();
    let offered: Vec<&str> = tasks.iter().map(|t| t.ticket_id.as_str()).collect();
    assert_eq!(offered, [fixed_ticket.as_str(), broken_ticket.as_str()]);
    assert!(
        reporter.tasks().unwrap().is_empty(),
        "the reporter does not verify their own"
    );

    let photos = make_photos(&district.scratch("camera"), 2);
    let file = |ticket: &str, ok: bool, at: (f64, f64), photo| {
        let draft = verifier.create_verification(ticket, ok).unwrap();
        verifier
            .update_draft(
                draft.id,
                DraftPatch {
                    location: Some(reports::fix(at.0, at.1)),
                    note: Some(if ok { "修好了" } else { "还是坑" }.into()),
                    ..Default::default()
                },
            )
            .unwrap();
        verifier.attach_photo(draft.id, photo).unwrap();
        (draft.id, verifier.submit(draft.id))
    };
    // Far from the ticket: refused on the phone at once, while the rider is still there.
    let (far_draft, far) = file(
        &fixed_ticket,
        true,
        (fixed_spot.0 + 0.005, fixed_spot.1),
        &photos[0],
    );
    match far {
        Err(GridlineError::Validation { field, reason }) => {
            assert_eq!(field, "location");
            assert!(reason.contains("within 100 m"), "{reason}");
        }
        other => panic!("expected a location error, got {other:?}"),
    }
    verifier.delete_draft(far_draft).unwrap();
    let (ok_id, ok) = file(
        &fixed_ticket,
        true,
        (fixed_spot.0 + 0.0002, fixed_spot.1),
        &photos[0],
    );
    ok.unwrap();
    let (nf_id, nf) = file(&broken_ticket, false, broken_spot, &photos[1]);
    nf.unwrap();
    assert!(
        verifier.tasks().unwrap().is_empty(),
        "filed tasks leave the list"
    );

    // No server: the verifications wait in the outbox.
    let dead = district.context("http://127.0.0.1:9", zhao);
    let offline = verifier
        .sync(
            &dead,
            &SyncOptions {
                max_retries: 0,
                ..Default::default()
            },
            None,
            &CancelToken::new(),
        )
        .unwrap();
    assert!(offline.incomplete && offline.remaining == 2, "{offline:?}");

    // Signal again: both are sent with their photos, once.
    let sent = sync(&verifier, &district.context(&url, zhao));
    assert_eq!(
        (sent.sent, sent.photos, sent.remaining),
        (2, 2, 0),
        "{sent:?}"
    );
    let ok_ticket = verifier.get(ok_id).unwrap().ticket_id.unwrap();
    assert_eq!(
        verifier.get(nf_id).unwrap().ticket_status,
        Some(TicketStatus::Closed)
    );

    desk.refresh_worklist(&desk_ctx, &TicketQuery::default())
        .unwrap();
    let worklist = desk.worklist(&[]).unwrap();
    let find = |id: &str| worklist.iter().find(|t| t.id == id).unwrap().clone();
    let verified = find(&fixed_ticket);
    assert_eq!(verified.status, TicketStatus::Resolved);
    let last = verified.history.last().unwrap();
    assert_eq!(last.action, Some(EventAction::VerifiedFixed));
    assert_eq!(last.verification.as_deref(), Some(ok_ticket.as_str()));
    let evidence = find(&ok_ticket);
    assert!(
        evidence.photos.iter().all(|p| p.uploaded),
        "the verifier's photo arrived"
    );
    assert_eq!(evidence.verifies.as_deref(), Some(fixed_ticket.as_str()));
    let reopened = find(&broken_ticket);
    assert_eq!(reopened.status, TicketStatus::Dispatched);
    assert_eq!(
        reopened.history.last().unwrap().action,
        Some(EventAction::VerifiedNotFixed)
    );
    assert!(reopened.due_at.is_some());

    desk.queue_triage(&fixed_ticket, TriageAction::Close)
        .unwrap();
    assert_eq!(desk.send_triage(&desk_ctx).unwrap().applied, 1);

    // The reporter sees the end of both stories.
    sync(&reporter, &district.context(&url, li));
    assert_eq!(
        reporter.get(fixed).unwrap().ticket_status,
        Some(TicketStatus::Closed)
    );
    assert_eq!(
        reporter.get(broken).unwrap().ticket_status,
        Some(TicketStatus::Dispatched)
    );
}
