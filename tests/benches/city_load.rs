//! A bounded load test on loopback: a few hundred riders sync at once (each a thread posting
//! report batches), against one server on SQLite and against one and two instances on
//! PostgreSQL + S3, in one run. Prints reports/s, batch latency p50/p99 and errors per setup.
//!
//! `scripts/bench-city` starts PostgreSQL and SeaweedFS and runs this; alone it needs
//! `GRIDLINE_TEST_DATABASE` / `GRIDLINE_TEST_MEDIA` for the city rows (else only SQLite runs).
//! Knobs: `GRIDLINE_LOAD_RIDERS` (300), `GRIDLINE_LOAD_BATCHES` (4 per rider),
//! `GRIDLINE_LOAD_BATCH` (10 reports per batch). The servers and the riders share this
//! machine's cores: the figures compare setups on one machine, they are not a capacity plan.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gridline_e2e::district::GRIDS_GEOJSON;
use gridline_server::config::{Database, MediaLocation, Storage};
use gridline_server::{Config, Role, RunningServer, Server, admin, testing};
use serde_json::{Value, json};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(rider: usize, n: usize) -> Value {
    let lat = 29.851 + (n % 37) as f64 * 0.001;
    let lon = 121.521 + (rider % 53) as f64 * 0.001;
    json!({
        "id": uuid::Uuid::now_v7(),
        "kind": "road_damage",
        "category": "pothole",
        "note": format!("load rider {rider} report {n}"),
        "severity": "medium",
        "location": {"lat": lat, "lon": lon, "accuracy_m": 8.0, "provider": "gps",
                     "fix_time": "2026-11-28T09:29:50.000Z"},
        "attributes": {"size": "small"},
        "photos": [],
        "reporter": format!("rider-{rider}"),
        "created_at": "2026-11-28T09:29:00.000Z",
        "submitted_at": "2026-11-28T09:30:00.000Z",
        "app_version": "load"
    })
}

struct Outcome {
    setup: String,
    reports: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    errors: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn run(setup: &str, storage: Storage, instances: usize) -> Outcome {
    let riders = knob("GRIDLINE_LOAD_RIDERS", 300);
    let batches = knob("GRIDLINE_LOAD_BATCHES", 4);
    let per_batch = knob("GRIDLINE_LOAD_BATCH", 10);
    admin::import_grids(&storage, GRIDS_GEOJSON).expect("grids");
    let tokens: Vec<String> = (0..riders)
        .map(|i| {
            admin::add_user(
                &storage,
                &admin::NewUser {
                    name: format!("rider-{i}"),
                    role: Role::Rider,
                    grids: vec![],
                    expires_at: None,
                },
            )
            .expect("rider")
            .token
        })
        .collect();
    let servers: Vec<RunningServer> = (0..instances)
        .map(|_| {
            let mut config = Config::with_storage(storage.clone());
            config.rate_limit = None;
            Server::start(config).expect("server")
        })
        .collect();
    let bases: Vec<String> = servers.iter().map(RunningServer::base_url).collect();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(riders)
        .build()
        .expect("client");
    let start = Arc::new(Barrier::new(riders + 1));
    let handles: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (http, base, start) = (http.clone(), bases[i % bases.len()].clone(), start.clone());
            let work: Vec<Value> = (0..batches)
                .map(|b| {
                    let reports: Vec<Value> = (0..per_batch)
                        .map(|n| report(i, b * per_batch + n))
                        .collect();
                    json!({ "reports": reports })
                })
                .collect();
            std::thread::spawn(move || {
                start.wait();
                let mut latencies = Vec::new();
                let mut errors = 0;
                for body in work {
                    let sent = Instant::now();
                    let resp = http
                        .post(format!("{base}/v1/reports:batch"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send();
                    latencies.push(sent.elapsed());
                    match resp
                        .ok()
                        .filter(|r| r.status() == 200)
                        .and_then(|r| r.json::<Value>().ok())
                    {
                        Some(answer) => {
                            errors += answer["results"].as_array().map_or(per_batch, |rs| {
                                rs.iter().filter(|r| r["status"] != "accepted").count()
                            });
                        }
                        None => errors += per_batch,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().expect("rider thread");
        latencies.extend(l);
        errors += e;
    }
    let wall = began.elapsed();
    for s in servers {
        s.shutdown().expect("shutdown");
    }
    latencies.sort();
    Outcome {
        setup: setup.into(),
        reports: riders * batches * per_batch,
        wall,
        latencies,
        errors,
    }
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let riders = knob("GRIDLINE_LOAD_RIDERS", 300);
    println!(
        "{riders} riders at once, {} batches of {} reports each, loopback, servers and riders on \
         this machine's cores",
        knob("GRIDLINE_LOAD_BATCHES", 4),
        knob("GRIDLINE_LOAD_BATCH", 10)
    );
    let mut outcomes = Vec::new();
    let dir = tempfile::tempdir().expect("dir");
    outcomes.push(run(
        "SQLite, 1 instance",
        Storage::local(dir.path().join("sqlite")),
        1,
    ));
    let city = testing::storage(&dir.path().join("probe"));
    if matches!(city.database, Database::Postgres(_)) {
        let media = if matches!(city.media, MediaLocation::S3(_)) {
            "S3"
        } else {
            "local media"
        };
        for instances in [1, 2] {
            let storage = testing::storage(&dir.path().join(format!("pg{instances}")));
            outcomes.push(run(
                &format!(
                    "PostgreSQL + {media}, {instances} instance{}",
                    if instances > 1 { "s" } else { "" }
                ),
                storage,
                instances,
            ));
        }
    } else {
        println!(
            "(PostgreSQL rows skipped: GRIDLINE_TEST_DATABASE is not set; see scripts/bench-city)"
        );
    }
    println!("\n| setup | reports | wall | reports/s | batch p50 | batch p99 | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for o in &outcomes {
        println!(
            "| {} | {} | {:.2} s | {:.0} | {:.1} ms | {:.1} ms | {} |",
            o.setup,
            o.reports,
            o.wall.as_secs_f64(),
            o.reports as f64 / o.wall.as_secs_f64(),
            percentile(&o.latencies, 0.5).as_secs_f64() * 1000.0,
            percentile(&o.latencies, 0.99).as_secs_f64() * 1000.0,
            o.errors
        );
    }
}
