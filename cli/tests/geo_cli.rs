//! `gridline geo convert` and `gridline geo locate` as a user runs them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use gridline_core::geo::convert;
use gridline_protocol::CoordSystem;

fn gridline(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gridline");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn pair(line: &str) -> (f64, f64) {
    let (a, b) = line.trim().split_once(',').expect("lon,lat");
    (a.parse().expect("lon"), b.parse().expect("lat"))
}

#[test]
fn converts_one_point_and_back_to_the_centimetre() {
    let o = gridline(
        &[
            "geo", "convert", "--from", "wgs84", "--to", "bd09", "121.544", "29.8683",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bd = stdout(&o);
    let (x, y) = pair(&bd);
    assert!(
        (x - 121.5545874287).abs() < 1e-8 && (y - 29.8720234782).abs() < 1e-8,
        "{bd}"
    );
    let (xs, ys) = (x.to_string(), y.to_string());
    let o = gridline(
        &[
            "geo", "convert", "--from", "bd09", "--to", "wgs84", &xs, &ys,
        ],
        "",
    );
    let (lon, lat) = pair(&stdout(&o));
    // 1e-7 degrees is about a centimetre; output has 8 decimals.
    assert!(
        (lon - 121.544).abs() < 1e-7 && (lat - 29.8683).abs() < 1e-7,
        "{}",
        stdout(&o)
    );
}

#[test]
fn island_towns_off_zhejiang_get_the_gcj02_shift() {
    // Issue 18: Shengsi (Zhoushan) and Dongtou (Wenzhou) came back unchanged. Expected values are
    // gcoord 1.0.7's (core/tests/fixtures/coast_vectors.csv), printed to 8 decimals.
    for (lon, lat, expected) in [
        ("122.45", "30.725", (122.45432257, 30.72284863)),
        ("121.15", "27.84", (121.15429271, 27.83692724)),
    ] {
        let o = gridline(
            &[
                "geo", "convert", "--from", "wgs84", "--to", "gcj02", lon, lat,
            ],
            "",
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let (x, y) = pair(&stdout(&o));
        assert!(
            (x - expected.0).abs() < 2e-8 && (y - expected.1).abs() < 2e-8,
            "{lon},{lat} -> {}",
            stdout(&o)
        );
    }
}

#[test]
fn negative_coordinates_are_numbers_not_flags() {
    let o = gridline(
        &[
            "geo", "convert", "--from", "wgs84", "--to", "gcj02", "-73.98", "-40.75",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "-73.98000000,-40.75000000\n");
}

#[test]
fn csv_on_stdin_keeps_lines_aligned() {
    let input = "lon,lat\n121.544,29.8683\n\n 126.978 , 37.5665 \n";
    let o = gridline(
        &["geo", "convert", "--from", "wgs84", "--to", "gcj02"],
        input,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], "lon,lat");
    assert_eq!(pair(lines[1]), (121.54817359, 29.86572978));
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "126.97800000,37.56650000"); // Seoul: identity outside China
}

#[test]
fn a_bad_line_stops_with_its_number_after_the_good_ones() {
    let input = "121.5,29.8\n121.5;29.8\n121.6,29.9\n";
    let o = gridline(
        &["geo", "convert", "--from", "wgs84", "--to", "gcj02"],
        input,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o).lines().count(), 1);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("gridline: error: line 2: "), "{err}");

    for (bad, field) in [
        ("121.5,NaN\n", "point.lat"),
        ("inf,29\n", "point.lon"),
        ("200,29\n", "point.lon"),
    ] {
        let o = gridline(&["geo", "convert", "--from", "gcj02", "--to", "wgs84"], bad);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        let err = stderr(&o);
        assert!(
            err.contains("line 1") && err.contains(field),
            "{bad}: {err}"
        );
    }
}

#[test]
fn invalid_single_point_is_one_line_and_exit_2() {
    let o = gridline(
        &[
            "geo", "convert", "--from", "wgs84", "--to", "gcj02", "NaN", "29",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("point.lon"), "{err}");
    let o = gridline(
        &[
            "--json", "geo", "convert", "--from", "wgs84", "--to", "gcj02", "1", "x",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    let body: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json error");
    assert_eq!(body["error"]["field"], "lat");
}

const CELLS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"A","properties":{"parent":"S1"},"geometry":{"type":"Polygon","coordinates":[[[121.54,29.86],[121.55,29.86],[121.55,29.87],[121.54,29.87],[121.54,29.86]]]}},
 {"type":"Feature","properties":{"id":"B","parent":"S1"},"geometry":{"type":"Polygon","coordinates":[[[121.55,29.86],[121.56,29.86],[121.56,29.87],[121.55,29.87],[121.55,29.86]]]}}
]}"#;

