//! What a city's operations team relies on: readiness that notices a missing photo store,
//! admin-only metrics that count what happened, and `migrate-from-sqlite`, which moves a
//! district into PostgreSQL (+ S3) keeping every ticket id and cursor, copying nothing twice.

mod common;

use common::*;
use gridline_core::photo::fixtures;
use gridline_server::admin;
use gridline_server::config::{Database, MediaLocation};
use gridline_server::{Config, Role, Server};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[test]
fn readiness_and_metrics_tell_the_operator_what_is_going_on() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let admin = h.user("ops", Role::Admin, &[]);
    let ready = h.http.get(h.url("/readyz")).send().unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().unwrap();
    assert_eq!(body["status"], "ready");
    assert!(body["database"]["backend"].is_string(), "{body}");

    h.file(&rider, &report("li"));
    let again = h.batch(&rider, &[report("li")]);
    assert_eq!(again[0]["status"], "accepted");

    assert_eq!(h.http.get(h.url("/metrics")).send().unwrap().status(), 401);
    expect_error(h.get(&rider, "/metrics"), 403, "forbidden", None);
    let metrics = h.get(&admin, "/metrics");
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().unwrap();
    assert!(
        text.contains("gridline_reports_ingested_total{result=\"accepted\"} 2"),
        "{text}"
    );
    assert!(
        text.contains(
            "gridline_http_requests_total{route=\"POST /v1/reports:batch\",status=\"200\"} 2"
        ),
        "{text}"
    );
    assert!(text.contains("gridline_uploads_pending 0"), "{text}");

    // A photo folder that vanished (a lost mount) takes the instance out of rotation.
    if h.storage.media == MediaLocation::Local {
        std::fs::remove_dir_all(h.dir.path().join("media")).unwrap();
        let down = h.http.get(h.url("/readyz")).send().unwrap();
        assert_eq!(down.status(), 503);
        let body: Value = down.json().unwrap();
        assert_eq!(body["media"]["status"], "unreachable", "{body}");
        assert_eq!(body["database"]["status"], "ok", "{body}");
    }
}

