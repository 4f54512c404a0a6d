//! The Open311 GeoReport v2 façade against a real server on loopback (both backends through
//! `gridline_server::testing`): documents in XML and JSON, errors in the spec's shape, API
//! keys and their limits, requests becoming tickets like riders' reports, and the listings.

mod common;

use common::{Harness, IN_A, IN_B};
use gridline_server::config::{Open311Config, RateLimit};
use gridline_server::{Role, admin};
use reqwest::blocking::Response;
use serde_json::{Value, json};

/// Reads an XML answer through a real parser; returns the text and the root element's name.
fn xml(resp: Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/xml"), "content type {ct}");
    let text = resp.text().unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut root = None;
    let mut depth = 0i32;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) => {
                if depth == 0 {
                    root = Some(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                }
                depth += 1;
            }
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "{text}");
    (status, root.expect("a root element"), text)
}

fn json_of(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    (status, resp.json().unwrap())
}

/// Asserts an Open311 error in both formats: the status, and `[{code, description}]`.
fn expect_errors(h: &Harness, path: &str, status: u16) {
    let (s, body) = json_of(
        h.request(reqwest::Method::GET, &json_path(path))
            .send()
            .unwrap(),
    );
    assert_eq!(s, status, "{path}: {body}");
    assert_eq!(body[0]["code"], status, "{body}");
    assert!(
        body[0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (s, root, text) = xml(h
        .request(reqwest::Method::GET, &xml_path(path))
        .send()
        .unwrap());
    assert_eq!((s, root.as_str()), (status, "errors"), "{text}");
    assert!(
        text.contains(&format!("<error><code>{status}</code><description>")),
        "{text}"
    );
}

fn json_path(path: &str) -> String {
    path.replacen("{f}", "json", 1)
}

fn xml_path(path: &str) -> String {
    path.replacen("{f}", "xml", 1)
}

fn get_json(h: &Harness, path: &str) -> Value {
    let (status, body) = json_of(
        h.request(reqwest::Method::GET, &json_path(path))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn post_form(h: &Harness, format: &str, form: &[(&str, &str)]) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    h.request(
        reqwest::Method::POST,
        &format!("/open311/v2/requests.{format}"),
    )
    .header("content-type", "application/x-www-form-urlencoded")
    .body(body)
    .send()
    .unwrap()
}

/// Posts a request in JSON and returns (status, body).
fn post(h: &Harness, form: &[(&str, &str)]) -> (u16, Value) {
    json_of(post_form(h, "json", form))
}

fn pothole<'a>(
    key: &'a str,
    lat: &'a str,
    long: &'a str,
    text: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("api_key", key),
        ("service_code", "pothole"),
        ("lat", lat),
        ("long", long),
        ("attribute[size]", "large"),
        ("description", text),
        ("email", "citizen@example.org"),
        ("first_name", "Mei"),
    ]
}

fn client(h: &Harness, name: &str) -> String {
    admin::add_open311_client(&h.storage, name).unwrap().api_key
}

#[test]
fn read_endpoints_answer_in_xml_and_json_with_errors_in_the_specs_shape() {
    let h = Harness::start();
    let services = get_json(&h, "/open311/v2/services.{f}");
    let codes: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"pothole") && codes.contains(&"overflowing_bin"));
    assert!(!codes.contains(&"street_talk"), "outreach is not a service");
    let pothole = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "pothole")
        .unwrap();
    assert_eq!(pothole["metadata"], true);
    assert_eq!(pothole["type"], "realtime");
    assert_eq!(pothole["group"], "Road damage");
    let (status, root, text) = xml(h
        .request(reqwest::Method::GET, "/open311/v2/services.xml")
        .send()
        .unwrap());
    assert_eq!((status, root.as_str()), (200, "services"));
    assert!(
        text.contains("<service><service_code>pothole</service_code>"),
        "{text}"
    );

    let def = get_json(&h, "/open311/v2/services/pothole.{f}");
    assert_eq!(def["service_code"], "pothole");
    let size = &def["attributes"][0];
    assert_eq!(size["code"], "size");
    assert_eq!(size["datatype"], "singlevaluelist");
    assert_eq!(size["required"], true);
    assert_eq!(size["order"], 1);
    assert_eq!(size["variable"], true);
    assert!(
        size["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["key"] == "large")
    );
    let (status, root, text) = xml(h
        .request(reqwest::Method::GET, "/open311/v2/services/pothole.xml")
        .send()
        .unwrap());
    assert_eq!((status, root.as_str()), (200, "service_definition"));
    assert!(text.contains("<attributes><attribute><variable>true</variable><code>size</code>"));
    let multi = get_json(&h, "/open311/v2/services/overflowing_bin.{f}");
    assert_eq!(multi["attributes"][0]["datatype"], "multivaluelist");

    let disco = get_json(&h, "/open311/v2/discovery.{f}");
    assert_eq!(
        disco["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(
        disco["endpoints"][0]["url"],
        format!("{}/open311/v2/", h.base)
    );
    assert_eq!(
        disco["endpoints"][0]["formats"],
        json!(["text/xml", "application/json"])
    );
    let (status, root, text) = xml(h
        .request(reqwest::Method::GET, "/open311/v2/discovery.xml")
        .send()
        .unwrap());
    assert_eq!((status, root.as_str()), (200, "discovery"));
    assert!(
        text.contains(
            "<formats><format>text/xml</format><format>application/json</format></formats>"
        )
    );

    expect_errors(&h, "/open311/v2/services/no_such_thing.{f}", 404);
    expect_errors(&h, "/open311/v2/services/street_talk.{f}", 404);
    expect_errors(&h, "/open311/v2/services.{f}?colour=red", 400);
    expect_errors(
        &h,
        "/open311/v2/services.{f}?jurisdiction_id=elsewhere",
        404,
    );
    expect_errors(&h, "/open311/v2/requests/T999999.{f}", 404);
    expect_errors(&h, "/open311/v2/requests/%3Cscript%3E.{f}", 404);
    expect_errors(&h, "/open311/v2/tokens/12345.{f}", 404);
    expect_errors(&h, "/open311/v2/nothing.{f}", 404);
    let admin = h.user("admin", Role::Admin, &[]);
    let metrics = h.get(&admin, "/metrics").text().unwrap();
    assert!(
        metrics.contains("GET /open311/v2/services.json"),
        "routes are counted"
    );
    // Without a format the answer is the spec's default, XML.
    let (status, root, _) = xml(h
        .request(reqwest::Method::GET, "/open311/v2/services/pothole")
        .send()
        .unwrap());
    assert_eq!((status, root.as_str()), (404, "errors"));
}

#[test]
fn a_configured_jurisdiction_is_accepted_and_others_are_not_found() {
    let h = Harness::start_with(|c| {
        c.open311 = Open311Config {
            jurisdiction_id: Some("ningbo.gov.cn".into()),
            public_url: Some("https://grid.example.gov/".into()),
            ..Open311Config::default()
        }
    });
    get_json(&h, "/open311/v2/services.{f}?jurisdiction_id=ningbo.gov.cn");
    get_json(&h, "/open311/v2/services.{f}");
    expect_errors(
        &h,
        "/open311/v2/services.{f}?jurisdiction_id=hangzhou.gov.cn",
        404,
    );
    let disco = get_json(&h, "/open311/v2/discovery.{f}");
    assert_eq!(
        disco["endpoints"][0]["url"],
        "https://grid.example.gov/open311/v2/"
    );
    let key = client(&h, "app");
    let mut form = pothole(&key, "29.865", "121.545", "hole");
    form.push(("jurisdiction_id", "hangzhou.gov.cn"));
    assert_eq!(post(&h, &form).0, 404);
    form.pop();
    form.push(("jurisdiction_id", "ningbo.gov.cn"));
    assert_eq!(post(&h, &form).0, 200);
}

#[test]
fn a_request_becomes_a_ticket_of_the_grids_supervisor_once() {
    let h = Harness::start();
    let key = client(&h, "civic-app");
    let sup_a = h.user("sup.a", Role::Supervisor, &["HS-A"]);
    let sup_b = h.user("sup.b", Role::Supervisor, &["HS-B"]);
    let (lat, lon) = (IN_A.0.to_string(), IN_A.1.to_string());
    let form = pothole(&key, &lat, &lon, "Deep hole at the corner");
    let (status, body) = post(&h, &form);
    assert_eq!(status, 200, "{body}");
    let id = body[0]["service_request_id"].as_str().unwrap().to_string();
    assert!(body[0]["service_notice"].as_str().is_some());

    let seen = h.all_tickets(&sup_a);
    assert_eq!(seen.len(), 1);
    let ticket = &seen[0];
    assert_eq!(ticket["id"], id.as_str());
    assert_eq!(ticket["grid_id"], "HS-A");
    assert_eq!(ticket["submitted_by"], "open311:civic-app", "the channel");
    assert_eq!(ticket["category"], "pothole");
    assert_eq!(ticket["attributes"]["size"], "large");
    assert!(ticket["note"].as_str().unwrap().starts_with("Deep hole"));
    assert!(
        !ticket.to_string().contains("citizen@example.org"),
        "contact is not stored"
    );
    assert!(h.all_tickets(&sup_b).is_empty());
    let feed: Value = h.get(&sup_a, "/v1/changes").json().unwrap();
    assert_eq!(feed["changes"][0]["ticket_id"], id.as_str());

    // The same request again, fields in another order and a retried XML call: the same id.
    let mut reordered = form.clone();
    reordered.reverse();
    let (status, again) = post(&h, &reordered);
    assert_eq!(status, 200);
    assert_eq!(again[0]["service_request_id"], id.as_str());
    let (status, root, text) = xml(post_form(&h, "xml", &form));
    assert_eq!((status, root.as_str()), (200, "service_requests"));
    assert!(
        text.contains(&format!("<service_request_id>{id}</service_request_id>")),
        "{text}"
    );
    assert_eq!(h.all_tickets(&sup_a).len(), 1, "never a duplicate");

    // Different content, or another client sending the same, is a new request.
    let (_, other) = post(&h, &pothole(&key, &lat, &lon, "Another hole"));
    assert_ne!(other[0]["service_request_id"], id.as_str());
    let key2 = client(&h, "city-hotline");
    let (_, theirs) = post(&h, &pothole(&key2, &lat, &lon, "Deep hole at the corner"));
    assert_ne!(theirs[0]["service_request_id"], id.as_str());
    assert_eq!(h.all_tickets(&sup_a).len(), 3);

    // A point in grid B goes to grid B's supervisor.
    let (lat_b, lon_b) = (IN_B.0.to_string(), IN_B.1.to_string());
    let (status, _) = post(&h, &pothole(&key, &lat_b, &lon_b, "East side"));
    assert_eq!(status, 200);
    assert_eq!(h.all_tickets(&sup_b).len(), 1);

    // A multi-value attribute, both ways of sending it.
    let bins = [
        ("api_key", key.as_str()),
        ("service_code", "overflowing_bin"),
        ("lat", lat.as_str()),
        ("long", lon.as_str()),
        ("attribute[bin_types][]", "kitchen"),
        ("attribute[bin_types][]", "recyclable"),
    ];
    let (status, body) = post(&h, &bins);
    assert_eq!(status, 200, "{body}");

    let clients = admin::open311_clients(&h.storage).unwrap();
    let names: Vec<&str> = clients.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["city-hotline", "civic-app"]);
    assert!(
        admin::add_open311_client(&h.storage, "civic-app").is_err(),
        "names are unique"
    );
    assert!(admin::add_open311_client(&h.storage, " ").is_err());
}

