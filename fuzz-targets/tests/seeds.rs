//! Writes the small seed inputs the fuzz corpus started from (`cargo test -p
//! gridline-fuzz-targets --test seeds -- --ignored`), generated with `photo::fixtures` so no
//! camera photo has to be committed. Seeds go into `fuzz/seeds/<target>/seed-*` (committed);
//! `scripts/fuzz` gives libFuzzer that folder next to `fuzz/corpus/<target>/`.

use std::path::Path;

use gridline_core::photo::fixtures::{self, ExifSpec, JpegColor, JpegSpec, PngColor};

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus folder");
    std::fs::write(dir.join(format!("seed-{name}")), data).expect("write a seed");
}

#[test]
#[ignore = "writes seed files into fuzz/seeds; run by hand"]
fn write_seeds() {
    let rgb = fixtures::quadrants(24, 16);
    let exif = ExifSpec {
        orientation: Some(6),
        datetime_original: Some("2024:05:06 07:08:09".into()),
        offset_time_original: Some("+08:00".into()),
        gps: Some((30.25, 120.15)),
        gps_time: Some(("2024:05:05".into(), [23.0, 8.0, 9.0])),
        ..ExifSpec::default()
    };
    let (stored, w, h) = fixtures::stored_as(&rgb, 24, 16, 6);
    let photos: Vec<(&str, Vec<u8>)> = vec![
        (
            "baseline.jpg",
            fixtures::jpeg(&rgb, 24, 16, &JpegSpec::default()),
        ),
        (
            "exif-progressive.jpg",
            fixtures::jpeg(
                &stored,
                w,
                h,
                &JpegSpec {
                    progressive: true,
                    exif: Some(exif.clone()),
                    ..JpegSpec::default()
                },
            ),
        ),
        (
            "cmyk.jpg",
            fixtures::jpeg(
                &rgb,
                24,
                16,
                &JpegSpec {
                    color: JpegColor::Cmyk,
                    ..JpegSpec::default()
                },
            ),
        ),
        (
            "rgb.png",
            fixtures::png(&rgb, 24, 16, PngColor::Rgb8, Some(&exif)),
        ),
        (
            "rgba.png",
            fixtures::png(&rgb, 24, 16, PngColor::Rgba8, None),
        ),
        (
            "palette.png",
            fixtures::png(&rgb, 24, 16, PngColor::Palette, None),
        ),
        (
            "gray16.png",
            fixtures::png(&rgb, 24, 16, PngColor::GrayAlpha16, None),
        ),
        ("interlaced.png", fixtures::interlaced_png(&rgb, 24, 16)),
        ("bomb.jpg", fixtures::bomb_jpeg(30000, 30000)),
        ("bomb.png", fixtures::bomb_png(30000, 30000)),
    ];
    for (name, data) in &photos {
        write("photo_process", name, data);
        if name.ends_with(".jpg") {
            write("photo_verify", name, data);
        }
    }

    let report = gridline_e2e_free_report();
    write(
        "wire_batch",
        "one.json",
        format!(r#"{{"reports":[{report}]}}"#).as_bytes(),
    );
    write(
        "wire_batch",
        "mixed.json",
        format!(r#"{{"reports":[{report},{{"id":"x"}},7]}}"#).as_bytes(),
    );
    let event =
        r#"{"status":"submitted","version":1,"at":"2026-11-28T09:30:01.000Z","by":"li.wei"}"#;
    let ticket = format!(
        r#"{{"id":"T-1","report_id":"019300a0-0000-7000-8000-000000000001","status":"submitted","version":1,"kind":"road_damage","category":"pothole","grid_id":"HZ-01","note":"n","severity":"high","location":{{"lat":30.27,"lon":120.15,"accuracy_m":6.5,"provider":"gps","fix_time":"2026-11-28T09:29:50.000Z"}},"attributes":{{"size":"medium"}},"photos":[{{"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","bytes":2670,"width":1600,"height":1200,"uploaded":true}}],"reporter":"li.wei","submitted_by":"li.wei","created_at":"2026-11-28T09:29:00.000Z","submitted_at":"2026-11-28T09:30:00.000Z","received_at":"2026-11-28T09:30:01.000Z","updated_at":"2026-11-28T09:30:01.000Z","history":[{event}]}}"#
    );
    let device = [
        (
            "changes.json",
            format!(
                r#"{{"changes":[{{"cursor":"c1","ticket_id":"T-1","report_id":"019300a0-0000-7000-8000-000000000001",{}],"next_cursor":"c1","has_more":false}}"#,
                &event[1..]
            ),
        ),
        ("ticket.json", ticket.clone()),
        ("tickets.json", format!(r#"{{"tickets":[{ticket}],"next":"p2"}}"#)),
        (
            "batch.json",
            r#"{"results":[{"id":"019300a0-0000-7000-8000-000000000001","status":"accepted","ticket_id":"T-1"},{"id":null,"status":"rejected","field":"id","reason":"r"},{"id":null,"status":"conflict","reason":"r"},{"id":null,"status":"already_accepted","ticket_id":"T-1"}]}"#.to_string(),
        ),
        (
            "error.json",
            format!(r#"{{"code":"version_conflict","message":"m","field":"If-Match","ticket":{ticket}}}"#),
        ),
    ];
    for (name, text) in &device {
        let v: serde_json::Value = serde_json::from_str(text).expect("seed is JSON");
        assert!(v.is_object(), "{name}");
        write("wire_device", name, text.as_bytes());
    }
    write("geojson", "two-grids.geojson", GRIDS.as_bytes());
    write(
        "catalog",
        "builtin.json",
        include_bytes!("../../protocol/catalog/builtin.json"),
    );
    let mut with_report = include_bytes!("../../protocol/catalog/builtin.json").to_vec();
    with_report.push(0xFF);
    with_report.extend_from_slice(report.as_bytes());
    write("catalog", "builtin-report.bin", &with_report);
}

const GRIDS: &str = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","id":"HZ-01","properties":{"name":"North","supervisor":"wang"},"geometry":{"type":"Polygon",
 "coordinates":[[[120.10,30.25],[120.20,30.25],[120.20,30.30],[120.10,30.30],[120.10,30.25]]]}},
{"type":"Feature","properties":{"id":7,"parent":"GL"},"geometry":{"type":"MultiPolygon",
 "coordinates":[[[[120.10,30.20],[120.20,30.20],[120.20,30.25],[120.10,30.25],[120.10,30.20]],
 [[120.14,30.21],[120.16,30.21],[120.16,30.23],[120.14,30.23],[120.14,30.21]]]]}}]}"#;

/// A valid report against the built-in catalog, as a device sends it.
fn gridline_e2e_free_report() -> String {
    include_str!("seed_report.json").trim().to_string()
}
