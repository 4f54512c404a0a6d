//! `gridline server import-grids`: with `--json` the answer is JSON (issue 11 found it printed
//! plain text), without it a sentence; a bad file is refused and changes nothing.

use std::process::{Command, Output};

use gridline_server::config::{Database, Storage};

const GRIDS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"HS-A","properties":{"name":"Gulou West"},"geometry":{"type":"Polygon",
  "coordinates":[[[121.54,29.86],[121.55,29.86],[121.55,29.87],[121.54,29.87],[121.54,29.86]]]}},
 {"type":"Feature","id":"HS-B","properties":{"name":"Gulou East"},"geometry":{"type":"Polygon",
  "coordinates":[[[121.55,29.86],[121.56,29.86],[121.56,29.87],[121.55,29.87],[121.55,29.86]]]}}]}"#;

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

#[test]
fn import_grids_answers_json_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let storage = gridline_server::testing::storage(dir.path());
    let file = dir.path().join("grids.geojson");
    std::fs::write(&file, GRIDS).unwrap();
    let file = file.to_str().unwrap();

    let out = gridline(&storage, &["--json", "server", "import-grids", file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(answer, serde_json::json!({"imported": 2}));

    let out = gridline(&storage, &["server", "import-grids", file]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "imported 2 grids"
    );

    let bad = dir.path().join("bad.geojson");
    std::fs::write(&bad, r#"{"type":"Feature"}"#).unwrap();
    let out = gridline(
        &storage,
        &["--json", "server", "import-grids", bad.to_str().unwrap()],
    );
    assert!(!out.status.success());
}