#[test]
fn hostile_requests_are_refused_in_the_specs_shape() {
    let h = Harness::start();
    let key = client(&h, "app");
    let (lat, lon) = (IN_A.0.to_string(), IN_A.1.to_string());
    let base = pothole(&key, &lat, &lon, "hole");
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = base.clone();
        f.extend_from_slice(extra);
        f
    };
    let without = |name: &str| -> Vec<(&str, &str)> {
        base.iter().copied().filter(|(n, _)| *n != name).collect()
    };
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (without("api_key"), 403),
        (
            with(&[])
                .into_iter()
                .map(|(n, v)| {
                    if n == "api_key" {
                        (n, "o311_wrong")
                    } else {
                        (n, v)
                    }
                })
                .collect(),
            403,
        ),
        (without("service_code"), 400),
        (with(&[("colour", "red")]), 400),
        (with(&[("lat", "1")]), 400),
        (with(&[("attribute[depth_cm]", "deep")]), 400),
        (with(&[("attribute[nope]", "x")]), 400),
        (with(&[("attribute[size][x]", "x")]), 400),
        (without("attribute[size]"), 400),
        (without("lat"), 400),
        (
            without("lat")
                .into_iter()
                .filter(|(n, _)| *n != "long")
                .chain([("address_string", "1 Main St")])
                .collect(),
            400,
        ),
        (
            with(&[("email", "not-an-email")])
                .into_iter()
                .filter(|&(n, v)| n != "email" || v == "not-an-email")
                .collect(),
            400,
        ),
        (with(&[("media_url", "javascript:alert(1)")]), 400),
        (
            with(&[("description", "bidi\u{202E}text")])
                .into_iter()
                .filter(|&(n, v)| n != "description" || v != "hole")
                .collect(),
            400,
        ),
    ];
    for (form, status) in cases {
        let (s, body) = post(&h, &form);
        assert_eq!(s, status, "{form:?}: {body}");
        assert_eq!(body[0]["code"], status);
    }
    // Unknown service; outside every grid; NaN; not a form; too large.
    let mut unknown = base.clone();
    unknown[1] = ("service_code", "teleport");
    assert_eq!(post(&h, &unknown).0, 404);
    assert_eq!(post(&h, &pothole(&key, "0", "0", "far away")).0, 400);
    assert_eq!(post(&h, &pothole(&key, "NaN", "121.5", "x")).0, 400);
    let (s, body) = json_of(
        h.request(reqwest::Method::POST, "/open311/v2/requests.json")
            .json(&json!({"api_key": key}))
            .send()
            .unwrap(),
    );
    assert_eq!((s, body[0]["code"].as_u64()), (400, Some(400)));
    let long = "x".repeat(3_000);
    assert_eq!(
        post(&h, &pothole(&key, &lat, &lon, &long)).0,
        400,
        "longer than a note"
    );
    let (s, root, _) = xml(post_form(&h, "xml", &without("api_key")));
    assert_eq!((s, root.as_str()), (403, "errors"));
    assert!(
        h.all_tickets(&h.user("admin", Role::Admin, &[])).is_empty(),
        "nothing was stored"
    );
}