#[test]
fn a_district_moves_into_the_city_keeping_ids_cursors_and_photos() {
    let city_dir = tempfile::tempdir().unwrap();
    let city = gridline_server::testing::storage(city_dir.path());
    if !matches!(city.database, Database::Postgres(_)) {
        eprintln!(
            "skipped: set GRIDLINE_TEST_DATABASE (scripts/city-services start) to migrate into PostgreSQL"
        );
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::new();

    // The district: SQLite and a media folder, with tickets, history and a verified photo.
    let district = tempfile::tempdir().unwrap();
    admin::import_grids(district.path(), GRIDS).unwrap();
    let rider = add_user(district.path(), "li", Role::Rider, &[]);
    let sup = add_user(district.path(), "wang", Role::Supervisor, &["HS-A"]);
    let server = Server::start(Config::new(district.path())).unwrap();
    let base = server.base_url();
    let photo = fixtures::jpeg(&fixtures::quadrants(48, 32), 48, 32, &Default::default());
    let name: String = Sha256::digest(&photo)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut first = report("li");
    first["photos"] = json!([{"sha256": name, "bytes": photo.len(), "width": 48, "height": 32}]);
    let reports = [first, report("li"), report("li")];
    let results: Value = http
        .post(format!("{base}/v1/reports:batch"))
        .bearer_auth(&rider)
        .json(&json!({ "reports": reports }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ids: Vec<String> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ticket_id"].as_str().unwrap().to_string())
        .collect();
    let uploaded = http
        .patch(format!("{base}/v1/media/{name}"))
        .bearer_auth(&rider)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .body(photo.clone())
        .send()
        .unwrap();
    assert_eq!(uploaded.status(), 204);
    let accepted = http
        .post(format!("{base}/v1/tickets/{}/actions", ids[1]))
        .bearer_auth(&sup)
        .header("if-match", "\"1\"")
        .json(&json!({"action": "accept"}))
        .send()
        .unwrap();
    assert_eq!(accepted.status(), 200);
    // The rider's device has read the feed up to here.
    let feed: Value = http
        .get(format!("{base}/v1/changes"))
        .bearer_auth(&rider)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let cursor = feed["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(feed["changes"].as_array().unwrap().len(), 4);
    server.shutdown().unwrap();
    // An Open311 client system's key moves with the district (its account is a user).
    let open311_key = admin::add_open311_client(district.path(), "hotline")
        .unwrap()
        .api_key;

    let mut lines = Vec::new();
    let summary =
        admin::migrate_from_sqlite(district.path(), &city, |l| lines.push(l.to_string())).unwrap();
    assert_eq!(summary.records.tickets, 3);
    assert_eq!(summary.records.events, 4);
    assert_eq!(summary.records.users, 3);
    assert_eq!(summary.photos_stored, 1);
    assert_eq!(summary.photos_missing, 0);
    assert!(!lines.is_empty(), "progress is reported");
    let again = admin::migrate_from_sqlite(district.path(), &city, |_| {}).unwrap();
    assert_eq!(
        again.records,
        Default::default(),
        "a second run copies nothing twice"
    );

    // The city serves the district's tickets under the same ids, the photo, and the feed
    // continues from the device's cursor without repeating anything.
    let server = Server::start(Config::with_storage(city.clone())).unwrap();
    let base = server.base_url();
    for id in &ids {
        let t = http
            .get(format!("{base}/v1/tickets/{id}"))
            .bearer_auth(&rider)
            .send()
            .unwrap();
        assert_eq!(t.status(), 200, "ticket {id} kept its id");
    }
    let got = http
        .get(format!("{base}/v1/media/{name}"))
        .bearer_auth(&sup)
        .send()
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().unwrap().as_ref(), &photo[..]);
    let feed: Value = http
        .get(format!("{base}/v1/changes?cursor={cursor}"))
        .bearer_auth(&rider)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(feed["changes"].as_array().unwrap().is_empty(), "{feed}");
    let clients = admin::open311_clients(&city).unwrap();
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0].name, "hotline");
    let filed = http
        .post(format!("{base}/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "api_key={open311_key}&service_code=pothole&lat=29.865&long=121.545&attribute[size]=large"
        ))
        .send()
        .unwrap();
    assert_eq!(filed.status(), 200, "the migrated key works in the city");
    // Resending a migrated report is recognised; a new one gets a new id.
    let resent: Value = http
        .post(format!("{base}/v1/reports:batch"))
        .bearer_auth(&rider)
        .json(&json!({ "reports": [reports[2].clone(), report("li")] }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(resent["results"][0]["status"], "already_accepted");
    assert_eq!(resent["results"][0]["ticket_id"], ids[2].as_str());
    assert_eq!(resent["results"][1]["status"], "accepted");
    assert!(
        !ids.contains(
            &resent["results"][1]["ticket_id"]
                .as_str()
                .unwrap()
                .to_string()
        )
    );
    let feed: Value = http
        .get(format!("{base}/v1/changes?cursor={cursor}"))
        .bearer_auth(&rider)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        feed["changes"].as_array().unwrap().len(),
        1,
        "only the new ticket"
    );
    server.shutdown().unwrap();

    // A database with accounts of its own is not merged into.
    let other = tempfile::tempdir().unwrap();
    let foreign = gridline_server::testing::storage(other.path());
    add_user(&foreign, "someone", Role::Rider, &[]);
    let refused = admin::migrate_from_sqlite(district.path(), &foreign, |_| {}).unwrap_err();
    assert!(refused.to_string().contains("empty database"), "{refused}");
    // And a SQLite target is refused with the flag to use.
    let err =
        admin::migrate_from_sqlite(district.path(), &district.path().into(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("--database postgres://"), "{err}");
}
