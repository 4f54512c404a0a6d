//! Accepted reports per second through `POST /v1/reports:batch`, over loopback HTTP, on the
//! SQLite backend (WAL, `synchronous=FULL`, one transaction per batch), with batches of 1, 50
//! and 500 reports. One client connection sending sequentially: the figure is per-client
//! throughput including JSON encoding, HTTP, validation, grid lookup and the durable commit.
//!
//! Run: `cargo bench -p gridline-server --bench batch` (optionally `-- <total reports>`).

use std::time::{Duration, Instant};

use gridline_server::admin::{self, NewUser};
use gridline_server::{Config, Role, Server};
use serde_json::{Value, json};
use uuid::Uuid;

const GRIDS: &str = r#"{"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"id":"HS-A"},"geometry":{"type":"Polygon",
    "coordinates":[[[121.54,29.86],[121.55,29.86],[121.55,29.87],[121.54,29.87],[121.54,29.86]]]}},
  {"type":"Feature","properties":{"id":"HS-B"},"geometry":{"type":"Polygon",
    "coordinates":[[[121.55,29.86],[121.56,29.86],[121.56,29.87],[121.55,29.87],[121.55,29.86]]]}}
]}"#;

fn report(i: usize) -> Value {
    json!({
        "id": Uuid::now_v7(),
        "kind": "road_damage",
        "category": "pothole",
        "note": format!("Pothole #{i} near the bus stop on Zhongshan Road"),
        "location": {"lat": 29.861 + (i % 90) as f64 * 1e-4, "lon": 121.541 + (i % 170) as f64 * 1e-4,
                     "accuracy_m": 8.0, "provider": "gps", "fix_time": "2026-11-28T09:29:50.000Z"},
        "attributes": {"size": "medium"},
        "reporter": "rider-1",
        "created_at": "2026-11-28T09:29:00.000Z",
        "submitted_at": "2026-11-28T09:30:00.000Z",
        "app_version": "bench"
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; a bare number overrides the report count per size.
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    admin::import_grids(dir.path(), GRIDS)?;
    let token = admin::add_user(
        dir.path(),
        &NewUser {
            name: "rider-1".into(),
            role: Role::Rider,
            grids: vec![],
            expires_at: None,
        },
    )?
    .token;
    let mut config = Config::new(dir.path());
    config.rate_limit = None;
    // One rider files tens of thousands of reports here: far over any per-account write quota.
    config.write_quota = None;
    let server = Server::start(config)?;
    let url = format!("{}/v1/reports:batch", server.base_url());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;

    println!("reports:batch on SQLite (WAL, synchronous=FULL), loopback, 1 client, sequential");
    println!(
        "{:>6} {:>9} {:>9} {:>10} {:>12} {:>14}",
        "batch", "reports", "requests", "seconds", "reports/s", "ms/request"
    );
    for size in [1usize, 50, 500] {
        // Batches of one are slow by nature; a fifth of the reports is plenty to measure them.
        let n = if size == 1 { total / 5 } else { total };
        let bodies: Vec<Vec<u8>> = (0..n)
            .collect::<Vec<_>>()
            .chunks(size)
            .map(|chunk| {
                let reports: Vec<Value> = chunk.iter().map(|&i| report(i)).collect();
                serde_json::to_vec(&json!({ "reports": reports }))
            })
            .collect::<Result<_, _>>()?;
        let started = Instant::now();
        let mut accepted = 0usize;
        for body in &bodies {
            let resp = http
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()?;
            if !resp.status().is_success() {
                return Err(format!("batch failed: {}", resp.status()).into());
            }
            let results: Value = resp.json()?;
            accepted += results["results"].as_array().map_or(0, |r| {
                r.iter().filter(|x| x["status"] == "accepted").count()
            });
        }
        let secs = started.elapsed().as_secs_f64();
        if accepted != n {
            return Err(format!("only {accepted} of {n} accepted").into());
        }
        println!(
            "{size:>6} {n:>9} {:>9} {secs:>10.2} {:>12.0} {:>14.2}",
            bodies.len(),
            n as f64 / secs,
            secs * 1000.0 / bodies.len() as f64
        );
    }
    server.shutdown()?;
    Ok(())
}
