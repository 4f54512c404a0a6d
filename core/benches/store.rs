//! Store benchmark (prints figures; not a test): submit latency of a text-only report with
//! fsync (`synchronous=FULL`), and the time to list a queue of 10,000 reports: whole reports
//! (`Client::list`) and the queue screen's list rows (`Client::list_rows`), whole and paged.
//!
//! Run: `cargo bench -p gridline-core --bench store`. Figures depend on the disk and on what
//! else the machine is doing; compare runs on the same machine only.

use std::time::{Duration, Instant};

use gridline_core::{Client, ClientConfig, DraftPatch, ListFilter, ReportState};
use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, ReportKind, Timestamp,
};
use uuid::Uuid;

fn patch(i: usize) -> DraftPatch {
    DraftPatch {
        category: Some("pothole".into()),
        note: Some(format!(
            "pothole #{i} in the e-bike lane, about a wheel wide; 非机动车道坑槽"
        )),
        location: Some(LocationFix {
            lat: 29.86 + (i % 1000) as f64 * 1e-5,
            lon: 121.54,
            accuracy_m: 5.0,
            altitude_m: None,
            provider: LocationProvider::Gps,
            fix_time: Timestamp::now(),
            mock: false,
            source_crs: CoordSystem::Wgs84,
        }),
        set_attributes: [("size".to_string(), AttrValue::Text("medium".into()))].into(),
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(()); // `cargo test --benches` asks for the list of benchmarks
    }
    let dir = tempfile::tempdir_in(std::env::current_dir()?)?;
    let path = dir.path().join("bench.db");
    let client = Client::open(ClientConfig {
        db_path: path.clone(),
        reporter: "bench".into(),
        app_version: "bench".into(),
    })?;

    // 1. Submit latency: the rider's tap on "submit" (validate + one fsynced transaction).
    let n = 400;
    let mut submit = Vec::with_capacity(n);
    let mut whole = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        let id = client.create_draft(ReportKind::RoadDamage)?.id;
        client.update_draft(id, patch(i))?;
        let t1 = Instant::now();
        client.submit(id)?;
        let t2 = Instant::now();
        submit.push(t2 - t1);
        whole.push(t2 - t0);
    }
    submit.sort();
    whole.sort();
    println!("submit (validate + fsynced transaction), {n} reports:");
    println!(
        "  p50 {}  p99 {}  max {}",
        ms(percentile(&submit, 0.5)),
        ms(percentile(&submit, 0.99)),
        ms(submit[n - 1])
    );
    println!("create draft + update + submit (three transactions):");
    println!(
        "  p50 {}  p99 {}",
        ms(percentile(&whole, 0.5)),
        ms(percentile(&whole, 0.99))
    );

    // 2. Listing a queue of 10,000: fill by copying a real queued row (fast, one transaction).
    let template = client.list(&ListFilter {
        states: vec![ReportState::Queued],
        limit: Some(1),
    })?;
    let template = template.first().ok_or("no template report")?.id.to_string();
    drop(client);
    {
        let mut conn = rusqlite::Connection::open(&path)?;
        let tx = conn.transaction()?;
        {
            let mut copy = tx.prepare(
                "INSERT INTO reports SELECT ?2, state, kind, category, note, severity, location_json, lat, lon,
                    attributes_json, outreach_json, reporter, app_version, created_at + ?3, updated_at, submitted_at,
                    ticket_id, reject_field, reject_reason, location_warnings_json, grid_id, ticket_status,
                    photo_count, first_photo
                 FROM reports WHERE id = ?1",
            )?;
            let mut copy_payload =
                tx.prepare("INSERT INTO payloads (report_id, json) SELECT ?2, json FROM payloads WHERE report_id = ?1")?;
            for i in 0..(10_000 - n) {
                let id = Uuid::now_v7().to_string();
                copy.execute(rusqlite::params![template, id, i as i64])?;
                copy_payload.execute(rusqlite::params![template, id])?;
            }
        }
        tx.commit()?;
    }
    let client = Client::open(ClientConfig {
        db_path: path,
        reporter: "bench".into(),
        app_version: "bench".into(),
    })?;
    let filter = ListFilter {
        states: vec![ReportState::Queued],
        limit: None,
    };
    let mut list = Vec::new();
    let mut len = 0;
    for _ in 0..15 {
        let t0 = Instant::now();
        len = client.list(&filter)?.len();
        list.push(t0.elapsed());
    }
    list.sort();
    // The queue screen: list rows (no JSON, no photo records), all of them and page by page.
    let mut rows = Vec::new();
    let mut rows_len = 0;
    for _ in 0..15 {
        let t0 = Instant::now();
        rows_len = client.list_rows(&filter, None)?.len();
        rows.push(t0.elapsed());
    }
    rows.sort();
    let page = ListFilter {
        limit: Some(50),
        ..filter.clone()
    };
    let mut first_page = Vec::new();
    for _ in 0..50 {
        let t0 = Instant::now();
        client.list_rows(&page, None)?;
        first_page.push(t0.elapsed());
    }
    first_page.sort();
    let mut pages = 0;
    let mut after = None;
    let t0 = Instant::now();
    loop {
        let got = client.list_rows(&page, after.as_ref())?;
        let Some(last) = got.last() else { break };
        after = Some(last.cursor());
        pages += 1;
    }
    let paged = t0.elapsed();
    let mut counts = Vec::new();
    for _ in 0..50 {
        let t0 = Instant::now();
        client.counts()?;
        counts.push(t0.elapsed());
    }
    counts.sort();
    println!(
        "list queue of {len} reports (decoded, newest first): median {}  min {}",
        ms(list[list.len() / 2]),
        ms(list[0])
    );
    println!(
        "list queue of {rows_len} reports as list rows (goal <= 20 ms, issue anchor 72-82 ms): median {}  min {}",
        ms(rows[rows.len() / 2]),
        ms(rows[0])
    );
    println!(
        "first page of 50 rows: median {}; all {pages} pages of 50 by cursor: {}",
        ms(first_page[first_page.len() / 2]),
        ms(paged)
    );
    println!(
        "badge counts over {len} reports: median {}",
        ms(counts[counts.len() / 2])
    );
    Ok(())
}
