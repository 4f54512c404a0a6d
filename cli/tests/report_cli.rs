//! The `gridline` binary as a user meets it: report, queue, catalog, and bad input.

use std::path::Path;
use std::process::{Command, Output};

fn gridline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(args)
        .env_remove("GRIDLINE_DB")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn report(db: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["report", "--json", "--db", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    gridline(&args)
}

const POTHOLE: &[&str] = &[
    "--kind",
    "road_damage",
    "--category",
    "pothole",
    "--lat",
    "29.8683",
    "--lon",
    "121.544",
    "--attr",
    "size=large",
];

#[test]
fn report_then_queue_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rider.db");
    let out = report(&db, POTHOLE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let filed = json(&out);
    assert_eq!(filed["state"], "queued");
    let id = filed["id"].as_str().unwrap().to_string();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);

    let outreach = report(
        &db,
        &[
            "--kind",
            "anti_fraud_outreach",
            "--category",
            "street_talk",
            "--lat",
            "29.87",
            "--lon",
            "121.55",
            "--attr",
            "topics=telecom_fraud,app_download",
            "--people",
            "30",
            "--materials",
            "50",
            "--venue",
            "street",
        ],
    );
    assert!(
        outreach.status.success(),
        "{}",
        String::from_utf8_lossy(&outreach.stderr)
    );

    let queue = gridline(&["queue", "--json", "--db", db.to_str().unwrap()]);
    assert!(queue.status.success());
    let rows = json(&queue);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let pothole = rows.iter().find(|r| r["id"] == id.as_str()).unwrap();
    assert_eq!(
        (pothole["kind"].as_str(), pothole["category"].as_str()),
        (Some("road_damage"), Some("pothole"))
    );
    assert_eq!(pothole["state"], "queued");
}

#[test]
fn bad_input_exits_non_zero_with_one_line_naming_the_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rider.db");
    assert!(report(&db, POTHOLE).status.success());
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "pothole",
                "--lat",
                "NaN",
                "--lon",
                "121",
                "--attr",
                "size=large",
            ],
            "location.lat",
        ),
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "pothole",
                "--lat",
                "inf",
                "--lon",
                "121",
                "--attr",
                "size=large",
            ],
            "location.lat",
        ),
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "pothole",
                "--lat",
                "29",
                "--lon",
                "-200",
                "--attr",
                "size=large",
            ],
            "location.lon",
        ),
        (
            &[
                "--kind",
                "volcano",
                "--category",
                "pothole",
                "--lat",
                "29",
                "--lon",
                "121",
            ],
            "kind",
        ),
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "sinkhole",
                "--lat",
                "29",
                "--lon",
                "121",
            ],
            "category",
        ),
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "pothole",
                "--lat",
                "29",
                "--lon",
                "121",
            ],
            "attributes.size",
        ),
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "pothole",
                "--lat",
                "29",
                "--lon",
                "121",
                "--attr",
                "size=tiny",
            ],
            "attributes.size",
        ),
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "waterlogging",
                "--lat",
                "29",
                "--lon",
                "121",
                "--attr",
                "depth_cm=deep",
            ],
            "attributes.depth_cm",
        ),
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "pothole",
                "--lat",
                "29",
                "--lon",
                "121",
                "--attr",
                "size=large",
                "--note",
                "bell\u{7}",
            ],
            "note",
        ),
        (
            &[
                "--kind",
                "road_damage",
                "--category",
                "pothole",
                "--lat",
                "29",
                "--lon",
                "121",
                "--attr",
                "size=large",
                "--accuracy",
                "-3",
            ],
            "location.accuracy_m",
        ),
    ];
    for (args, field) in cases {
        let out = report(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
        assert!(stderr.contains(field), "{field} not named in {stderr}");
        assert_eq!(json(&out)["error"]["field"], *field, "{args:?}");
    }
    let long_note = "长".repeat(2001);
    let out = report(&db, &[POTHOLE, &["--note", &long_note]].concat());
    assert_eq!(json(&out)["error"]["field"], "note");
    // Only the first, valid report is stored: refused ones leave no draft behind.
    let rows = json(&gridline(&[
        "queue",
        "--json",
        "--db",
        db.to_str().unwrap(),
    ]));
    assert_eq!(rows.as_array().unwrap().len(), 1);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.txt");
    let text = "shopping list: rice, eggs, 酱油\n".repeat(100);
    std::fs::write(&db, &text).unwrap();
    let out = report(&db, POTHOLE);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a Gridline database"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&db).unwrap(), text);
}