fn grid_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write grid file");
    f
}

#[test]
fn locates_points_edges_and_nothing() {
    let f = grid_file(CELLS);
    let path = f.path().to_str().expect("utf-8 path");
    let run =
        |lon: &str, lat: &str| stdout(&gridline(&["geo", "locate", "--grids", path, lon, lat], ""));
    assert_eq!(run("121.545", "29.865"), "A\n");
    assert_eq!(run("121.555", "29.865"), "B\n");
    assert_eq!(run("121.55", "29.865"), "A\n"); // shared edge: smallest id
    assert_eq!(run("121.60", "29.865"), "\n");
    let o = gridline(
        &["geo", "locate", "--grids", path],
        "121.545,29.865\n121.60,29.865\n121.555,29.865\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "A\n\nB\n");
    let o = gridline(
        &[
            "--json", "geo", "locate", "--grids", path, "121.555", "29.865",
        ],
        "",
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(
        (v["id"].as_str(), v["parent"].as_str()),
        (Some("B"), Some("S1"))
    );
    let o = gridline(&["--json", "geo", "locate", "--grids", path, "0", "0"], "");
    assert_eq!(stdout(&o), "null\n");
}

#[test]
fn gcj02_grid_files_and_points() {
    // The same cells with GCJ-02 vertices, as Chinese boundary data usually comes.
    let mut v: serde_json::Value = serde_json::from_str(CELLS).expect("json");
    for f in v["features"].as_array_mut().expect("features") {
        for p in f["geometry"]["coordinates"][0]
            .as_array_mut()
            .expect("ring")
        {
            let (lon, lat) = (p[0].as_f64().expect("lon"), p[1].as_f64().expect("lat"));
            let (x, y) =
                convert(lon, lat, CoordSystem::Wgs84, CoordSystem::Gcj02).expect("convert");
            *p = serde_json::json!([x, y]);
        }
    }
    let f = grid_file(&v.to_string());
    let path = f.path().to_str().expect("utf-8 path");
    // A GPS point (WGS-84) inside A, ~100 m from its east edge.
    let o = gridline(
        &[
            "geo",
            "locate",
            "--grids",
            path,
            "--coord",
            "gcj02",
            "--point-coord",
            "wgs84",
            "121.549",
            "29.865",
        ],
        "",
    );
    assert_eq!(stdout(&o), "A\n", "{}", stderr(&o));
    // Reading the file as WGS-84 by mistake shifts it ~400 m east: the point falls outside.
    let o = gridline(&["geo", "locate", "--grids", path, "121.543", "29.865"], "");
    assert_eq!(stdout(&o), "\n");
    // Points default to the grid file's system: the GCJ-02 image of the same point.
    let (gx, gy) =
        convert(121.549, 29.865, CoordSystem::Wgs84, CoordSystem::Gcj02).expect("convert");
    let (gxs, gys) = (gx.to_string(), gy.to_string());
    let o = gridline(
        &[
            "geo", "locate", "--grids", path, "--coord", "gcj02", &gxs, &gys,
        ],
        "",
    );
    assert_eq!(stdout(&o), "A\n");
}

#[test]
fn bad_grid_files_fail_with_one_line_naming_the_feature() {
    let bad = CELLS.replace("[121.55,29.86]]]}}\n]", "[121.55,29.861]]]}}\n]");
    assert_ne!(bad, CELLS);
    let f = grid_file(&bad);
    let path = f.path().to_str().expect("path");
    let o = gridline(&["geo", "locate", "--grids", path, "121.5", "29.8"], "");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("feature 1") && err.contains("not closed"),
        "{err}"
    );

    let o = gridline(
        &[
            "geo",
            "locate",
            "--grids",
            "/nonexistent/grids.geojson",
            "121.5",
            "29.8",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read grid file"));
}
