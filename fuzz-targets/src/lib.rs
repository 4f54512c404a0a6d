//! The bodies of Gridline's fuzz targets, as plain functions of the input bytes.
//!
//! `fuzz/` (a `cargo fuzz` crate outside the workspace, so normal builds never need libFuzzer
//! or nightly) wraps each in `fuzz_target!`; this crate's `tests/corpus.rs` replays every file of
//! `fuzz/corpus/<target>/` through the same function under plain `cargo test`. A target fails by
//! panicking: on outside data the code under test must return errors, never panic, and the
//! invariants checked here (what the server accepts, devices can read back; what a device makes,
//! the server accepts) must hold. `docs/fuzzing.md` has the targets, figures and findings.

pub mod catalog;
pub mod geojson;
pub mod open311;
pub mod photo;
pub mod wire;

/// One fuzz target: its name (the file in `fuzz/fuzz_targets/` and the corpus folder) and body.
pub struct Target {
    /// Name of the target and of its corpus folder, `fuzz/corpus/<name>/`.
    pub name: &'static str,
    /// The body: any bytes in, a panic on a finding.
    pub run: fn(&[u8]),
}

/// Every target, in the order `scripts/fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "photo_process",
        run: photo::process,
    },
    Target {
        name: "photo_verify",
        run: photo::verify,
    },
    Target {
        name: "wire_batch",
        run: wire::batch,
    },
    Target {
        name: "wire_device",
        run: wire::device,
    },
    Target {
        name: "geojson",
        run: geojson::grids,
    },
    Target {
        name: "catalog",
        run: catalog::catalog,
    },
    Target {
        name: "open311",
        run: open311::requests,
    },
];

/// Installs a panic hook for fuzzing that stays silent while a panic is still being caught by
/// the code under test (the photo decoders deliberately contain codec panics with
/// `catch_unwind`), and is printed by [`guarded`] only when one reaches the target's boundary.
/// libFuzzer's own hook would abort on the first panic, caught or not.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
    }));
}

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `body` on `data`; a panic escaping it is printed and aborts the process (a finding).
/// Use with [`install_quiet_panic_hook`].
pub fn guarded(body: fn(&[u8]), data: &[u8]) {
    let outcome = std::panic::catch_unwind(|| body(data));
    if outcome.is_err() {
        let message = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "a panic without a message".to_string());
        eprintln!("fuzz target panicked: {message}");
        std::process::abort();
    }
}