#[test]
fn bad_keys_and_busy_keys_are_limited_apart() {
    let h = Harness::start_with(|c| {
        c.open311.key_failure_limit = Some(RateLimit {
            per_second: 0.001,
            burst: 3,
        });
        c.open311.key_rate_limit = Some(RateLimit {
            per_second: 0.001,
            burst: 2,
        });
    });
    let key = client(&h, "app");
    let (lat, lon) = (IN_A.0.to_string(), IN_A.1.to_string());
    for i in 0..2 {
        let text = format!("hole {i}");
        assert_eq!(post(&h, &pothole(&key, &lat, &lon, &text)).0, 200);
    }
    let resp = post_form(&h, "json", &pothole(&key, &lat, &lon, "hole 3"));
    assert_eq!(resp.status(), 429, "the key is over its rate");
    assert!(resp.headers().contains_key("retry-after"));
    let other = client(&h, "other");
    assert_eq!(
        post(&h, &pothole(&other, &lat, &lon, "x")).0,
        200,
        "keys are limited apart"
    );
    for _ in 0..3 {
        assert_eq!(post(&h, &pothole("o311_guess", &lat, &lon, "x")).0, 403);
    }
    let (s, body) = post(&h, &pothole("o311_guess", &lat, &lon, "x"));
    assert_eq!((s, body[0]["code"].as_u64()), (429, Some(429)), "{body}");
    // Reading needs no key and is not limited by failed keys.
    get_json(&h, "/open311/v2/services.{f}");
}

