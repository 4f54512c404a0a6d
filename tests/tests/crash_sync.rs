//! Crash safety of sync: the syncing process is SIGKILLed at random moments (mid-batch,
//! mid-photo-upload, mid-pull) again and again, restarted, and synced again. No report is lost
//! or duplicated, every photo arrives intact (hash verified), and the local database passes
//! SQLite's integrity check after every kill.
//!
//! The child is this test binary re-run with `--ignored --exact crash_child_syncer`.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gridline_core::store::Store;
use gridline_core::sync::{Backoff, SyncOptions};
use gridline_core::transport::{DefaultTransport, StaticToken};
use gridline_core::{CancelToken, Client, ClientConfig, ListFilter, ReportState, SyncContext};
use gridline_e2e::district::{District, make_photos};
use gridline_e2e::reports;
use rand::Rng;

const DB: &str = "GRIDLINE_CRASH_SYNC_DB";
const URL: &str = "GRIDLINE_CRASH_SYNC_URL";
const TOKEN: &str = "GRIDLINE_CRASH_SYNC_TOKEN";

fn options() -> SyncOptions {
    SyncOptions {
        max_batch: 3,
        photo_chunk: 512,
        backoff: Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
        },
        max_retries: 50,
        ..Default::default()
    }
}

fn open(db: &Path) -> Client {
    Client::open(ClientConfig {
        db_path: db.to_path_buf(),
        reporter: "rider-0".into(),
        app_version: "crash".into(),
    })
    .unwrap()
}

fn context(url: String, token: String) -> SyncContext {
    SyncContext {
        server_url: url,
        transport: std::sync::Arc::new(DefaultTransport::new().unwrap()),
        tokens: std::sync::Arc::new(StaticToken(token)),
    }
}

/// The child: syncs forever (there is always more being filed between kills).
#[test]
#[ignore = "run by sync_survives_kills as a child process"]
fn crash_child_syncer() {
    let (Ok(db), Ok(url), Ok(token)) =
        (std::env::var(DB), std::env::var(URL), std::env::var(TOKEN))
    else {
        return;
    };
    let client = open(Path::new(&db));
    let ctx = context(url, token);
    loop {
        match client.sync(&ctx, &options(), None, &CancelToken::new()) {
            Ok(s) => eprintln!("child: {s:?}"),
            Err(e) => eprintln!("child: {e}"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn file(client: &Client, i: usize, photo: Option<&Path>) -> uuid::Uuid {
    let (lat, lon) = (
        29.855 + (i % 30) as f64 * 0.001,
        121.525 + (i % 50) as f64 * 0.001,
    );
    reports::pothole(client, lat, lon, &format!("pothole #{i}"), photo)
}

#[test]
fn sync_survives_kills() {
    let district = District::start(1);
    let rider = &district.riders[0];
    let scratch = district.scratch("device");
    let db = scratch.join("rider.db");
    let photos = make_photos(&scratch.join("camera"), 60);
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rng();
    let mut filed: HashSet<uuid::Uuid> = HashSet::new();
    let mut n = 0;
    let kills = 40;
    let mut killed_mid_work = 0;
    for round in 0..kills {
        {
            let client = open(&db);
            for _ in 0..50 {
                let photo = (n % 10 == 0).then(|| photos[(n / 10) % photos.len()].as_path());
                filed.insert(file(&client, n, photo));
                n += 1;
            }
        }
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "crash_child_syncer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DB, &db)
            .env(URL, district.url())
            .env(TOKEN, &rider.token)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(scratch.join(format!("child-{round}.log"))).unwrap())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(20..250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let store =
            Store::open(&db).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        store
            .integrity_check()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let local = store.list(&ListFilter::default()).unwrap();
        assert_eq!(
            local.len(),
            filed.len(),
            "round {round}: reports lost or invented"
        );
        let accepted = local
            .iter()
            .filter(|r| r.state == ReportState::Accepted)
            .count();
        if accepted > 0 && accepted < local.len() {
            killed_mid_work += 1;
        }
        for r in &local {
            assert!(filed.contains(&r.id));
            assert!(
                matches!(
                    r.state,
                    ReportState::Queued | ReportState::Sending | ReportState::Accepted
                ),
                "round {round}: {:?}",
                r.state
            );
        }
    }

    assert!(
        killed_mid_work >= 5,
        "only {killed_mid_work} kills landed while work was pending"
    );

    // Restarted for good: sync to the end and compare both sides.
    let client = open(&db);
    let ctx = context(district.url(), rider.token.clone());
    let mut done = false;
    for _ in 0..20 {
        let s = client
            .sync(&ctx, &options(), None, &CancelToken::new())
            .unwrap();
        if !s.incomplete && s.remaining == 0 && s.photos_remaining == 0 {
            done = true;
            break;
        }
    }
    assert!(done, "sync did not finish after the kills");
    client.integrity_check().unwrap();
    let tickets = district.all_tickets();
    let mut seen = HashSet::new();
    for t in &tickets {
        assert!(
            seen.insert(t.report_id),
            "report {} has two tickets",
            t.report_id
        );
    }
    assert_eq!(
        seen, filed,
        "server and device disagree on which reports exist"
    );
    let local_photos: HashSet<String> = client
        .list(&ListFilter::default())
        .unwrap()
        .into_iter()
        .flat_map(|r| r.photos.into_iter().map(|p| p.sha256))
        .collect();
    let on_server = district.server_photos();
    let server_names: HashSet<String> = on_server.iter().map(|(n, _)| n.clone()).collect();
    let missing: Vec<_> = local_photos.difference(&server_names).collect();
    let extra: Vec<_> = server_names.difference(&local_photos).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "photos missing on the server: {missing:?}; unknown there: {extra:?}"
    );
    for (name, hash) in on_server {
        assert_eq!(name, hash, "photo {name} corrupt on the server");
        assert!(local_photos.contains(&name));
    }
}
