//! The triage console's server side: `GET /v1/me` and `GET /v1/departments` (documented
//! endpoints the console relies on), and the embedded files under `/console/` with their
//! Content-Security-Policy. The console itself is tested in Chromium by
//! `scripts/test-console` (server/console/tests/).

mod common;

use common::Harness;
use gridline_server::Role;
use serde_json::{Value, json};

#[test]
fn me_says_who_the_token_belongs_to() {
    let h = Harness::start();
    let rider = h.user("li", Role::Rider, &[]);
    let sup = h.user("wang", Role::Supervisor, &["HS-A", "HS-B"]);
    let admin = h.user("root", Role::Admin, &[]);
    let me = |token: &str| -> Value {
        let resp = h.get(token, "/v1/me");
        assert_eq!(resp.status(), 200);
        resp.json().unwrap()
    };
    assert_eq!(
        me(&rider),
        json!({"name": "li", "role": "rider", "grids": []})
    );
    let wang = me(&sup);
    assert_eq!(wang["role"], "supervisor");
    let mut grids: Vec<String> = serde_json::from_value(wang["grids"].clone()).unwrap();
    grids.sort();
    assert_eq!(grids, ["HS-A", "HS-B"]);
    assert_eq!(me(&admin)["role"], "admin");
    common::expect_error(h.get("glt_nope", "/v1/me"), 401, "unauthorized", None);
}

#[test]
fn departments_are_the_configured_list_in_order() {
    let h = Harness::start();
    let sup = h.user("wang", Role::Supervisor, &["HS-A"]);
    let resp = h.get(&sup, "/v1/departments");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().unwrap(), json!({"departments": []}));

    let names = ["市政养护", "环卫所 sanitation"];
    let h = Harness::start_with(|c| c.departments = names.iter().map(|s| s.to_string()).collect());
    let rider = h.user("li", Role::Rider, &[]);
    let resp = h.get(&rider, "/v1/departments");
    assert_eq!(resp.json::<Value>().unwrap(), json!({"departments": names}));
}

#[test]
fn a_bad_department_list_fails_startup() {
    for bad in [vec![""], vec!["a\nb"], vec!["same", "same"]] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = gridline_server::Config::new(dir.path());
        config.departments = bad.iter().map(|s| s.to_string()).collect();
        let err = gridline_server::Server::start(config).unwrap_err();
        assert!(err.to_string().contains("departments."), "{bad:?}: {err}");
    }
}

#[test]
fn the_console_is_served_with_a_strict_policy() {
    let h = Harness::start();
    let get = |path: &str| h.http.get(h.url(path)).send().unwrap();

    // /console redirects to /console/, which is the page.
    let no_follow = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_follow.get(h.url("/console")).send().unwrap();
    assert_eq!(resp.status(), 308);
    assert_eq!(resp.headers()["location"], "/console/");

    let page = get("/console/");
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert_eq!(csp, gridline_server::console::CSP);
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive}");
    }
    assert!(!csp.contains("unsafe"), "no unsafe-inline or unsafe-eval");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-cache");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let html = page.text().unwrap();
    assert!(html.contains(r#"<script type="module" src="js/app.js"></script>"#));

    // Revalidation answers 304 with the same policy.
    let again = h
        .http
        .get(h.url("/console/"))
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.headers().contains_key("content-security-policy"));

    // Every embedded file is served with its type; nothing else is.
    for (path, mime, bytes) in gridline_server::console::ASSETS {
        let resp = get(&format!("/console/{path}"));
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], *mime, "{path}");
        assert!(resp.headers().contains_key("content-security-policy"));
        assert_eq!(&resp.bytes().unwrap()[..], *bytes, "{path}");
    }
    for missing in [
        "/console/nope.js",
        "/console/js%2f..%2findex.html",
        "/console/js/",
    ] {
        let resp = get(missing);
        assert_eq!(resp.status(), 404, "{missing}");
        assert!(resp.headers().contains_key("content-security-policy"));
    }
}
