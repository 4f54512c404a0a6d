//! Sync benchmark (prints figures; not a test): 10,000 queued text reports synced to the
//! reference server on loopback, in batches versus one request per report (the Open311
//! GeoReport way). Reports wall time, number of requests and bytes per report on the wire.
//!
//! Run: `cargo bench -p gridline-e2e --bench sync` (release build). Figures depend on the
//! machine and its load; compare runs on one machine only. `GRIDLINE_BENCH_SYNC=batched` runs
//! the batched sync alone (to profile it); `GRIDLINE_BENCH_BATCH=N` sets the batch size (500).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use gridline_core::sync::SyncOptions;
use gridline_core::transport::{
    DefaultTransport, HttpRequest, HttpResponse, HttpTransport, StaticToken, TransportError,
};
use gridline_core::{
    CancelToken, Client, ClientConfig, DraftPatch, SyncContext, SyncObserver, SyncPhase,
    SyncProgress,
};
use gridline_e2e::district::District;
use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, ReportKind, Timestamp,
};

const REPORTS: usize = 10_000;

/// Counts what crosses the wire for report uploads.
struct Counting {
    inner: DefaultTransport,
    requests: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
}

impl HttpTransport for Counting {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let batch = request.url.ends_with("/v1/reports:batch");
        let head: usize = request
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>()
            + request.url.len()
            + 16;
        let body = request.body.len();
        let response = self.inner.send(request)?;
        if batch {
            self.requests.fetch_add(1, Ordering::Relaxed);
            self.sent.fetch_add((head + body) as u64, Ordering::Relaxed);
            let rhead: usize = response
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>()
                + 17;
            self.received
                .fetch_add((rhead + response.body.len()) as u64, Ordering::Relaxed);
        }
        Ok(response)
    }
}

fn fill(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::open(ClientConfig {
        db_path: path.into(),
        reporter: "rider-0".into(),
        app_version: "bench".into(),
    })?;
    let notes = [
        "垃圾桶满溢，气味很大",
        "bin overflowing since morning",
        "厨余垃圾散落一地",
        "mixed waste in the recycling bin",
        "",
    ];
    for i in 0..REPORTS {
        let id = client.create_draft(ReportKind::GarbageSorting)?.id;
        client.update_draft(
            id,
            DraftPatch {
                category: Some("overflowing_bin".into()),
                note: Some(format!("{} #{i}", notes[i % notes.len()])),
                location: Some(LocationFix {
                    lat: 29.851 + (i % 38) as f64 * 0.001 + (i % 7) as f64 * 1e-5,
                    lon: 121.521 + ((i / 38) % 58) as f64 * 0.001,
                    accuracy_m: 4.0 + (i % 20) as f64,
                    altitude_m: None,
                    provider: LocationProvider::Fused,
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
            },
        )?;
        client.submit(id)?;
    }
    Ok(())
}

/// Records when the report phase starts and ends.
#[derive(Default)]
struct PhaseClock {
    reports_start: std::sync::Mutex<Option<Instant>>,
    reports_end: std::sync::Mutex<Option<Instant>>,
}

impl SyncObserver for PhaseClock {
    fn on_progress(&self, p: SyncProgress) {
        // The report phase ends with whatever comes next (no photos here: often `Changes`).
        let slot = match p.phase {
            SyncPhase::Prepare => return,
            SyncPhase::Reports => &self.reports_start,
            SyncPhase::Photos | SyncPhase::Changes | SyncPhase::Done => &self.reports_end,
        };
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(Instant::now);
    }
}

struct Figures {
    upload_seconds: f64,
    seconds: f64,
    requests: u64,
    up_per_report: f64,
    down_per_report: f64,
}

fn run(db: &std::path::Path, batch: usize) -> Result<Figures, Box<dyn std::error::Error>> {
    let mut district = District::create(1);
    // One rider files 10,000 reports: beyond the per-account day quota and request rate a
    // real server keeps (both measured elsewhere).
    let mut config = district.config();
    config.write_quota = None;
    config.rate_limit = None;
    district.start_server(config);
    let counting = Arc::new(Counting {
        inner: DefaultTransport::new()?,
        requests: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        received: AtomicU64::new(0),
    });
    let ctx = SyncContext {
        server_url: district.url(),
        transport: counting.clone(),
        tokens: Arc::new(StaticToken(district.riders[0].token.clone())),
    };
    let client = Client::open(ClientConfig {
        db_path: db.into(),
        reporter: "rider-0".into(),
        app_version: "bench".into(),
    })?;
    let clock = PhaseClock::default();
    let t0 = Instant::now();
    let s = client.sync(
        &ctx,
        &SyncOptions {
            max_batch: batch,
            ..Default::default()
        },
        Some(&clock),
        &CancelToken::new(),
    )?;
    let seconds = t0.elapsed().as_secs_f64();
    let start = clock
        .reports_start
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ok_or("no report phase")?;
    let end = clock
        .reports_end
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ok_or("no phase after the reports")?;
    assert_eq!(s.sent as usize, REPORTS, "{s:?}");
    let n = REPORTS as f64;
    Ok(Figures {
        upload_seconds: (end - start).as_secs_f64(),
        seconds,
        requests: counting.requests.load(Ordering::Relaxed),
        up_per_report: counting.sent.load(Ordering::Relaxed) as f64 / n,
        down_per_report: counting.received.load(Ordering::Relaxed) as f64 / n,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let a = dir.path().join("a.db");
    eprintln!("filing {REPORTS} reports (this is not timed)...");
    fill(&a)?;
    let b = dir.path().join("b.db");
    std::fs::copy(&a, &b)?;
    let size: usize = match std::env::var("GRIDLINE_BENCH_BATCH") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("GRIDLINE_BENCH_BATCH={v} is not a count"))?,
        Err(_) => 500,
    };
    eprintln!("filed; syncing in batches of {size}...");
    let batched = run(&a, size)?;
    if std::env::var("GRIDLINE_BENCH_SYNC").as_deref() == Ok("batched") {
        // For profiling the batched path alone (`perf record`): no comparison printed.
        println!(
            "batches of {size}: upload {:.2} s, {:.0} up bytes/report",
            batched.upload_seconds, batched.up_per_report
        );
        return Ok(());
    }
    eprintln!("batched run done; now one request per report...");
    let single = run(&b, 1)?;
    println!(
        "sync of {REPORTS} queued text reports to the reference server on loopback (SQLite backend)"
    );
    println!(
        "{:<24} {:>12} {:>16} {:>10} {:>16} {:>18}",
        "mode", "upload (s)", "whole sync (s)", "requests", "up bytes/report", "down bytes/report"
    );
    let batches = format!("batches of {size}");
    for (name, f) in [
        (batches.as_str(), &batched),
        ("one request per report", &single),
    ] {
        println!(
            "{name:<24} {:>12.2} {:>16.2} {:>10} {:>16.0} {:>18.0}",
            f.upload_seconds, f.seconds, f.requests, f.up_per_report, f.down_per_report
        );
    }
    println!(
        "upload speed-up: {:.1}x (goal >= 100x); whole-sync speed-up: {:.1}x; upload bytes per report batched: {:.0} (goal <= 100)",
        single.upload_seconds / batched.upload_seconds,
        single.seconds / batched.seconds,
        batched.up_per_report
    );
    Ok(())
}
