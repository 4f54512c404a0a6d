//! The wire decoders: the server's batch intake, and the answers a device decodes.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::OnceLock;

use gridline_protocol::wire::{BatchResponse, ChangesPage, ErrorBody, Limits, Ticket, TicketPage};
use gridline_protocol::{Catalog, Report, Timestamp};
use gridline_server::grids::{self, rtree_locator_factory};
use gridline_server::state::{GridSnapshot, Published};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Two grids around Hangzhou's West Lake, so reports get located like on a real server.
const GRIDS: &str = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","id":"HZ-01","properties":{"name":"North"},"geometry":{"type":"Polygon",
 "coordinates":[[[120.10,30.25],[120.20,30.25],[120.20,30.30],[120.10,30.30],[120.10,30.25]]]}},
{"type":"Feature","id":"HZ-02","properties":{"name":"South"},"geometry":{"type":"MultiPolygon",
 "coordinates":[[[[120.10,30.20],[120.20,30.20],[120.20,30.25],[120.10,30.25],[120.10,30.20]],
 [[120.14,30.21],[120.16,30.21],[120.16,30.23],[120.14,30.23],[120.14,30.21]]]]}}]}"#;

/// The catalog, limits and grids a target's server has.
pub(crate) struct Server {
    pub(crate) catalog: Catalog,
    pub(crate) limits: Limits,
    pub(crate) grids: GridSnapshot,
}

/// The one server of the wire targets, built on first use.
pub(crate) fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let grids = grids::parse_geojson(GRIDS).expect("the target's own grids are valid");
        Server {
            catalog: Catalog::builtin(),
            limits: Limits::default(),
            grids: GridSnapshot {
                revision: 1,
                doc: Published::new(&serde_json::Value::Null).expect("null serialises"),
                locator: rtree_locator_factory()(&grids),
                ids: grids.iter().map(|g| g.id.clone()).collect::<HashSet<_>>(),
            },
        }
    })
}

/// The body of `POST /v1/reports:batch` through the server's own intake (envelope, per-report
/// parsing, catalog validation, grid lookup, canonical JSON). What it admits is stored as its
/// canonical JSON and served back in tickets: that text must read back as the same report and
/// pass validation again.
pub fn batch(data: &[u8]) {
    let s = server();
    // A fixed "now", so a corpus file means the same thing on every run.
    let now = Timestamp::from_millis(1_800_000_000_000);
    let Ok(admissions) = gridline_server::admit_batch(&s.catalog, &s.limits, &s.grids, data, now)
    else {
        return;
    };
    assert!(admissions.len() <= s.limits.max_reports_per_batch as usize);
    for submission in admissions.iter().flatten() {
        let again: Report = serde_json::from_str(&submission.canonical_json)
            .unwrap_or_else(|e| panic!("stored JSON does not read back: {e}"));
        assert_eq!(
            again, submission.report,
            "stored JSON reads back differently"
        );
        s.catalog
            .validate_report(&again)
            .unwrap_or_else(|e| panic!("stored report fails validation: {e:?}"));
        if let Some(g) = &submission.grid_id {
            assert!(s.grids.ids.contains(g), "unknown grid {g}");
        }
    }
}

/// Decodes `data` as `T` the way the device does; what decodes must survive a round trip.
fn decode<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let text = serde_json::to_vec(&value).expect("a decoded value serialises");
    let again: T = serde_json::from_slice(&text).unwrap_or_else(|e| {
        panic!(
            "re-encoded {} does not decode: {e}",
            std::any::type_name::<T>()
        )
    });
    assert_eq!(again, value, "round trip changed the value");
    Some(value)
}

/// Server answers as a device decodes them: the changes feed, ticket pages and tickets, batch
/// responses and error bodies. Every input is tried as each.
pub fn device(data: &[u8]) {
    if let Some(page) = decode::<ChangesPage>(data) {
        for change in &page.changes {
            let _ = change.event.status;
        }
    }
    if let Some(page) = decode::<TicketPage>(data) {
        for t in &page.tickets {
            let _ = t.status.is_final();
        }
    }
    let _ = decode::<Ticket>(data);
    if let Some(response) = decode::<BatchResponse>(data) {
        for r in &response.results {
            let _ = r.result.ticket_id();
        }
    }
    let _ = decode::<ErrorBody>(data);
}
