//! Reference documents, authentication, rate limiting, request ids, fallbacks, shutdown, and
//! the route table kept in step with the router and `docs/openapi.yaml`.

mod common;

use common::*;
use gridline_protocol::Timestamp;
use gridline_server::admin::{self, NewUser};
use gridline_server::{ROUTES, RateLimit, Role};
use reqwest::Method;
use serde_json::Value;

#[test]
fn health_catalog_grids_and_limits_with_etags() {
    let h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let health = h.http.get(h.url("/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);

    let limits: Value = h.get(&li, "/v1/limits").json().unwrap();
    assert_eq!(limits["protocol_version"], 1);
    assert_eq!(limits["max_reports_per_batch"], 500);
    assert!(limits["max_request_bytes"].as_u64().unwrap() > 0);
    assert!(limits["max_photo_bytes"].as_u64().unwrap() > 0);

    let conditional = |path: &str, etag: &str| {
        h.http
            .get(h.url(path))
            .bearer_auth(&li)
            .header("if-none-match", etag)
            .send()
            .unwrap()
    };
    let resp = h.get(&li, "/v1/catalog");
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let catalog: Value = resp.json().unwrap();
    assert_eq!(
        catalog["version"],
        gridline_protocol::Catalog::builtin().version
    );
    let resp = conditional("/v1/catalog", &etag);
    assert_eq!(resp.status(), 304);
    assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(conditional("/v1/catalog", "\"other\"").status(), 200);

    let resp = h.get(&li, "/v1/grids");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/geo+json");
    let grids_etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let grids: Value = resp.json().unwrap();
    assert_eq!(grids["type"], "FeatureCollection");
    assert_eq!(grids["features"].as_array().unwrap().len(), 2);
    assert_eq!(grids["features"][0]["properties"]["id"], "HS-A");
    assert_eq!(conditional("/v1/grids", &grids_etag).status(), 304);

    // A new supervisor changes the published document (and so its ETag).
    h.user("wang", Role::Supervisor, &["HS-A"]);
    let resp = conditional("/v1/grids", &grids_etag);
    assert_eq!(resp.status(), 200);
    let grids: Value = resp.json().unwrap();
    assert_eq!(grids["features"][0]["properties"]["supervisors"][0], "wang");
    // Re-importing replaces the grids; the running server picks them up.
    admin::import_grids(
        &h.storage,
        &GRIDS
            .replace("HS-A", "HS-C")
            .replace("Gulou West", "Tianyi"),
    )
    .unwrap();
    let grids: Value = h.get(&li, "/v1/grids").json().unwrap();
    assert_eq!(grids["features"][1]["properties"]["id"], "HS-C");
    let t = h.file(&li, &report("li"));
    let t: Value = h.get(&li, &format!("/v1/tickets/{t}")).json().unwrap();
    assert_eq!(t["grid_id"], "HS-C");
}

#[test]
fn every_v1_route_needs_a_valid_unexpired_token() {
    let h = Harness::start();
    let expired = admin::add_user(
        &h.storage,
        &NewUser {
            name: "old".into(),
            role: Role::Rider,
            grids: vec![],
            expires_at: Some(Timestamp::from_millis(1)),
        },
    )
    .unwrap()
    .token;
    let sha = "a".repeat(64);
    for (method, template) in ROUTES.iter().filter(|(_, p)| p.starts_with("/v1/")) {
        let path = template.replace("{sha256}", &sha).replace("{id}", "T1");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let is_head = method == Method::HEAD;
        let send = |token: Option<&str>| {
            let mut req = h.request(method.clone(), &path);
            if let Some(t) = token {
                req = req.header("authorization", t);
            }
            req.send().unwrap()
        };
        for (token, code, challenge) in [
            (None, "unauthorized", "Bearer realm=\"gridline\""),
            (
                Some("Basic dXNlcjpwdw=="),
                "unauthorized",
                "Bearer realm=\"gridline\", error=\"invalid_token\"",
            ),
            (
                Some("Bearer glt_nope"),
                "unauthorized",
                "Bearer realm=\"gridline\", error=\"invalid_token\"",
            ),
            (
                Some(&format!("Bearer {expired}")),
                "token_expired",
                "Bearer realm=\"gridline\", error=\"invalid_token\"",
            ),
        ] {
            let resp = send(token);
            assert_eq!(resp.status(), 401, "{method} {path} {token:?}");
            assert_eq!(resp.headers()["www-authenticate"], challenge);
            if !is_head {
                expect_error(resp, 401, code, None);
            }
        }
    }
}

#[test]
fn add_user_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let storage = gridline_server::testing::storage(dir.path());
    let user = |name: &str, role, grids: Vec<String>| NewUser {
        name: name.into(),
        role,
        grids,
        expires_at: None,
    };
    assert!(admin::add_user(&storage, &user("", Role::Rider, vec![])).is_err());
    assert!(admin::add_user(&storage, &user("a\nb", Role::Rider, vec![])).is_err());
    assert!(admin::add_user(&storage, &user("sup", Role::Supervisor, vec![])).is_err());
    let first = admin::add_user(&storage, &user("li", Role::Rider, vec![])).unwrap();
    assert!(first.token.starts_with("glt_"));
    assert!(admin::add_user(&storage, &user("li", Role::Rider, vec![])).is_err());
    assert!(admin::import_grids(&storage, "{\"type\":\"Feature\"}").is_err());
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let h = Harness::start_with(|c| {
        c.rate_limit = Some(RateLimit {
            per_second: 0.01,
            burst: 3,
        })
    });
    let li = h.user("li", Role::Rider, &[]);
    let zhao = h.user("zhao", Role::Rider, &[]);
    for _ in 0..3 {
        assert_eq!(h.get(&li, "/v1/limits").status(), 200);
    }
    let resp = h.get(&li, "/v1/limits");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    expect_error(resp, 429, "rate_limited", None);
    assert_eq!(h.get(&zhao, "/v1/limits").status(), 200, "per token");
}

#[test]
fn request_ids_fallbacks_and_graceful_shutdown() {
    let mut h = Harness::start();
    let li = h.user("li", Role::Rider, &[]);
    let resp = h.get(&li, "/v1/limits");
    let id = resp.headers()["x-request-id"].to_str().unwrap();
    assert!(!id.is_empty());
    let resp = h
        .http
        .get(h.url("/v1/limits"))
        .bearer_auth(&li)
        .header("x-request-id", "rider-abc-123")
        .send()
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "rider-abc-123");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    // A request id that could forge log lines or fill them is replaced by the server's own.
    for hostile in ["a b c", &"x".repeat(200), "id<script>"] {
        let resp = h
            .http
            .get(h.url("/v1/limits"))
            .bearer_auth(&li)
            .header("x-request-id", hostile)
            .send()
            .unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, hostile);
        assert!(id.len() <= 64 && !id.is_empty());
    }

    expect_error(h.get(&li, "/v2/anything"), 404, "not_found", None);
    let resp = h
        .request(Method::DELETE, "/v1/tickets")
        .bearer_auth(&li)
        .send()
        .unwrap();
    expect_error(resp, 405, "method_not_allowed", None);

    // Every route in the table is served (answers something other than the fallback).
    let sha = "a".repeat(64);
    for (method, template) in ROUTES {
        let path = template.replace("{sha256}", &sha).replace("{id}", "T1");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = h
            .request(method.clone(), &path)
            .bearer_auth(&li)
            .send()
            .unwrap();
        if resp.status() == 404 && method != Method::HEAD {
            let body: Value = resp.json().unwrap();
            assert_ne!(
                body["message"], "no such endpoint",
                "{method} {path} is not routed"
            );
        }
    }

    let addr = h.server.as_ref().unwrap().addr();
    h.server.take().unwrap().shutdown().unwrap();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "stopped listening"
    );
}

