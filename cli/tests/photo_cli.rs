//! `gridline photo` end to end: the binary, real files, the exact JSON shape.

use std::path::Path;
use std::process::{Command, Output};

use gridline_core::photo::fixtures::{self, ExifSpec, JpegSpec};

fn gridline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(args)
        .output()
        .expect("run gridline")
}

fn write_fixture(dir: &Path) -> std::path::PathBuf {
    let upright = fixtures::quadrants(80, 60);
    let (stored, w, h) = fixtures::stored_as(&upright, 80, 60, 6);
    let spec = JpegSpec {
        exif: Some(ExifSpec {
            orientation: Some(6),
            datetime_original: Some("2025:11:28 17:30:05".into()),
            offset_time_original: Some("+08:00".into()),
            gps: Some((29.868_336, 121.543_99)),
            ..ExifSpec::default()
        }),
        ..JpegSpec::default()
    };
    let path = dir.join("in.jpg");
    std::fs::write(&path, fixtures::jpeg(&stored, w, h, &spec)).unwrap();
    path
}

#[test]
fn process_json_has_exactly_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_fixture(dir.path());
    let media = dir.path().join("media");
    let out = gridline(&[
        "photo",
        "process",
        input.to_str().unwrap(),
        "--out",
        media.to_str().unwrap(),
        "--max-edge",
        "40",
        "--quality",
        "75",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["captured_at", "gps", "photo", "thumbnail"]);
    for part in ["photo", "thumbnail"] {
        let mut keys: Vec<_> = v[part].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["bytes", "height", "path", "sha256", "width"],
            "{part}"
        );
        let path = Path::new(v[part]["path"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(path).unwrap().len(),
            v[part]["bytes"].as_u64().unwrap()
        );
    }
    // Upright (orientation 6 applied) and fitted to --max-edge.
    assert_eq!(
        (v["photo"]["width"].as_u64(), v["photo"]["height"].as_u64()),
        (Some(40), Some(30))
    );
    let sha = v["photo"]["sha256"].as_str().unwrap();
    assert!(
        v["photo"]["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{sha}.jpg"))
    );
    assert_eq!(v["captured_at"], "2025-11-28T09:30:05.000Z");
    assert!((v["gps"]["lat"].as_f64().unwrap() - 29.868_336).abs() < 1e-5);
    assert!((v["gps"]["lon"].as_f64().unwrap() - 121.543_99).abs() < 1e-5);

    // Text mode prints the same files; metadata without GPS gives null.
    let text = gridline(&[
        "photo",
        "process",
        input.to_str().unwrap(),
        "--out",
        media.to_str().unwrap(),
    ]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("photo"));
    let plain = dir.path().join("plain.jpg");
    std::fs::write(
        &plain,
        fixtures::jpeg(&fixtures::quadrants(8, 8), 8, 8, &JpegSpec::default()),
    )
    .unwrap();
    let out = gridline(&[
        "photo",
        "process",
        plain.to_str().unwrap(),
        "--out",
        media.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["gps"].is_null() && v["captured_at"].is_null());
}

#[test]
fn refused_files_exit_nonzero_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("empty.jpg", Vec::new(), "empty"),
        ("bomb.jpg", fixtures::bomb_jpeg(60_000, 60_000), "pixels"),
        (
            "photo.heic",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
            "HEIC",
        ),
    ];
    for (name, bytes, word) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = gridline(&[
            "photo",
            "process",
            path.to_str().unwrap(),
            "--out",
            media.to_str().unwrap(),
            "--json",
        ]);
        assert!(!out.status.success(), "{name}");
        let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(body["error"]["code"], "photo", "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("gridline: error: ") && err.contains(word),
            "{err}"
        );
    }
    let out = gridline(&["photo", "process", "x.jpg", "--out", "m", "--quality", "0"]);
    assert!(!out.status.success());
}

#[test]
fn meta_reads_location_from_photo() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_fixture(dir.path());
    let out = gridline(&["photo", "meta", input.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(80), Some(60))
    );
    assert!((v["gps"]["lat"].as_f64().unwrap() - 29.868_336).abs() < 1e-5);
}
