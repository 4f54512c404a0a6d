//! Crash safety of submit: a child process files reports in a loop and is SIGKILLed at random
//! moments, again and again, on the same database file. After every kill, every report whose
//! `submit` had returned is present, queued and intact; no queued report lacks its payload;
//! and SQLite's integrity check passes.
//!
//! The child is this same test binary re-run with `--ignored --exact crash_child_writer`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gridline_core::store::Store;
use gridline_core::{Client, ClientConfig, DraftPatch, ListFilter, ReportState};
use gridline_protocol::{
    AttrValue, Catalog, CoordSystem, LocationFix, LocationProvider, ReportKind, Timestamp,
};
use rand::Rng;
use uuid::Uuid;

const DB_ENV: &str = "GRIDLINE_CRASH_DB";
const MARK: &str = "SUBMITTED ";

fn config(path: &Path) -> ClientConfig {
    ClientConfig {
        db_path: path.to_path_buf(),
        reporter: "rider-crash".into(),
        app_version: "crash-test".into(),
    }
}

/// The child: files reports forever, printing each id once `submit` has returned.
#[test]
#[ignore = "run by kill_during_submit_loses_nothing as a child process"]
fn crash_child_writer() {
    let Ok(path) = std::env::var(DB_ENV) else {
        return;
    };
    let client = Client::open(config(Path::new(&path))).expect("open");
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let id = client
            .create_draft(ReportKind::GarbageSorting)
            .expect("draft")
            .id;
        let patch = DraftPatch {
            category: Some("overflowing_bin".into()),
            note: Some(format!(
                "bin #{i} overflowing; 垃圾桶满溢 {}",
                "x".repeat((i % 97) as usize)
            )),
            location: Some(LocationFix {
                lat: 29.86 + (i % 100) as f64 * 1e-4,
                lon: 121.54,
                accuracy_m: 5.0,
                altitude_m: None,
                provider: LocationProvider::Gps,
                fix_time: Timestamp::now(),
                mock: false,
                source_crs: CoordSystem::Wgs84,
            }),
            set_attributes: [(
                "bin_types".to_string(),
                AttrValue::List(vec!["kitchen".into()]),
            )]
            .into(),
            ..Default::default()
        };
        client.update_draft(id, patch).expect("update");
        client.submit(id).expect("submit");
        writeln!(out, "{MARK}{id}").expect("stdout");
        out.flush().expect("flush");
    }
}

#[test]
fn kill_during_submit_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged: HashSet<Uuid> = HashSet::new();
    let mut rng = rand::rng();
    let kills = 60;
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DB_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| {
                    l.strip_prefix(MARK)
                        .and_then(|id| Uuid::parse_str(id.trim()).ok())
                })
                .collect::<Vec<_>>()
        });
        // Early rounds kill while the file is being opened and migrated; later ones mid-loop.
        let delay = if round < 10 {
            rng.random_range(0..30)
        } else {
            rng.random_range(20..250)
        };
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        acknowledged.extend(reader.join().unwrap());
        verify(&db, &acknowledged, round);
    }
    assert!(
        acknowledged.len() > 100,
        "the child filed too few reports ({}) for the test to mean much",
        acknowledged.len()
    );
}

fn verify(db: &Path, acknowledged: &HashSet<Uuid>, round: usize) {
    if !db.exists() {
        assert!(acknowledged.is_empty());
        return;
    }
    let store =
        Store::open(db).unwrap_or_else(|e| panic!("round {round}: cannot reopen after kill: {e}"));
    store
        .integrity_check()
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
    let catalog = Catalog::builtin();
    let queued = store
        .list(&ListFilter {
            states: vec![ReportState::Queued],
            limit: None,
        })
        .unwrap();
    let queued_ids: HashSet<Uuid> = queued.iter().map(|r| r.id).collect();
    for id in acknowledged {
        assert!(
            queued_ids.contains(id),
            "round {round}: submitted report {id} is missing or not queued"
        );
    }
    for r in &queued {
        let payload = store
            .payload(&r.id)
            .unwrap()
            .unwrap_or_else(|| panic!("round {round}: queued report {} has no payload", r.id));
        assert_eq!(payload.id, r.id);
        assert_eq!(
            payload.note, r.note,
            "round {round}: payload and row disagree"
        );
        catalog
            .validate_report(&payload)
            .unwrap_or_else(|e| panic!("round {round}: queued payload invalid: {e}"));
    }
    drop(store);
    // The client opens it too (the path the app takes after a crash).
    Client::open(config(db)).unwrap();
}
