//! Gridline device core: everything a rider's app does, in plain Rust with no FFI types.
//!
//! A report is written to a local SQLite file the moment the rider submits it (see [`store`]),
//! validated against the versioned [`gridline_protocol::Catalog`], and later sent in batches by
//! the sync engine. [`Client`] is the entry point; [`GridlineError`] the public error.
//!
//! Modules depend one way, bottom first (a test below checks every `crate::` path):
//! `error` -> `logging` -> `model` -> `geo` -> `photo` -> `signals` -> `evidence` -> `transport` -> `store` -> `sync` -> `client`.
//! The outbox's transitions are model types the store applies; the sync engine works on a
//! [`sync::Device`] (store, clock, media folder, installers), which `Client` implements.

pub mod client;
pub mod duplicates;
pub mod error;
pub mod evidence;
#[cfg(feature = "uniffi")]
pub mod ffi;
pub mod geo;
pub mod logging;
pub mod model;
pub mod photo;
pub mod signals;
pub mod store;
pub mod sync;
pub mod transport;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub use client::{Client, ClientConfig, Clock};
pub use error::{Error, GridlineError};
pub use model::{Counts, DraftPatch, LocalReport, Rejection, ReportState};
pub use store::{ListCursor, ListFilter, ReportRow};
pub use sync::engine::SyncContext;
pub use sync::{
    CancelToken, Change, ClientObserver, ObserverId, SyncObserver, SyncOptions, SyncPhase,
    SyncProgress, SyncSettings, SyncStatus, SyncSummary,
};

#[cfg(test)]
mod layering {
    //! The modules' dependency order, checked on the source: each module may name (`crate::x`)
    //! only modules before it, so the graph has no cycle. `Client` is last: the sync engine
    //! and triage see it only through [`crate::sync::Device`].

    /// Bottom first.
    const ORDER: [&str; 11] = [
        "error",
        "logging",
        "model",
        "geo",
        "photo",
        "signals",
        "evidence",
        "transport",
        "store",
        "sync",
        "client",
    ];

    fn sources(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    #[test]
    fn modules_depend_in_one_direction() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![];
        sources(&root, &mut files);
        let mut broken = vec![];
        for (path, text) in &files {
            let rel = path.strip_prefix(&root).unwrap();
            let first = rel.iter().next().unwrap().to_string_lossy();
            let module = first.trim_end_matches(".rs").trim_end_matches("_tests");
            let Some(rank) = ORDER.iter().position(|m| *m == module) else {
                continue;
            };
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + "crate::".len()..];
                    let used: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let Some(used_rank) = ORDER.iter().position(|m| *m == used) else {
                        continue;
                    };
                    if used_rank > rank {
                        broken.push(format!("{}: {}", rel.display(), line.trim()));
                    }
                }
            }
        }
        assert!(
            broken.is_empty(),
            "uses against the order {ORDER:?}:\n{}",
            broken.join("\n")
        );
    }
}