#[test]
fn tickets_are_listed_as_service_requests_with_the_specs_filters() {
    let h = Harness::start();
    let key = client(&h, "app");
    let rider = h.user("li", Role::Rider, &[]);
    let sup = h.user("sup.a", Role::Supervisor, &["HS-A"]);
    let (lat, lon) = (IN_A.0.to_string(), IN_A.1.to_string());
    let mut ids = Vec::new();
    for text in ["first", "second", "third"] {
        let (status, body) = post(&h, &pothole(&key, &lat, &lon, text));
        assert_eq!(status, 200);
        ids.push(body[0]["service_request_id"].as_str().unwrap().to_string());
    }
    let bin = [
        ("api_key", key.as_str()),
        ("service_code", "exposed_garbage"),
        ("lat", lat.as_str()),
        ("long", lon.as_str()),
        ("attribute[volume]", "bag"),
    ];
    let (_, body) = post(&h, &bin);
    let bin_id = body[0]["service_request_id"].as_str().unwrap().to_string();
    let rider_ticket = h.file(&rider, &common::report("li"));
    let mut outreach = common::report("li");
    outreach["kind"] = json!("anti_fraud_outreach");
    outreach["category"] = json!("leaflet_drive");
    outreach["attributes"] = json!({});
    outreach["outreach"] =
        json!({"people_reached": 5, "materials_handed_out": 5, "venue_type": "shop"});
    let outreach_ticket = h.file(&rider, &outreach);

    // Triage: reject the first, resolve the second.
    let act = |id: &str, version: u64, action: Value| {
        assert_eq!(h.act(&sup, id, version, action).status(), 200);
    };
    act(
        &ids[0],
        1,
        json!({"action": "reject", "reason": "private land"}),
    );
    act(&ids[1], 1, json!({"action": "accept"}));
    act(&ids[1], 2, json!({"action": "resolve", "note": "filled"}));

    let all = get_json(&h, "/open311/v2/requests.{f}");
    let listed: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 5, "{all}");
    assert_eq!(listed[0], rider_ticket, "newest first");
    assert!(
        !listed.contains(&outreach_ticket.as_str()),
        "outreach is not a service request"
    );
    let first = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == ids[0].as_str())
        .unwrap();
    assert_eq!(first["status"], "closed");
    assert_eq!(first["status_notes"], "not a case: private land");
    assert_eq!(first["service_code"], "pothole");
    assert_eq!(first["service_name"], "Pothole");
    assert_eq!(first["description"], "first");
    assert_eq!(first["lat"].as_f64(), Some(IN_A.0));
    assert_eq!(first["long"].as_f64(), Some(IN_A.1));
    assert!(first["requested_datetime"].as_str().unwrap().ends_with('Z'));
    let theirs = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == rider_ticket.as_str())
        .unwrap();
    assert_eq!(
        theirs["description"],
        Value::Null,
        "a rider's work note is not published"
    );

    // A resolved pothole waits for a rider's on-the-spot check (核查): still open.
    let waiting = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == ids[1].as_str())
        .unwrap();
    assert_eq!(waiting["status"], "open");
    assert!(
        waiting["status_notes"]
            .as_str()
            .unwrap()
            .contains("on-the-spot check"),
        "{waiting}"
    );
    let open = get_json(&h, "/open311/v2/requests.{f}?status=open");
    assert_eq!(open.as_array().unwrap().len(), 4);
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "open")
    );
    let closed = get_json(&h, "/open311/v2/requests.{f}?status=closed");
    assert_eq!(closed.as_array().unwrap().len(), 1);
    let bins = get_json(&h, "/open311/v2/requests.{f}?service_code=exposed_garbage");
    assert_eq!(bins[0]["service_request_id"], bin_id.as_str());
    assert_eq!(bins.as_array().unwrap().len(), 1);
    let chosen = get_json(
        &h,
        &format!(
            "/open311/v2/requests.{{f}}?service_request_id={},{},T77777,junk,{outreach_ticket}",
            ids[0], ids[2]
        ),
    );
    assert_eq!(chosen.as_array().unwrap().len(), 2);
    let page1 = get_json(&h, "/open311/v2/requests.{f}?page_size=2&page=1");
    let page3 = get_json(&h, "/open311/v2/requests.{f}?page_size=2&page=3");
    assert_eq!(page1.as_array().unwrap().len(), 2);
    assert_eq!(page3.as_array().unwrap().len(), 1);
    assert_eq!(
        page3[0]["service_request_id"],
        ids[0].as_str(),
        "oldest last"
    );
    let future = get_json(
        &h,
        "/open311/v2/requests.{f}?start_date=2099-01-01T00:00:00Z",
    );
    assert!(future.as_array().unwrap().is_empty());
    let past = get_json(
        &h,
        "/open311/v2/requests.{f}?end_date=2020-01-01T00:00:00%2B08:00",
    );
    assert!(
        past.as_array().unwrap().is_empty(),
        "the window is 90 days before end_date"
    );
    expect_errors(&h, "/open311/v2/requests.{f}?status=pending", 400);
    expect_errors(
        &h,
        "/open311/v2/requests.{f}?start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z",
        400,
    );
    expect_errors(&h, "/open311/v2/requests.{f}?page_size=5000", 400);
    expect_errors(&h, "/open311/v2/requests.{f}?start_date=tomorrow", 400);

    let one = get_json(&h, &format!("/open311/v2/requests/{}.{{f}}", ids[1]));
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["status"], "open");
    assert_eq!(
        one[0]["status_notes"],
        "handled by the department, waiting for an on-the-spot check: filled"
    );
    expect_errors(
        &h,
        &format!("/open311/v2/requests/{outreach_ticket}.{{f}}"),
        404,
    );
    let (status, root, text) = xml(h
        .request(
            reqwest::Method::GET,
            &format!("/open311/v2/requests/{}.xml", ids[1]),
        )
        .send()
        .unwrap());
    assert_eq!((status, root.as_str()), (200, "service_requests"));
    assert!(text.contains("<status>open</status>"), "{text}");
    let (_, root, _) = xml(h
        .request(reqwest::Method::GET, "/open311/v2/requests.xml")
        .send()
        .unwrap());
    assert_eq!(root, "service_requests");

    // The FixMyStreet extension: every transition, in feed order, detailed.
    let updates = get_json(&h, "/open311/v2/servicerequestupdates.{f}");
    let of = |id: &str| -> Vec<(String, String)> {
        updates
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["service_request_id"] == id)
            .map(|u| {
                (
                    u["status"].as_str().unwrap().to_string(),
                    u["external_status_code"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        of(&ids[1]),
        pairs(&[
            ("OPEN", "submitted"),
            ("INVESTIGATING", "accepted"),
            ("IN_PROGRESS", "awaiting_verification")
        ])
    );
    assert_eq!(
        of(&ids[0]),
        pairs(&[("OPEN", "submitted"), ("NO_FURTHER_ACTION", "rejected")])
    );
    assert!(of(&outreach_ticket).is_empty());
    let last = updates.as_array().unwrap().last().unwrap()["update_id"]
        .as_str()
        .unwrap()
        .to_string();
    let after = get_json(
        &h,
        &format!("/open311/v2/servicerequestupdates.{{f}}?after={last}"),
    );
    assert!(after.as_array().unwrap().is_empty());
    let (_, root, text) = xml(h
        .request(
            reqwest::Method::GET,
            "/open311/v2/servicerequestupdates.xml",
        )
        .send()
        .unwrap());
    assert_eq!(root, "service_request_updates");
    assert!(text.contains("<request_update><update_id>"), "{text}");
    expect_errors(&h, "/open311/v2/servicerequestupdates.{f}?after=%00", 400);
}
