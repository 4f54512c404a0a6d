//! The Open311 façade's intake of outside data: a `POST requests` form turned into a report and
//! admitted like a rider's, and the query strings of `GET requests` and
//! `GET servicerequestupdates`.

use gridline_protocol::{Report, Timestamp};
use gridline_server::account::{Role, User};
use gridline_server::open311::format::{Doc, Node};
use gridline_server::open311::intake::{Form, build_report};
use gridline_server::open311::requests::{MAX_PAGE_SIZE, RequestsQuery};
use gridline_server::open311::updates::UpdatesQuery;
use gridline_server::store::Open311Client;

use crate::wire::server;

/// Input: a form body, optionally followed by a `0xFF` byte and a query string. A form that
/// parses and builds a report must build the same report id again (the idempotency key), and a
/// report the intake admits must read back from its canonical JSON and validate again; a query
/// that parses gives a bounded page and an ordered window; text written as XML never opens
/// markup.
pub fn requests(data: &[u8]) {
    let (form_part, query_part) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let s = server();
    let now = Timestamp::from_millis(1_800_000_000_000);
    let client = Open311Client {
        id: 1,
        name: "fuzz".into(),
        user: User {
            id: 1,
            name: "open311:fuzz".into(),
            role: Role::Rider,
            grids: vec![],
        },
        created_at: now,
    };
    if let Ok(form) = Form::parse(form_part) {
        if let Some(text) = form.get("description") {
            let xml = Doc {
                root: "d",
                body: Node::Text(text.to_string()),
            }
            .to_xml();
            let inner = &xml[xml.find("<d>").map_or(0, |i| i + 3)..xml.len().saturating_sub(4)];
            assert!(!inner.contains('<'), "text opened markup: {xml}");
        }
        if let Ok((report, digest)) = build_report(&s.catalog, &client, &form, now) {
            let (again, digest_again) =
                build_report(&s.catalog, &client, &form, now).expect("the same form builds");
            assert_eq!((report.id, digest), (again.id, digest_again));
            assert_eq!(report.id.get_version_num(), 7);
            if let Ok(sub) =
                gridline_server::admit_report(&s.catalog, &s.limits, &s.grids, report, now)
            {
                let back: Report = serde_json::from_str(&sub.canonical_json)
                    .unwrap_or_else(|e| panic!("stored JSON does not read back: {e}"));
                assert_eq!(back, sub.report);
                s.catalog
                    .validate_report(&back)
                    .unwrap_or_else(|e| panic!("an admitted report fails validation: {e:?}"));
            }
        }
    }
    if let Some(query) = query_part {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Ok(q) = RequestsQuery::parse(&pairs) {
            let filter = q.filter(vec![], now);
            assert!((1..=MAX_PAGE_SIZE).contains(&filter.limit));
            if let (Some(since), Some(until)) = (filter.since, filter.until) {
                assert!(since <= until);
            }
        }
        if let Ok(q) = UpdatesQuery::parse(&pairs, now) {
            assert!(q.start <= q.end && q.limit >= 1);
        }
    }
}
