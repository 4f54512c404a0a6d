//! Forwarding accepted tickets to an upstream Open311 system (issue #16 item 3) against a
//! hostile upstream started here on loopback: it drops the connection after accepting,
//! answers 500, answers a token instead of an id, and answers too late; it recognises a
//! repeated request by its body, as Gridline's own façade and the common servers do. Every
//! ticket must arrive exactly once (counted by our report id), a poison ticket is parked while
//! the others go through, a restart loses and duplicates nothing, and status changes made
//! upstream reach the rider's ticket history. Runs on SQLite, and on PostgreSQL + S3 when the
//! environment names them.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use gridline_server::config::{UpstreamConfig, UpstreamTiming};
use gridline_server::store::OutboxState;
use gridline_server::{Config, Role};
use serde_json::{Value, json};

/// How the upstream treats the first attempts of a request, by arrival order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// Stores it, then drops the connection without answering.
    DropAfterAccept,
    /// Answers 500 first.
    ServerError,
    /// Answers a token; the first token look-up finds nothing yet.
    Token,
    /// Stores it, then answers after the client gave up.
    Slow,
    /// Answers at once.
    None,
}

const FAULTS: [Fault; 5] = [
    Fault::DropAfterAccept,
    Fault::ServerError,
    Fault::Token,
    Fault::Slow,
    Fault::None,
];

#[derive(Default)]
struct City {
    /// Requests created, in order: (service_request_id, our report id).
    created: Vec<(String, String)>,
    /// Body → service_request_id: how a repeat is recognised.
    by_body: HashMap<String, String>,
    /// POSTs received per report id (including repeats and faults).
    posts: HashMap<String, u32>,
    /// First-arrival index per report id (chooses its fault).
    order: HashMap<String, usize>,
    /// token → (service_request_id, look-ups so far).
    tokens: HashMap<String, (String, u32)>,
    /// Updates served by `GET servicerequestupdates`.
    updates: Vec<Value>,
}

struct Upstream {
    city: Arc<Mutex<City>>,
    url: String,
}

fn form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn answer(stream: &mut TcpStream, status: u16, body: &Value) {
    let body = body.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn error(stream: &mut TcpStream, status: u16, text: &str) {
    answer(
        stream,
        status,
        &json!([{"code": status, "description": text}]),
    );
}

fn handle(city: &Mutex<City>, mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body).to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let params = form(if method == "POST" { &body } else { query });
    if params.get("api_key").map(String::as_str) != Some("city-key") {
        return error(&mut stream, 403, "bad api_key");
    }
    match (method.as_str(), path) {
        ("POST", "/v2/requests.json") => {
            let Some(report) = params.get("attribute[gridline_report_id]").cloned() else {
                return error(
                    &mut stream,
                    400,
                    "attribute[gridline_report_id] is required",
                );
            };
            if params.get("service_code").map(String::as_str) != Some("PH") {
                return error(&mut stream, 400, "service_code BOGUS is not a service here");
            }
            let (fault, posts, id) = {
                let mut c = city.lock().unwrap();
                let next = c.order.len();
                let index = *c.order.entry(report.clone()).or_insert(next);
                let posts = {
                    let n = c.posts.entry(report.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                let fault = FAULTS[index % FAULTS.len()];
                if fault == Fault::ServerError && posts == 1 {
                    (fault, posts, None)
                } else {
                    let id = match c.by_body.get(&body) {
                        Some(id) => id.clone(),
                        None => {
                            let id = format!("C-{}", c.created.len() + 1);
                            c.created.push((id.clone(), report.clone()));
                            c.by_body.insert(body.clone(), id.clone());
                            id
                        }
                    };
                    (fault, posts, Some(id))
                }
            };
            match (fault, posts, id) {
                (_, _, None) => error(&mut stream, 500, "database is down"),
                (Fault::DropAfterAccept, 1, _) => {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                }
                (Fault::Slow, 1, Some(id)) => {
                    std::thread::sleep(Duration::from_millis(1500));
                    answer(&mut stream, 201, &json!([{"service_request_id": id}]));
                }
                (Fault::Token, _, Some(id)) => {
                    let token = format!("T-{id}");
                    city.lock()
                        .unwrap()
                        .tokens
                        .entry(token.clone())
                        .or_insert((id, 0));
                    answer(&mut stream, 201, &json!([{"token": token}]));
                }
                (_, _, Some(id)) => answer(&mut stream, 201, &json!([{"service_request_id": id}])),
            }
        }
        ("GET", p) if p.starts_with("/v2/tokens/") => {
            let token = p
                .trim_start_matches("/v2/tokens/")
                .trim_end_matches(".json");
            let found = {
                let mut c = city.lock().unwrap();
                c.tokens.get_mut(token).map(|(id, asked)| {
                    *asked += 1;
                    (id.clone(), *asked)
                })
            };
            match found {
                None => error(&mut stream, 404, "no such token"),
                Some((_, 1)) => answer(&mut stream, 200, &json!([{"token": token}])),
                Some((id, _)) => answer(
                    &mut stream,
                    200,
                    &json!([{"token": token, "service_request_id": id}]),
                ),
            }
        }
        ("GET", "/v2/servicerequestupdates.json") => {
            let updates = city.lock().unwrap().updates.clone();
            answer(
                &mut stream,
                200,
                &json!({ "service_request_updates": updates }),
            );
        }
        _ => error(&mut stream, 404, "not found"),
    }
}

fn start_upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v2/", listener.local_addr().expect("addr"));
    let city = Arc::new(Mutex::new(City::default()));
    let shared = city.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let city = shared.clone();
            std::thread::spawn(move || handle(&city, stream));
        }
    });
    Upstream { city, url }
}

