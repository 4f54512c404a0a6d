//! Two server processes on one PostgreSQL database and one S3 bucket, as a city runs them
//! behind a load balancer: the same reports sent to both at once make one ticket each, a photo
//! upload started on one instance resumes on the other and is verified, concurrent actions on
//! one ticket are ordered by its version, and a changes feed read while writes commit on both
//! instances never skips an event.
//!
//! Needs `GRIDLINE_TEST_DATABASE` and `GRIDLINE_TEST_MEDIA` (`scripts/city-services start`); the
//! README's test command sets them. Without them the test says so and does nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{GRIDS, IN_A, IN_B, add_user, report_at};
use gridline_core::photo::fixtures;
use gridline_server::admin;
use gridline_server::config::{Database, MediaLocation, Storage};
use gridline_server::{Config, Role};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CHILD_DATABASE: &str = "GRIDLINE_INSTANCE_DATABASE";
const CHILD_MEDIA: &str = "GRIDLINE_INSTANCE_MEDIA";

/// Not a test of its own: the body of a server process the real test starts (this same test
/// binary, re-run with the storage in its environment). Prints the address, serves until killed.
#[test]
#[ignore = "run by city_instances_agree as a server process"]
fn instance_process() {
    let (Ok(database), Ok(media)) = (std::env::var(CHILD_DATABASE), std::env::var(CHILD_MEDIA))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage {
        data_dir: dir.path().to_path_buf(),
        database: Database::parse(&database).unwrap(),
        media: MediaLocation::parse(&media).unwrap(),
    };
    gridline_server::serve_until_signal(Config::with_storage(storage), |addr| {
        println!("listening http://{addr}");
    })
    .unwrap();
}

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_instance(database: &str, media: &str) -> Instance {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "instance_process", "--ignored", "--nocapture"])
        .env(CHILD_DATABASE, database)
        .env(CHILD_MEDIA, media)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the instance printed its address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("listening ") {
            break addr.trim().to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Instance { child, base }
}

fn batch(http: &Client, base: &str, token: &str, reports: &[Value]) -> Vec<Value> {
    let resp = http
        .post(format!("{base}/v1/reports:batch"))
        .bearer_auth(token)
        .json(&json!({ "reports": reports }))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().unwrap()["results"]
        .as_array()
        .unwrap()
        .clone()
}

