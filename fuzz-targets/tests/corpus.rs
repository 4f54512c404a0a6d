//! Replays every committed fuzz input (`fuzz/corpus/<target>/*`, the seeds in
//! `fuzz/seeds/<target>/*` and the regression inputs in `fuzz/regressions/<target>/*`) through
//! the target's body, without libFuzzer or nightly, so
//! `cargo test --workspace` keeps every finding fixed.

use std::path::{Path, PathBuf};

use gridline_fuzz_targets::TARGETS;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// Replays every input of one target; one test per target so they run in parallel.
fn replay(name: &str) {
    let target = TARGETS
        .iter()
        .find(|t| t.name == name)
        .expect("a known target");
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = files(&fuzz.join("corpus").join(target.name));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{} is missing or empty",
        target.name
    );
    let seeds = files(&fuzz.join("seeds").join(target.name));
    let regressions = files(&fuzz.join("regressions").join(target.name));
    for file in corpus.iter().chain(&seeds).chain(&regressions) {
        // A fuzzer running meanwhile may have just reduced (removed) this input.
        let Ok(data) = std::fs::read(file) else {
            continue;
        };
        let outcome = std::panic::catch_unwind(|| (target.run)(&data));
        assert!(
            outcome.is_ok(),
            "{} fails on {}",
            target.name,
            file.display()
        );
    }
}

#[test]
fn replay_photo_process() {
    replay("photo_process");
}

#[test]
fn replay_photo_verify() {
    replay("photo_verify");
}

#[test]
fn replay_wire_batch() {
    replay("wire_batch");
}

#[test]
fn replay_wire_device() {
    replay("wire_device");
}

#[test]
fn replay_geojson() {
    replay("geojson");
}

#[test]
fn replay_catalog() {
    replay("catalog");
}

#[test]
fn replay_open311() {
    replay("open311");
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    assert_eq!(TARGETS.len(), 7, "a new target needs its replay test here");
    for target in TARGETS {
        let file = dir.join(format!("{}.rs", target.name));
        assert!(file.is_file(), "{} is missing", file.display());
    }
}

/// The hand-written seeds reach the paths they are for (an admitted report, each device type),
/// so the fuzzer starts from valid documents rather than from scratch.
#[test]
fn seeds_are_valid_documents() {
    use gridline_protocol::wire::{BatchResponse, ChangesPage, ErrorBody, Ticket, TicketPage};
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let read = |target: &str, name: &str| {
        std::fs::read(corpus.join(target).join(format!("seed-{name}"))).expect("a seed")
    };
    fn decodes<T: serde::de::DeserializeOwned>(data: &[u8]) -> bool {
        serde_json::from_slice::<T>(data).is_ok()
    }
    assert!(decodes::<ChangesPage>(&read("wire_device", "changes.json")));
    assert!(decodes::<Ticket>(&read("wire_device", "ticket.json")));
    assert!(decodes::<TicketPage>(&read("wire_device", "tickets.json")));
    assert!(decodes::<BatchResponse>(&read("wire_device", "batch.json")));
    assert!(decodes::<ErrorBody>(&read("wire_device", "error.json")));
    let one = read("wire_batch", "one.json");
    let catalog = gridline_protocol::Catalog::builtin();
    let report: serde_json::Value = serde_json::from_slice(&one).expect("JSON");
    let report: gridline_protocol::Report =
        serde_json::from_value(report["reports"][0].clone()).expect("a report");
    catalog.validate_report(&report).expect("a valid report");
    let grids = read("geojson", "two-grids.geojson");
    let text = std::str::from_utf8(&grids).expect("UTF-8");
    assert_eq!(
        gridline_server::grids::parse_geojson(text).map(|g| g.len()),
        Ok(2)
    );
}
