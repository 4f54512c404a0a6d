//! `gridline server add-open311-client` and `gridline server open311-clients` on the storage
//! the server tests use (SQLite by default, a fresh PostgreSQL database under
//! `scripts/city-services`).

use std::process::{Command, Output};

use gridline_server::config::{Database, Storage};

fn gridline(storage: &Storage, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridline"));
    cmd.args(args)
        .arg("--data")
        .arg(&storage.data_dir)
        .env_remove("GRIDLINE_DATABASE")
        .env_remove("GRIDLINE_MEDIA");
    if let Database::Postgres(url) = &storage.database {
        cmd.arg("--database").arg(url.expose());
    }
    cmd.output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn open311_clients_are_issued_keys_once_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = gridline_server::testing::storage(dir.path());
    let out = gridline(&storage, &["server", "add-open311-client", "civic-app"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap();
    assert!(
        key.trim().starts_with("o311_") && key.trim().len() == 69,
        "{key}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown only once"));

    let out = gridline(
        &storage,
        &["server", "add-open311-client", "--json", "hotline"],
    );
    assert!(out.status.success());
    let created = json(&out);
    assert_eq!(created["name"], "hotline");
    assert!(created["api_key"].as_str().unwrap().starts_with("o311_"));

    let out = gridline(&storage, &["server", "open311-clients", "--json"]);
    assert!(out.status.success());
    let list = json(&out);
    let names: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["civic-app", "hotline"]);
    assert_eq!(list["clients"][0]["account"], "open311:civic-app");
    assert!(!list.to_string().contains("o311_"), "keys are never listed");
    let out = gridline(&storage, &["server", "open311-clients"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("civic-app\topen311:civic-app"));

    // Hostile input: a taken name, an empty one, a control character.
    for bad in ["civic-app", "", "bad\u{7}name"] {
        let out = gridline(&storage, &["server", "add-open311-client", "--json", bad]);
        assert!(!out.status.success(), "{bad:?} was accepted");
        assert!(json(&out)["error"]["message"].as_str().is_some());
    }
}

#[test]
fn upstream_status_counts_every_state_and_lists_nothing_parked_on_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let storage = gridline_server::testing::storage(dir.path());
    let out = gridline(&storage, &["--json", "server", "upstream", "status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = json(&out);
    for state in ["pending", "token", "sent", "parked"] {
        assert_eq!(status["counts"][state], 0, "{status}");
    }
    assert_eq!(status["parked"], serde_json::json!([]));
    let out = gridline(&storage, &["server", "upstream", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("parked\t0"), "{text}");
}