#[test]
fn openapi_lists_every_route() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml"))
            .expect("docs/openapi.yaml exists");
    assert!(spec.starts_with("openapi: 3.1"), "OpenAPI 3.1");
    for (method, path) in ROUTES {
        let at = spec
            .find(&format!("\n  {path}:\n"))
            .unwrap_or_else(|| panic!("openapi.yaml lacks path {path}"));
        // Keep the newline before the first method so every method line starts with one.
        let rest = &spec[at + path.len() + 4..];
        let block = &rest[..rest.find("\n  /").unwrap_or(rest.len())];
        assert!(
            block.contains(&format!("\n    {method}:")),
            "openapi.yaml lacks {method} {path}"
        );
    }
}

#[test]
fn binds_and_runs_inside_a_callers_runtime() {
    // Built alongside the device core, reqwest carries rustls with no default provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bound = runtime
        .block_on(gridline_server::Server::bind(
            gridline_server::Config::with_storage(gridline_server::testing::storage(dir.path())),
        ))
        .unwrap();
    let addr = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = runtime.spawn(bound.run(async {
        let _ = stopped.await;
    }));
    let resp = reqwest::blocking::get(format!("http://{addr}/healthz")).unwrap();
    assert_eq!(resp.status(), 200);
    stop.send(()).unwrap();
    runtime.block_on(task).unwrap().unwrap();
}

/// Reads from `stream` until the server closes it; panics if it is still open after 5 s.
fn wait_until_closed(stream: &mut std::net::TcpStream) {
    use std::io::Read;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
}

#[test]
fn trickling_and_idle_connections_are_closed_and_the_cap_holds() {
    use std::io::Write;
    let h = Harness::start_with(|c| {
        c.connections.header_read_timeout = std::time::Duration::from_millis(400);
        c.connections.max_connections = 4;
    });
    let addr = h.server.as_ref().unwrap().addr();
    // Headers that never finish.
    let mut trickle = std::net::TcpStream::connect(addr).unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .unwrap();
    wait_until_closed(&mut trickle);
    // A keep-alive connection left idle after one answer.
    let mut idle = std::net::TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    wait_until_closed(&mut idle);
    // More silent connections than the cap: they are served in turn and time out, and the
    // server keeps answering.
    let silent: Vec<_> = (0..12)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let health = h.http.get(h.url("/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    drop(silent);
}

#[test]
fn plain_http_off_loopback_needs_a_tls_proxy_in_front() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = gridline_server::Config::new(dir.path());
    config.listen = "0.0.0.0:0".parse().unwrap();
    let err = gridline_server::Server::start(config).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("--behind-tls-proxy"), "{text}");
}

#[test]
fn plain_http_off_loopback_starts_when_said_to_be_behind_a_tls_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = gridline_server::Config::new(dir.path());
    config.listen = "0.0.0.0:0".parse().unwrap();
    config.behind_tls_proxy = true;
    let server = gridline_server::Server::start(config).unwrap();
    let port = server.addr().port();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::blocking::get(format!("http://127.0.0.1:{port}/healthz")).unwrap();
    assert_eq!(resp.status(), 200);
    server.shutdown().unwrap();
}