#[test]
fn catalog_json_has_kinds_categories_and_attributes() {
    let out = gridline(&["catalog", "--json"]);
    assert!(out.status.success());
    let c = json(&out);
    assert!(c["version"].is_string());
    let kinds = c["kinds"].as_array().unwrap();
    let codes: Vec<&str> = kinds.iter().map(|k| k["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "road_damage",
            "garbage_sorting",
            "anti_fraud_outreach",
            "other",
            "verification"
        ]
    );
    let road = &kinds[0]["categories"];
    let pothole = road
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "pothole")
        .unwrap();
    assert!(pothole["name"].is_string());
    let size = pothole["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "size")
        .unwrap();
    assert_eq!(
        (size["datatype"].as_str(), size["required"].as_bool()),
        (Some("singlevaluelist"), Some(true))
    );
    let text = gridline(&["catalog"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("missing_manhole_cover"));
}

/// `gridline demo --json` in a fresh folder with `per_rider` reports per rider: its summary.
fn demo_summary(per_rider: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = gridline(&[
        "demo",
        "--json",
        "--dir",
        dir.path().to_str().unwrap(),
        "--reports-per-rider",
        per_rider,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

#[test]
fn demo_runs_the_whole_story_end_to_end() {
    let v = demo_summary("8");
    let filed = v["reports_filed"].as_u64().unwrap();
    assert_eq!(
        filed,
        3 * 8 + 2 + 3,
        "three riders, plus one pothole reported twice, plus three doubtful reports"
    );
    // The doubtful reports raise exactly their signals; honest riders raise none.
    let signals = &v["signals"];
    assert_eq!(signals["mock_location"], 1, "{signals}");
    assert_eq!(signals["photo_reused"], 1, "{signals}");
    assert_eq!(signals["photo_time_mismatch"], 1, "{signals}");
    assert!(
        signals["photo_far_from_fix"].as_u64() >= Some(1),
        "{signals}"
    );
    assert!(signals.get("impossible_speed").is_none(), "{signals}");
    assert!(signals.get("no_camera_exif").is_none(), "{signals}");
    assert_eq!(
        v["signatures"]["valid"].as_u64(),
        Some(filed),
        "{}",
        v["signatures"]
    );
    assert_eq!(
        v["sent"].as_u64(),
        Some(filed + v["verifications_filed"].as_u64().unwrap()),
        "everything filed offline was sent, once"
    );
    assert_eq!(v["photos_uploaded"], v["photos_filed"]);
    assert_eq!(v["riders_in_step_with_server"], true);
    let statuses = v["statuses"].as_object().unwrap();
    for status in ["duplicate", "rejected", "closed", "dispatched"] {
        assert!(
            statuses.get(status).and_then(|n| n.as_u64()).unwrap_or(0) > 0,
            "no {status} in {statuses:?}"
        );
    }
    // The 数字城管 loop: deadlines passed and were escalated, riders verified fixes (one
    // failed and went back; an overdue one ended closed), and every verification is a report
    // of its own.
    for counter in [
        "overdue_marked",
        "escalated",
        "verified_fixed",
        "verified_not_fixed",
        "overdue_then_closed",
    ] {
        assert!(v[counter].as_u64().unwrap_or(0) > 0, "no {counter} in {v}");
    }
    // Two riders photographed the same pothole a step apart: the server ranked the pair by
    // photo similarity and the supervisor merged them.
    let duplicates = v["duplicates"].as_array().unwrap();
    assert_eq!(duplicates.len(), 1, "{v}");
    let why = duplicates[0].as_str().unwrap();
    assert!(
        why.contains("% similar") && why.contains("same category"),
        "{why}"
    );
    let verifications = v["verifications_filed"].as_u64().unwrap();
    assert_eq!(
        verifications,
        v["verified_fixed"].as_u64().unwrap() + v["verified_not_fixed"].as_u64().unwrap()
    );
    assert_eq!(
        statuses.values().filter_map(|n| n.as_u64()).sum::<u64>(),
        filed + verifications
    );
}

#[test]
fn the_demo_tells_the_same_story_every_run() {
    // The server's ticket ids are random per district and its clock stands still between
    // the story's jumps: the demo must not let either decide which tickets it triages.
    let story = || {
        let mut v = demo_summary("4");
        let summary = v.as_object_mut().unwrap();
        summary.remove("folder");
        summary.remove("server");
        v
    };
    let (first, second) = std::thread::scope(|s| {
        let a = s.spawn(story);
        let b = s.spawn(story);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(first, second);
}

#[test]
fn a_second_report_of_the_same_problem_is_flagged_as_nearby() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rider.db");
    let first = json(&report(&db, POTHOLE));
    let second = json(&report(&db, &[POTHOLE, &["--note", "same hole"]].concat()));
    let nearby = second["nearby"].as_array().unwrap();
    assert_eq!(nearby.len(), 1);
    assert_eq!(nearby[0]["report_id"], first["id"]);
    assert!(nearby[0]["distance_m"].as_f64().unwrap() < 1.0);
    // The ranked candidates say why.
    let candidates = second["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{second}");
    assert_eq!(candidates[0]["report_id"], first["id"]);
    let why = candidates[0]["reason"].as_str().unwrap();
    assert!(
        why.contains("0 m away") && why.contains("same category"),
        "{why}"
    );
    assert!(candidates[0]["score"].as_f64().unwrap() > 0.5);
    let elsewhere = json(&report(
        &db,
        &[
            "--kind",
            "road_damage",
            "--category",
            "pothole",
            "--lat",
            "29.9",
            "--lon",
            "121.544",
            "--attr",
            "size=small",
        ],
    ));
    assert!(
        elsewhere["nearby"].as_array().unwrap().is_empty(),
        "3.5 km away is not nearby"
    );
    assert!(elsewhere["candidates"].as_array().unwrap().is_empty());
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
fn http_get(url: &str, token: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[test]
fn demo_serve_keeps_the_server_up_with_the_console_and_a_supervisor_token() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args([
            "--json",
            "demo",
            "--serve",
            "--reports-per-rider",
            "2",
            "--dir",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let console = v["console"].as_str().unwrap().to_string();
    let token = v["supervisor_tokens"]["sup-wang"]
        .as_str()
        .unwrap()
        .to_string();
    let base = console.strip_suffix("/console/").unwrap();

    let (status, page) = http_get(&console, None);
    assert_eq!(status, 200);
    assert!(page.contains("js/app.js"));
    let (status, me) = http_get(&format!("{base}/v1/me"), Some(&token));
    assert_eq!(status, 200);
    assert!(me.contains(r#""role":"supervisor""#), "{me}");
    let (_, departments) = http_get(&format!("{base}/v1/departments"), Some(&token));
    assert!(departments.contains("road maintenance"), "{departments}");
    // Fresh work is waiting: the story triaged all it filed, then a rider filed three more.
    let (_, tickets) = http_get(&format!("{base}/v1/tickets?status=submitted"), Some(&token));
    let tickets: serde_json::Value = serde_json::from_str(&tickets).unwrap();
    assert_eq!(tickets["tickets"].as_array().unwrap().len(), 3);
    // The supervisor asks the server for a ticket's duplicate candidates from the CLI.
    let id = tickets["tickets"][0]["id"].as_str().unwrap();
    let db = dir.path().join("desk.db");
    let ask = |ticket: &str| {
        gridline(&[
            "--json",
            "triage",
            "candidates",
            "--db",
            db.to_str().unwrap(),
            "--server",
            base,
            "--token",
            &token,
            ticket,
        ])
    };
    let out = ask(id);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = json(&out);
    assert_eq!(list["ticket_id"], id);
    for c in list["candidates"].as_array().unwrap() {
        assert!(c["reason"].as_str().unwrap().contains(" m away"), "{c}");
    }
    let out = ask("T0NOSUCH");
    assert!(!out.status.success());
    let err: serde_json::Value = serde_json::from_slice(&out.stdout)
        .or_else(|_| serde_json::from_slice(&out.stderr))
        .unwrap();
    assert!(err.to_string().contains("not found"), "{err}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn report_json_prints_the_fraud_signals_the_device_sees() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rider.db");
    let out = report(&db, POTHOLE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["signals"], serde_json::json!([]));
    let mut mock = POTHOLE.to_vec();
    mock.push("--mock");
    let out = report(&db, &mock);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signals = json(&out)["signals"].clone();
    let names: Vec<_> = signals
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["mock_location"], "{signals}");
    assert_eq!(signals[0]["severity"], "high");
}