/// Reads the changes feed from `cursor` to its current end; returns (cursor, seen events as
/// (ticket, version)).
fn drain(http: &Client, base: &str, token: &str, cursor: &mut String) -> Vec<(String, u64)> {
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        let query = if cursor.is_empty() {
            "limit=100".to_string()
        } else {
            format!("cursor={cursor}&limit=100")
        };
        let page: Value = http
            .get(format!("{base}/v1/changes?{query}"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let changes = page["changes"].as_array();
        for change in changes.unwrap_or_else(|| panic!("not a changes page: {page}")) {
            seen.push((
                change["ticket_id"].as_str().unwrap().to_string(),
                change["version"].as_u64().unwrap(),
            ));
        }
        if let Some(next) = page["next_cursor"].as_str() {
            *cursor = next.to_string();
        }
        if !page["has_more"].as_bool().unwrap_or(false) {
            break;
        }
    }
    seen
}

#[test]
fn city_instances_agree() {
    let dir = tempfile::tempdir().unwrap();
    let storage = gridline_server::testing::storage(dir.path());
    let (Database::Postgres(url), MediaLocation::S3(s3)) = (&storage.database, &storage.media)
    else {
        eprintln!(
            "skipped: set GRIDLINE_TEST_DATABASE and GRIDLINE_TEST_MEDIA (scripts/city-services \
             start) to run two instances on PostgreSQL and S3"
        );
        return;
    };
    let media = format!(
        "s3://{}/{}?endpoint={}",
        s3.bucket,
        s3.prefix,
        s3.endpoint.clone().unwrap_or_default()
    );
    admin::import_grids(&storage, GRIDS).unwrap();
    let riders: Vec<String> = (0..12)
        .map(|i| add_user(&storage, &format!("rider-{i}"), Role::Rider, &[]))
        .collect();
    let admin_token = add_user(&storage, "admin", Role::Admin, &[]);
    let sup_a = add_user(&storage, "sup-a", Role::Supervisor, &["HS-A"]);
    let sup_b = add_user(&storage, "sup-b", Role::Supervisor, &["HS-A"]);

    // Two instances start at once: their migrations take turns under the advisory lock.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| start_instance(url.expose(), &media));
        let b = s.spawn(|| start_instance(url.expose(), &media));
        (a.join().unwrap(), b.join().unwrap())
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let bases = [a.base.clone(), b.base.clone()];

    // A feed reader follows the changes on instance A while both instances take writes.
    let writing = Arc::new(AtomicBool::new(true));
    let reader = {
        let (http, base, token, writing) = (
            http.clone(),
            bases[0].clone(),
            admin_token.clone(),
            writing.clone(),
        );
        std::thread::spawn(move || {
            let mut cursor = String::new();
            let mut seen = Vec::new();
            while writing.load(Ordering::SeqCst) {
                seen.extend(drain(&http, &base, &token, &mut cursor));
            }
            seen.extend(drain(&http, &base, &token, &mut cursor));
            seen
        })
    };

    // Every rider sends the same batches to both instances at the same moment, three times.
    let mut reports: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    for (i, _) in riders.iter().enumerate() {
        let at = if i % 2 == 0 { IN_A } else { IN_B };
        reports.insert(
            i,
            (0..15)
                .map(|_| report_at(&format!("rider-{i}"), at))
                .collect(),
        );
    }
    let answers: Vec<(usize, Vec<Value>)> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (i, token) in riders.iter().enumerate() {
            for _ in 0..3 {
                for base in &bases {
                    let (http, reports) = (&http, &reports[&i]);
                    handles.push(s.spawn(move || (i, batch(http, base, token, reports))));
                }
            }
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ticket_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, results) in &answers {
        for (report, result) in reports[i].iter().zip(results) {
            let status = result["status"].as_str().unwrap();
            assert!(
                status == "accepted" || status == "already_accepted",
                "{result}"
            );
            ticket_of
                .entry(report["id"].as_str().unwrap().to_string())
                .or_default()
                .insert(result["ticket_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(ticket_of.len(), 12 * 15);
    assert!(
        ticket_of.values().all(|tickets| tickets.len() == 1),
        "every report id maps to one ticket, whichever instance answered"
    );
    let accepted = answers
        .iter()
        .flat_map(|(_, r)| r)
        .filter(|r| r["status"] == "accepted")
        .count();
    assert_eq!(accepted, 12 * 15, "each report was accepted exactly once");

    // Both supervisors accept the same tickets at once, one through each instance: each ticket
    // moves once and the loser is told the version moved.
    let first: Vec<String> = ticket_of
        .iter()
        .filter(|(id, _)| reports[&0].iter().any(|r| r["id"] == id.as_str()))
        .map(|(_, t)| t.iter().next().unwrap().clone())
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for ticket in &first {
            for (token, base) in [(&sup_a, &bases[0]), (&sup_b, &bases[1])] {
                let http = &http;
                handles.push(s.spawn(move || {
                    http.post(format!("{base}/v1/tickets/{ticket}/actions"))
                        .bearer_auth(token)
                        .header("if-match", "\"1\"")
                        .json(&json!({"action": "accept"}))
                        .send()
                        .unwrap()
                        .status()
                        .as_u16()
                }));
            }
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for pair in statuses.chunks(2) {
        let mut pair = pair.to_vec();
        pair.sort();
        assert_eq!(pair, vec![200, 409], "one action wins, the other is stale");
    }

    // A photo upload starts on instance A and resumes on instance B.
    let photo = fixtures::jpeg(&fixtures::quadrants(64, 48), 64, 48, &Default::default());
    let name: String = Sha256::digest(&photo)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    let mut with_photo = report_at("rider-0", IN_A);
    with_photo["photos"] =
        json!([{"sha256": name, "bytes": photo.len(), "width": 64, "height": 48}]);
    let results = batch(&http, &bases[0], &riders[0], &[with_photo]);
    assert_eq!(results[0]["status"], "accepted", "{results:?}");
    let half = photo.len() / 2;
    let patch = |base: &str, offset: usize, body: &[u8]| {
        http.patch(format!("{base}/v1/media/{name}"))
            .bearer_auth(&riders[0])
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .body(body.to_vec())
            .send()
            .unwrap()
    };
    assert_eq!(patch(&bases[0], 0, &photo[..half]).status(), 204);
    let head = http
        .head(format!("{}/v1/media/{name}", bases[1]))
        .bearer_auth(&riders[0])
        .send()
        .unwrap();
    assert_eq!(
        head.headers()["upload-offset"].to_str().unwrap(),
        half.to_string(),
        "the other instance sees the bytes the first one received"
    );
    assert_eq!(patch(&bases[1], half, &photo[half..]).status(), 204);
    for base in &bases {
        let got = http
            .get(format!("{base}/v1/media/{name}"))
            .bearer_auth(&admin_token)
            .send()
            .unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(got.bytes().unwrap().as_ref(), &photo[..], "verified bytes");
    }

    // The feed read during all of this saw every event exactly once, in the order a fresh
    // read from the start (on the other instance) gives.
    writing.store(false, Ordering::SeqCst);
    let followed = reader.join().unwrap();
    let mut cursor = String::new();
    let full = drain(&http, &bases[1], &admin_token, &mut cursor);
    assert_eq!(
        full.len(),
        12 * 15 + first.len() + 1,
        "submits, accepts, the photo report"
    );
    assert_eq!(
        followed, full,
        "the live reader skipped or repeated nothing"
    );

    // Limits hold across instances: failed authentications from one address (burst 100, 5/s)
    // are counted in the shared database, alternating between the instances. The address is
    // refused after about 100 of them, where per-instance counting would allow about 200.
    let mut refused_at = None;
    for i in 0..300 {
        let status = http
            .get(format!("{}/v1/limits", bases[i % 2]))
            .bearer_auth(format!("glt_{i:064x}"))
            .send()
            .unwrap()
            .status();
        if status == 429 {
            refused_at = Some(i);
            break;
        }
        assert_eq!(status, 401);
    }
    let refused_at = refused_at.expect("the address was refused at all");
    assert!(
        (100..150).contains(&refused_at),
        "refused after {refused_at} failures across both instances"
    );
}
