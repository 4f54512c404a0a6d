//! Reports for the end-to-end suites: a GPS fix and one-call filing of the common categories.

use std::path::Path;

use gridline_core::{Client, DraftPatch};
use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, ReportKind, Timestamp,
};
use uuid::Uuid;

/// A fresh GPS fix at (`lat`, `lon`) with 6 m accuracy.
pub fn fix(lat: f64, lon: f64) -> LocationFix {
    LocationFix {
        lat,
        lon,
        accuracy_m: 6.0,
        altitude_m: None,
        provider: LocationProvider::Gps,
        fix_time: Timestamp::now(),
        mock: false,
        source_crs: CoordSystem::Wgs84,
    }
}

/// Files (creates, fills, optionally photographs, submits) a report of `kind`/`category` with
/// one attribute at `(lat, lon)`; returns its id.
pub fn file(
    client: &Client,
    kind: ReportKind,
    category: &str,
    attribute: (&str, AttrValue),
    (lat, lon): (f64, f64),
    note: &str,
    photo: Option<&Path>,
) -> Uuid {
    let id = client.create_draft(kind).expect("draft").id;
    let patch = DraftPatch {
        category: Some(category.into()),
        note: Some(note.into()),
        location: Some(fix(lat, lon)),
        set_attributes: [(attribute.0.to_string(), attribute.1)].into(),
        ..Default::default()
    };
    client.update_draft(id, patch).expect("update");
    if let Some(p) = photo {
        client.attach_photo(id, p).expect("photo");
    }
    client.submit(id).expect("submit");
    id
}

/// Files a large pothole at (`lat`, `lon`).
pub fn pothole(client: &Client, lat: f64, lon: f64, note: &str, photo: Option<&Path>) -> Uuid {
    file(
        client,
        ReportKind::RoadDamage,
        "pothole",
        ("size", AttrValue::Text("large".into())),
        (lat, lon),
        note,
        photo,
    )
}

/// Files an overflowing kitchen-waste bin at (`lat`, `lon`).
pub fn overflowing_bin(
    client: &Client,
    lat: f64,
    lon: f64,
    note: &str,
    photo: Option<&Path>,
) -> Uuid {
    let kitchen = AttrValue::List(vec!["kitchen".into()]);
    file(
        client,
        ReportKind::GarbageSorting,
        "overflowing_bin",
        ("bin_types", kitchen),
        (lat, lon),
        note,
        photo,
    )
}