fn upstream_config(url: &str) -> UpstreamConfig {
    UpstreamConfig {
        name: "city".into(),
        url: url.into(),
        api_key: "city-key".into(),
        jurisdiction_id: None,
        service_codes: [
            ("pothole".to_string(), "PH".to_string()),
            ("general".to_string(), "BOGUS".to_string()),
        ]
        .into(),
        report_id_attribute: "gridline_report_id".into(),
        timing: UpstreamTiming {
            tick: Duration::from_millis(20),
            retry_first: Duration::from_millis(40),
            retry_max: Duration::from_millis(200),
            max_attempts: 30,
            request_timeout: Duration::from_millis(400),
            batch: 10,
            poll_every: Duration::from_millis(100),
            poll_overlap: Duration::from_secs(600),
        },
    }
}

/// Waits (bounded) until `done` holds, polling; panics naming `what` if it never does.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("never happened: {what}");
}

fn outbox(
    h: &Harness,
) -> (
    Vec<(OutboxState, u64)>,
    Vec<gridline_server::store::OutboxRow>,
) {
    let store = gridline_server::backends::open_store(&h.storage).expect("store");
    store
        .outbox_status(OutboxState::Parked, 100)
        .expect("status")
}

fn count(counts: &[(OutboxState, u64)], state: OutboxState) -> u64 {
    counts
        .iter()
        .find(|(s, _)| *s == state)
        .map_or(0, |(_, n)| *n)
}

fn accept(h: &Harness, sup: &str, id: &str) {
    let resp = h.act(sup, id, 1, json!({"action": "accept"}));
    assert_eq!(resp.status(), 200);
}

