//! Shared test harness: a real server on an ephemeral loopback port, a temporary data folder,
//! users and tokens, and a blocking HTTP client.

#![allow(dead_code)]

use gridline_server::admin::{self, NewUser};
use gridline_server::config::Storage;
use gridline_server::{Config, Role, RunningServer, Server, testing};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use uuid::Uuid;

/// Two adjacent grids in Haishu, Ningbo: A west of lon 121.55, B east of it.
pub const GRIDS: &str = r#"{"type":"FeatureCollection","features":[
  {"type":"Feature","properties":{"id":"HS-A","name":"Gulou West"},"geometry":{"type":"Polygon",
    "coordinates":[[[121.54,29.86],[121.55,29.86],[121.55,29.87],[121.54,29.87],[121.54,29.86]]]}},
  {"type":"Feature","properties":{"id":"HS-B","name":"Gulou East"},"geometry":{"type":"Polygon",
    "coordinates":[[[121.55,29.86],[121.56,29.86],[121.56,29.87],[121.55,29.87],[121.55,29.86]]]}}
]}"#;

/// A point inside grid HS-A.
pub const IN_A: (f64, f64) = (29.865, 121.545);
/// A point inside grid HS-B.
pub const IN_B: (f64, f64) = (29.865, 121.555);

/// Creates a user in `storage` (a data folder converts) and returns their token.
pub fn add_user(storage: impl Into<Storage>, name: &str, role: Role, grids: &[&str]) -> String {
    admin::add_user(
        storage,
        &NewUser {
            name: name.into(),
            role,
            grids: grids.iter().map(|g| g.to_string()).collect(),
            expires_at: None,
        },
    )
    .expect("add user")
    .token
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    /// Where this server keeps its data: the temporary folder, or a fresh PostgreSQL database
    /// and S3 prefix when the environment names them (`gridline_server::testing`).
    pub storage: Storage,
    pub server: Option<RunningServer>,
    pub base: String,
    pub http: Client,
}

impl Harness {
    /// A server with the two grids imported and default config.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// A server with the two grids imported and `tweak` applied to its config.
    pub fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = testing::storage(dir.path());
        admin::import_grids(&storage, GRIDS).expect("import grids");
        let mut config = Config::with_storage(storage.clone());
        tweak(&mut config);
        let server = Server::start(config).expect("server starts");
        let base = server.base_url();
        // Built alongside the device core, reqwest carries rustls with no default provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder().build().expect("client");
        Self {
            dir,
            storage,
            server: Some(server),
            base,
            http,
        }
    }

    /// Creates a user and returns their token.
    pub fn user(&self, name: &str, role: Role, grids: &[&str]) -> String {
        add_user(&self.storage, name, role, grids)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .expect("request")
    }

    pub fn post_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("request")
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// Posts a batch; returns the parsed results array (asserting 200).
    pub fn batch(&self, token: &str, reports: &[Value]) -> Vec<Value> {
        let resp = self.post_json(token, "/v1/reports:batch", &json!({ "reports": reports }));
        assert_eq!(resp.status(), 200, "batch failed");
        let body: Value = resp.json().expect("json");
        body["results"].as_array().expect("results").clone()
    }

    /// Submits one report and returns its ticket id.
    pub fn file(&self, token: &str, report: &Value) -> String {
        let results = self.batch(token, std::slice::from_ref(report));
        assert_eq!(results[0]["status"], "accepted", "{results:?}");
        results[0]["ticket_id"]
            .as_str()
            .expect("ticket id")
            .to_string()
    }

    /// Every ticket the token can see (following pages).
    pub fn all_tickets(&self, token: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let page: Value = self
                .get(token, &format!("/v1/tickets?limit=500&cursor={cursor}"))
                .json()
                .expect("json");
            out.extend(page["tickets"].as_array().expect("tickets").iter().cloned());
            match page["next"].as_str() {
                Some(next) => cursor = next.to_string(),
                None => return out,
            }
        }
    }

    /// Takes a triage action with the given version.
    pub fn act(&self, token: &str, ticket: &str, version: u64, action: Value) -> Response {
        self.http
            .post(self.url(&format!("/v1/tickets/{ticket}/actions")))
            .bearer_auth(token)
            .header("if-match", format!("\"{version}\""))
            .json(&action)
            .send()
            .expect("request")
    }
}

impl Harness {
    /// Uploads in progress in this server's media store, as (account, photo).
    pub fn partial_uploads(&self) -> Vec<(i64, String)> {
        let media = gridline_server::backends::open_media(&self.storage).expect("media store");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(media.partials())
            .expect("list uploads")
    }
}

impl Harness {
    /// Stops the server and starts a new one on the same storage with `tweak` applied.
    pub fn restart_with(&mut self, tweak: impl FnOnce(&mut Config)) {
        if let Some(server) = self.server.take() {
            server.shutdown().expect("clean shutdown");
        }
        let mut config = Config::with_storage(self.storage.clone());
        tweak(&mut config);
        let server = Server::start(config).expect("server restarts");
        self.base = server.base_url();
        self.server = Some(server);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().expect("clean shutdown");
        }
    }
}

/// A valid pothole report at `at` (lat, lon), reported by `reporter`.
pub fn report_at(reporter: &str, at: (f64, f64)) -> Value {
    json!({
        "id": Uuid::now_v7(),
        "kind": "road_damage",
        "category": "pothole",
        "note": "Deep pothole by the bus stop",
        "severity": "high",
        "location": {
            "lat": at.0, "lon": at.1, "accuracy_m": 6.5, "provider": "gps",
            "fix_time": "2026-11-28T09:29:50.000Z"
        },
        "attributes": {"size": "medium"},
        "photos": [],
        "reporter": reporter,
        "created_at": "2026-11-28T09:29:00.000Z",
        "submitted_at": "2026-11-28T09:30:00.000Z",
        "app_version": "test"
    })
}

/// A valid report in grid HS-A.
pub fn report(reporter: &str) -> Value {
    report_at(reporter, IN_A)
}

/// A valid report in grid HS-A of a category that needs no verification (`other/general`).
pub fn plain_report(reporter: &str) -> Value {
    let mut r = report(reporter);
    r["kind"] = json!("other");
    r["category"] = json!("general");
    r["attributes"] = json!({});
    r
}

/// Asserts an error response: status, `code`, and `field` when given; returns the body.
pub fn expect_error(resp: Response, status: u16, code: &str, field: Option<&str>) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    let body: Value = resp.json().expect("error body is JSON");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{body}");
    }
    body
}
