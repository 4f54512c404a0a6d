//! Sync through a network that fails 30 % of the time: every report and photo reaches the
//! server exactly once, and every rider ends with the server's final ticket statuses.
//!
//! Faults (see `gridline_e2e::fault_proxy`): connections dropped before or after the server
//! handled the request, delays, responses cut in half, and 500/502/503/429 answers.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use gridline_core::sync::{Backoff, SyncOptions};
use gridline_core::{CancelToken, Client, ListFilter, ReportState};
use gridline_e2e::district::{District, device, make_photos};
use gridline_e2e::fault_proxy::FaultProxy;
use gridline_e2e::reports;
use gridline_protocol::wire::{TicketQuery, TriageAction};

const RIDERS: usize = 5;
const REPORTS_PER_RIDER: usize = 1000;
const PHOTOS_PER_RIDER: usize = 40;

fn options() -> SyncOptions {
    SyncOptions {
        max_batch: 100,
        backoff: Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(80),
        },
        max_retries: 200,
        max_sleep: Duration::from_secs(1),
        request_timeout: Duration::from_secs(20),
        photo_chunk: 4096,
        changes_page: 200,
        ..SyncOptions::default()
    }
}

fn file(client: &Client, i: usize, photo: Option<&std::path::Path>) -> uuid::Uuid {
    // Spread over the four grids (lon 121.52..121.58, lat 29.85..29.89).
    let lat = 29.851 + (i % 38) as f64 * 0.001;
    let lon = 121.521 + ((i / 38) % 58) as f64 * 0.001;
    reports::overflowing_bin(client, lat, lon, &format!("bin #{i}"), photo)
}

fn sync_until_done(client: &Client, ctx: &gridline_core::SyncContext) {
    for round in 0..200 {
        let s = client
            .sync(ctx, &options(), None, &CancelToken::new())
            .unwrap();
        if !s.incomplete && s.remaining == 0 && s.photos_remaining == 0 {
            return;
        }
        assert!(round < 199, "sync never finished: {s:?}");
    }
}

#[test]
fn thirty_percent_faults_everything_arrives_exactly_once() {
    let district = District::start(RIDERS);
    let upstream = district.server.as_ref().unwrap().addr();
    let proxy = FaultProxy::start(upstream, 0.30).unwrap();
    let scratch = district.scratch("riders");
    let photos = make_photos(&scratch.join("camera"), RIDERS * PHOTOS_PER_RIDER);

    let mut local: HashMap<uuid::Uuid, usize> = HashMap::new();
    let riders: Vec<Client> = district
        .riders
        .iter()
        .map(|m| device(&scratch, m))
        .collect();
    for (r, client) in riders.iter().enumerate() {
        for i in 0..REPORTS_PER_RIDER {
            let photo = (i < PHOTOS_PER_RIDER).then(|| photos[r * PHOTOS_PER_RIDER + i].as_path());
            local.insert(file(client, r * REPORTS_PER_RIDER + i, photo), r);
        }
    }
    let local_photos: HashSet<String> = riders
        .iter()
        .flat_map(|c| c.list(&ListFilter::default()).unwrap())
        .flat_map(|r| r.photos.into_iter().map(|p| p.sha256))
        .collect();
    assert_eq!(local_photos.len(), RIDERS * PHOTOS_PER_RIDER);

    // Riders sync through the faulty network (in parallel, as real phones do).
    std::thread::scope(|s| {
        for (client, member) in riders.iter().zip(&district.riders) {
            let ctx = district.context(&proxy.base_url(), member);
            s.spawn(move || sync_until_done(client, &ctx));
        }
    });
    let stat = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "proxy: {} requests clean, {} faulted ({} dropped after delivery)",
        stat(&proxy.stats.clean),
        stat(&proxy.stats.faulted),
        stat(&proxy.stats.dropped_after_delivery)
    );
    assert!(
        stat(&proxy.stats.dropped_after_delivery) > 0,
        "the nastiest fault never happened"
    );

    // Exactly once: one ticket per report id, no more, no fewer.
    let tickets = district.all_tickets();
    let mut seen = HashSet::new();
    for t in &tickets {
        assert!(
            seen.insert(t.report_id),
            "report {} has two tickets",
            t.report_id
        );
    }
    assert_eq!(seen, local.keys().copied().collect::<HashSet<_>>());
    for client in &riders {
        let accepted = client
            .list(&ListFilter {
                states: vec![ReportState::Accepted],
                limit: None,
            })
            .unwrap();
        assert_eq!(
            accepted.len(),
            REPORTS_PER_RIDER,
            "every report accepted locally"
        );
    }
    // Every photo exactly once on the server, and its bytes hash to its name.
    let on_server = district.server_photos();
    assert_eq!(on_server.len(), local_photos.len());
    for (name, hash) in &on_server {
        assert_eq!(name, hash, "photo {name} is corrupt on the server");
        assert!(local_photos.contains(name));
    }

    // Supervisors triage directly; riders then pull statuses through the faulty network.
    for sup in [&district.sup_a, &district.sup_b] {
        let d = device(&scratch.join(&sup.name), sup);
        let ctx = district.context(&district.url(), sup);
        d.refresh_worklist(&ctx, &TicketQuery::default()).unwrap();
        for (i, t) in d.worklist(&[]).unwrap().iter().enumerate() {
            let action = match i % 4 {
                0 => TriageAction::Accept,
                1 => TriageAction::Reject {
                    reason: "not in scope".into(),
                },
                _ => continue,
            };
            d.queue_triage(&t.id, action).unwrap();
        }
        let pushed = d.send_triage(&ctx).unwrap();
        assert_eq!(
            (pushed.conflicts, pushed.failed, pushed.remaining),
            (0, 0, 0),
            "{pushed:?}"
        );
    }
    std::thread::scope(|s| {
        for (client, member) in riders.iter().zip(&district.riders) {
            let ctx = district.context(&proxy.base_url(), member);
            s.spawn(move || sync_until_done(client, &ctx));
        }
    });
    let server_status: HashMap<uuid::Uuid, _> = district
        .all_tickets()
        .into_iter()
        .map(|t| (t.report_id, t.status))
        .collect();
    for client in &riders {
        for r in client.list(&ListFilter::default()).unwrap() {
            assert_eq!(
                r.ticket_status.as_ref(),
                server_status.get(&r.id),
                "report {} status",
                r.id
            );
        }
    }
}