#[test]
fn every_ticket_arrives_once_the_poison_is_parked_and_status_comes_back() {
    let up = start_upstream();
    let config = upstream_config(&up.url);
    let with_upstream = |c: &mut Config| c.upstream = Some(config.clone());
    let mut h = Harness::start_with(with_upstream);
    let li = h.user("li", Role::Rider, &[]);
    let sup = h.user("wang", Role::Supervisor, &["HS-A"]);

    // Ten potholes and one poison ticket (a category the upstream refuses), plus a ticket
    // never accepted (not forwarded).
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(h.file(&li, &report("li")));
    }
    let poison = h.file(&li, &plain_report("li"));
    let unaccepted = h.file(&li, &report("li"));
    for id in ids.iter().take(6).chain([&poison]) {
        accept(&h, &sup, id);
    }
    // Some arrive, then the server restarts in the middle of the faults.
    eventually("some tickets sent before the restart", || {
        count(&outbox(&h).0, OutboxState::Sent) >= 2
    });
    h.restart_with(with_upstream);
    for id in ids.iter().skip(6) {
        accept(&h, &sup, id);
    }
    eventually("every accepted pothole sent and the poison parked", || {
        let (counts, parked) = outbox(&h);
        count(&counts, OutboxState::Sent) == 10 && parked.len() == 1
    });

    let (counts, parked) = outbox(&h);
    assert_eq!(count(&counts, OutboxState::Pending), 0, "{counts:?}");
    assert_eq!(count(&counts, OutboxState::Token), 0, "{counts:?}");
    let error = parked[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("BOGUS is not a service"), "{error}");
    // What `gridline server upstream status` shows.
    let status = gridline_server::admin::upstream_status(&h.storage).expect("status");
    assert_eq!(status.parked.len(), 1);
    assert_eq!(status.parked[0].0, poison);
    assert_eq!(
        status.counts.iter().map(|(_, n)| n).sum::<u64>(),
        11,
        "{:?}",
        status.counts
    );

    // Exactly once, counted by our report id; every fault was exercised.
    let report_ids: BTreeMap<String, String> = ids
        .iter()
        .map(|id| {
            let t: Value = h.get(&li, &format!("/v1/tickets/{id}")).json().unwrap();
            (t["report_id"].as_str().unwrap().to_string(), id.clone())
        })
        .collect();
    let unaccepted_report: Value = h
        .get(&li, &format!("/v1/tickets/{unaccepted}"))
        .json()
        .unwrap();
    let (created, posts, order, tokens) = {
        let c = up.city.lock().unwrap();
        (
            c.created.clone(),
            c.posts.clone(),
            c.order.clone(),
            c.tokens.clone(),
        )
    };
    // Every fault happened, and each one forced a repeat (a dropped or late answer, a 500) or
    // a second token look-up.
    for (report, index) in &order {
        let fault = FAULTS[index % FAULTS.len()];
        if matches!(
            fault,
            Fault::DropAfterAccept | Fault::ServerError | Fault::Slow
        ) {
            assert!(posts[report] >= 2, "{fault:?}: {posts:?}");
        }
    }
    assert!(!tokens.is_empty() && tokens.values().all(|(_, asked)| *asked >= 2));
    let mut arrivals: BTreeMap<String, u32> = BTreeMap::new();
    for (_, report) in &created {
        *arrivals.entry(report.clone()).or_default() += 1;
    }
    assert_eq!(arrivals.len(), 10, "{created:?}");
    assert!(arrivals.values().all(|n| *n == 1), "{arrivals:?}");
    assert!(report_ids.keys().all(|r| arrivals.contains_key(r)));
    assert!(!arrivals.contains_key(unaccepted_report["report_id"].as_str().unwrap()));
    assert!(
        posts.values().any(|n| *n > 1),
        "the faults forced repeats: {posts:?}"
    );

    // Status back: the upstream schedules and fixes the first ticket; an old update (moving
    // it back to OPEN) and the same update twice change nothing.
    let (first_upstream, first_report) = created[0].clone();
    let first = report_ids[&first_report].clone();
    let now = gridline_protocol::Timestamp::now();
    let at = |ms: i64| gridline_protocol::Timestamp::from_millis(now.as_millis() + ms).to_rfc3339();
    up.city.lock().unwrap().updates = vec![
        json!({"update_id": "u1", "service_request_id": first_upstream, "status": "ACTION_SCHEDULED",
               "updated_datetime": at(0), "description": "crew booked"}),
        json!({"update_id": "u2", "service_request_id": first_upstream, "status": "FIXED",
               "updated_datetime": at(1000), "description": "filled with asphalt"}),
        json!({"update_id": "u2", "service_request_id": first_upstream, "status": "FIXED",
               "updated_datetime": at(1000), "description": "filled with asphalt"}),
        json!({"update_id": "u0", "service_request_id": first_upstream, "status": "OPEN",
               "updated_datetime": at(-1000), "description": "received"}),
        json!({"update_id": "u9", "service_request_id": "C-unknown", "status": "FIXED",
               "updated_datetime": at(0), "description": "not ours"}),
    ];
    eventually("the upstream's fix reaches the rider", || {
        let t: Value = h.get(&li, &format!("/v1/tickets/{first}")).json().unwrap();
        t["status"] == "awaiting_verification"
    });
    // Several more polls see the same updates again.
    std::thread::sleep(Duration::from_millis(400));
    let t: Value = h.get(&li, &format!("/v1/tickets/{first}")).json().unwrap();
    assert_eq!(t["status"], "awaiting_verification", "{t}");
    let by_upstream: Vec<&Value> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["by"] == "upstream:city")
        .collect();
    assert_eq!(by_upstream.len(), 2, "{t}");
    assert_eq!(by_upstream[0]["status"], "dispatched");
    assert_eq!(by_upstream[1]["note"], "filled with asphalt");
    // The rider's changes feed carries it too.
    let feed: Value = h.get(&li, "/v1/changes?limit=500").json().unwrap();
    let text = feed.to_string();
    assert!(text.contains("upstream:city"), "{text}");
}
