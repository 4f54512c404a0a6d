use std::sync::atomic::{AtomicI64, Ordering};

use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, Outreach, VenueType,
};

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    client: Client,
}

static NOW: AtomicI64 = AtomicI64::new(1_764_300_000_000);

fn config(path: &std::path::Path) -> ClientConfig {
    ClientConfig {
        db_path: path.to_path_buf(),
        reporter: "rider-7".into(),
        app_version: "test".into(),
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gridline.db");
    let client = Client::open_with_clock(
        config(&path),
        Arc::new(|| Timestamp::from_millis(NOW.fetch_add(1, Ordering::Relaxed))),
    )
    .unwrap();
    Fixture {
        _dir: dir,
        path,
        client,
    }
}

fn ningbo() -> LocationFix {
    LocationFix {
        lat: 29.8683,
        lon: 121.544,
        accuracy_m: 5.0,
        altitude_m: None,
        provider: LocationProvider::Gps,
        fix_time: Timestamp::from_millis(1_764_300_000_000),
        mock: false,
        source_crs: CoordSystem::Wgs84,
    }
}

fn text(s: &str) -> AttrValue {
    AttrValue::Text(s.into())
}

fn pothole_patch() -> DraftPatch {
    DraftPatch {
        category: Some("pothole".into()),
        note: Some("车道中间一个大坑".into()),
        location: Some(ningbo()),
        set_attributes: [("size".to_string(), text("large"))].into(),
        ..Default::default()
    }
}

fn validation_field(e: GridlineError) -> String {
    match e {
        GridlineError::Validation { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_submitted_report_is_queued_with_a_frozen_payload_and_history() {
    let f = fixture();
    let draft = f.client.create_draft(ReportKind::RoadDamage).unwrap();
    assert_eq!(draft.id.get_version_num(), 7);
    f.client.update_draft(draft.id, pothole_patch()).unwrap();
    let queued = f.client.submit(draft.id).unwrap();
    assert_eq!(queued.state, ReportState::Queued);
    assert_eq!(queued.id, draft.id);

    // It survives closing and reopening the file.
    drop(f.client);
    let again = Client::open(config(&f.path)).unwrap();
    let stored = again.get(draft.id).unwrap();
    assert_eq!(stored.state, ReportState::Queued);
    assert_eq!(stored.note, "车道中间一个大坑");
    assert_eq!(stored.attributes.get("size"), Some(&text("large")));
    let store = again.store();
    let payload = store.payload(&draft.id).unwrap().unwrap();
    assert_eq!(
        (
            payload.id,
            payload.category.as_str(),
            payload.reporter.as_str()
        ),
        (draft.id, "pothole", "rider-7")
    );
    let states: Vec<_> = store
        .history(&draft.id)
        .unwrap()
        .into_iter()
        .map(|c| (c.from, c.to))
        .collect();
    assert_eq!(
        states,
        vec![
            (None, ReportState::Draft),
            (Some(ReportState::Draft), ReportState::Queued)
        ]
    );
}

#[test]
fn submit_refuses_incomplete_reports_and_leaves_the_draft_alone() {
    let f = fixture();
    let id = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
    assert_eq!(
        validation_field(f.client.submit(id).unwrap_err()),
        "category"
    );
    f.client
        .update_draft(
            id,
            DraftPatch {
                category: Some("pothole".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        validation_field(f.client.submit(id).unwrap_err()),
        "location"
    );
    f.client
        .update_draft(
            id,
            DraftPatch {
                location: Some(ningbo()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        validation_field(f.client.submit(id).unwrap_err()),
        "attributes.size"
    );
    let still = f.client.get(id).unwrap();
    assert_eq!(
        (still.state, still.submitted_at),
        (ReportState::Draft, None)
    );
    assert_eq!(
        f.client.counts().unwrap(),
        Counts {
            drafts: 1,
            ..Default::default()
        }
    );
}

#[test]
fn hostile_values_are_refused_naming_the_field_and_nothing_changes() {
    let f = fixture();
    let id = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
    let before = f.client.update_draft(id, pothole_patch()).unwrap();
    let mut nan = ningbo();
    nan.lat = f64::NAN;
    let mut far = ningbo();
    far.lon = 181.0;
    let cases: Vec<(DraftPatch, &str)> = vec![
        (
            DraftPatch {
                location: Some(nan),
                ..Default::default()
            },
            "location.lat",
        ),
        (
            DraftPatch {
                location: Some(far),
                ..Default::default()
            },
            "location.lon",
        ),
        (
            DraftPatch {
                category: Some("volcano".into()),
                ..Default::default()
            },
            "category",
        ),
        (
            DraftPatch {
                note: Some("x".repeat(2001)),
                ..Default::default()
            },
            "note",
        ),
        (
            DraftPatch {
                note: Some("bell\u{7}".into()),
                ..Default::default()
            },
            "note",
        ),
        (
            DraftPatch {
                set_attributes: [("size".to_string(), text("huge"))].into(),
                ..Default::default()
            },
            "attributes.size",
        ),
        (
            DraftPatch {
                set_attributes: [("depth_cm".to_string(), text("deep"))].into(),
                ..Default::default()
            },
            "attributes.depth_cm",
        ),
        (
            DraftPatch {
                set_attributes: [("colour".to_string(), text("red"))].into(),
                ..Default::default()
            },
            "attributes.colour",
        ),
        (
            DraftPatch {
                outreach: Some(Outreach {
                    people_reached: 3,
                    materials_handed_out: 0,
                    venue_type: VenueType::Shop,
                }),
                ..Default::default()
            },
            "outreach",
        ),
    ];
    for (patch, field) in cases {
        let err = f.client.update_draft(id, patch.clone()).unwrap_err();
        assert_eq!(validation_field(err), field, "{patch:?}");
        assert_eq!(
            f.client.get(id).unwrap(),
            before,
            "a refused patch changed the draft"
        );
    }
}

#[test]
fn queued_reports_cannot_be_edited_or_deleted() {
    let f = fixture();
    let id = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
    f.client.update_draft(id, pothole_patch()).unwrap();
    f.client.submit(id).unwrap();
    assert!(matches!(
        f.client.update_draft(id, DraftPatch::default()),
        Err(GridlineError::Conflict { .. })
    ));
    assert!(matches!(
        f.client.delete_draft(id),
        Err(GridlineError::Conflict { .. })
    ));
    assert!(matches!(
        f.client.submit(id),
        Err(GridlineError::Conflict { .. })
    ));
    assert_eq!(f.client.get(id).unwrap().state, ReportState::Queued);
}

#[test]
fn drafts_can_be_deleted_and_unknown_ids_are_not_found() {
    let f = fixture();
    let id = f.client.create_draft(ReportKind::Other).unwrap().id;
    f.client.delete_draft(id).unwrap();
    assert!(matches!(
        f.client.get(id),
        Err(GridlineError::NotFound { .. })
    ));
    assert!(matches!(
        f.client.delete_draft(id),
        Err(GridlineError::NotFound { .. })
    ));
    assert!(matches!(
        f.client.submit(Uuid::now_v7()),
        Err(GridlineError::NotFound { .. })
    ));
}

#[test]
fn outreach_reports_carry_their_figures() {
    let f = fixture();
    let id = f
        .client
        .create_draft(ReportKind::AntiFraudOutreach)
        .unwrap()
        .id;
    let patch = DraftPatch {
        category: Some("shop_visit".into()),
        location: Some(ningbo()),
        set_attributes: [("shops_visited".to_string(), AttrValue::Number(12.0))].into(),
        ..Default::default()
    };
    f.client.update_draft(id, patch).unwrap();
    assert_eq!(
        validation_field(f.client.submit(id).unwrap_err()),
        "outreach"
    );
    let figures = Outreach {
        people_reached: 25,
        materials_handed_out: 40,
        venue_type: VenueType::Shop,
    };
    f.client
        .update_draft(
            id,
            DraftPatch {
                outreach: Some(figures.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    let r = f.client.submit(id).unwrap();
    assert_eq!(r.outreach, Some(figures));
}

#[test]
fn lists_by_state_newest_first_and_counts() {
    let f = fixture();
    let mut ids = vec![];
    for i in 0..5 {
        let id = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
        f.client.update_draft(id, pothole_patch()).unwrap();
        if i % 2 == 0 {
            f.client.submit(id).unwrap();
        }
        ids.push(id);
    }
    let queued = f
        .client
        .list(&ListFilter {
            states: vec![ReportState::Queued],
            limit: None,
        })
        .unwrap();
    assert_eq!(
        queued.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[4], ids[2], ids[0]]
    );
    let two = f
        .client
        .list(&ListFilter {
            states: vec![],
            limit: Some(2),
        })
        .unwrap();
    assert_eq!(
        two.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    assert_eq!(
        f.client.counts().unwrap(),
        Counts {
            drafts: 2,
            pending: 3,
            accepted: 0,
            rejected: 0
        }
    );
}

#[test]
fn refuses_a_blank_reporter() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir.path().join("x.db"));
    c.reporter = "  ".into();
    assert!(
        matches!(Client::open(c), Err(GridlineError::Validation { field, .. }) if field == "reporter")
    );
}

#[test]
fn an_invalid_server_catalog_keeps_the_old_one() {
    let f = fixture();
    let before = f.client.catalog();
    assert!(
        f.client
            .install_catalog("{\"version\":\"\",\"kinds\":[]}")
            .is_err()
    );
    assert_eq!(f.client.catalog(), before);
    let mut next = (*before).clone();
    next.version = "server-2".into();
    next.kinds.retain(|k| k.code != ReportKind::Other);
    f.client
        .install_catalog(&serde_json::to_string(&next).unwrap())
        .unwrap();
    drop(f.client);
    let reopened = Client::open(config(&f.path)).unwrap();
    assert_eq!(reopened.catalog().version, "server-2");
    assert!(
        reopened.create_draft(ReportKind::Other).is_ok(),
        "a draft of any kind can be started"
    );
}

const TWO_GRIDS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"W","properties":{"parent":"haishu"},"geometry":{"type":"Polygon","coordinates":[[[121.50,29.85],[121.55,29.85],[121.55,29.90],[121.50,29.90],[121.50,29.85]]]}},
 {"type":"Feature","id":"E","properties":{"parent":"haishu"},"geometry":{"type":"Polygon","coordinates":[[[121.55,29.85],[121.60,29.85],[121.60,29.90],[121.55,29.90],[121.55,29.85]]]}}]}"#;

fn file_at(f: &Fixture, lat: f64, lon: f64, tweak: impl FnOnce(&mut LocationFix)) -> LocalReport {
    let id = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
    let mut loc = ningbo();
    loc.lat = lat;
    loc.lon = lon;
    loc.fix_time = Timestamp::from_millis(NOW.load(Ordering::Relaxed));
    tweak(&mut loc);
    let patch = DraftPatch {
        location: Some(loc),
        ..pothole_patch()
    };
    f.client.update_draft(id, patch).unwrap();
    f.client.submit(id).unwrap()
}

#[test]
fn submit_assigns_the_grid_offline_and_it_survives_restart() {
    let f = fixture();
    assert_eq!(
        file_at(&f, 29.87, 121.52, |_| {}).grid_id,
        None,
        "no grids installed yet"
    );
    f.client
        .install_grids(TWO_GRIDS, CoordSystem::Wgs84)
        .unwrap();
    assert_eq!(
        file_at(&f, 29.87, 121.52, |_| {}).grid_id.as_deref(),
        Some("W")
    );
    assert_eq!(
        file_at(&f, 29.87, 121.58, |_| {}).grid_id.as_deref(),
        Some("E")
    );
    assert_eq!(
        file_at(&f, 29.95, 121.58, |_| {}).grid_id,
        None,
        "outside every grid"
    );
    // A bad file never replaces the good cached grids.
    let bad = TWO_GRIDS.replace("[121.50,29.85]]]", "[121.51,29.85]]]");
    assert!(matches!(
        f.client.install_grids(&bad, CoordSystem::Wgs84),
        Err(GridlineError::Validation { .. })
    ));
    assert!(
        f.client
            .install_grids("{\"type\":\"FeatureCollection\"", CoordSystem::Wgs84)
            .is_err()
    );
    drop(f.client);
    let reopened = Client::open(config(&f.path)).unwrap();
    assert_eq!(
        reopened.locate_grid(121.52, 29.87).unwrap().map(|g| g.id),
        Some("W".into())
    );
    assert_eq!(
        reopened
            .locate_grid(121.52, 29.87)
            .unwrap()
            .and_then(|g| g.parent),
        Some("haishu".into())
    );
    assert!(matches!(
        reopened.locate_grid(f64::NAN, 29.0),
        Err(GridlineError::Validation { .. })
    ));
}

#[test]
fn submit_stores_location_quality_warnings() {
    let f = fixture();
    let clean = file_at(&f, 29.87, 121.52, |_| {});
    assert!(
        clean.location_warnings.is_empty(),
        "{:?}",
        clean.location_warnings
    );
    let doubtful = file_at(&f, 29.87, 121.52, |l| {
        l.mock = true;
        l.accuracy_m = 450.0;
        l.fix_time = Timestamp::from_millis(l.fix_time.as_millis() - 10 * 60_000);
    });
    let mut w = doubtful.location_warnings.clone();
    w.sort();
    assert_eq!(w, vec!["low_accuracy", "mock_location", "stale_fix"]);
    // The warnings travel with the report to the supervisor.
    let payload = f.client.store().payload(&doubtful.id).unwrap().unwrap();
    assert_eq!(payload.location_warnings.len(), 3);
}

#[test]
fn nearby_reports_of_the_same_category_nearest_first() {
    let f = fixture();
    let near = file_at(&f, 29.87000, 121.52000, |_| {});
    let nearer = file_at(&f, 29.87010, 121.52010, |_| {});
    let _far = file_at(&f, 29.87100, 121.52000, |_| {}); // ~111 m north
    let hits = f
        .client
        .nearby_reports(121.52012, 29.87012, "pothole", NEARBY_RADIUS_M, 7)
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.report_id).collect::<Vec<_>>(),
        vec![nearer.id, near.id]
    );
    assert!(hits[0].distance_m < hits[1].distance_m && hits[1].distance_m < 50.0);
    assert!(
        f.client
            .nearby_reports(121.52012, 29.87012, "waterlogging", 50.0, 7)
            .unwrap()
            .is_empty()
    );
    assert!(
        f.client
            .nearby_reports(121.52, 29.87, "pothole", f64::NAN, 7)
            .is_err()
    );
    assert!(
        f.client
            .nearby_reports(121.52, 95.0, "pothole", 50.0, 7)
            .is_err()
    );
}

#[test]
fn queue_rows_page_newest_first_without_repeats_even_within_one_millisecond() {
    // A stopped clock: every report has the same created_at, so the id orders them.
    let dir = tempfile::tempdir().unwrap();
    let client = Client::open_with_clock(
        config(&dir.path().join("gridline.db")),
        Arc::new(|| Timestamp::from_millis(1_764_300_000_000)),
    )
    .unwrap();
    let mut queued = vec![];
    for i in 0..7 {
        let id = client.create_draft(ReportKind::RoadDamage).unwrap().id;
        client.update_draft(id, pothole_patch()).unwrap();
        if i != 3 {
            client.submit(id).unwrap();
            queued.push(id);
        }
    }
    let filter = ListFilter {
        states: vec![ReportState::Queued],
        limit: None,
    };
    let full: Vec<Uuid> = client.list(&filter).unwrap().iter().map(|r| r.id).collect();
    let mut expected = queued.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(full, expected, "newest first, ties by id");

    let page = ListFilter {
        limit: Some(2),
        ..filter.clone()
    };
    let mut seen = vec![];
    let mut after = None;
    loop {
        let rows = client.list_rows(&page, after.as_ref()).unwrap();
        assert!(rows.len() <= 2);
        assert!(rows.iter().all(|r| r.state == ReportState::Queued));
        let Some(last) = rows.last() else { break };
        after = Some(last.cursor());
        seen.extend(rows.iter().map(|r| r.id));
    }
    assert_eq!(seen, full, "pages join up to the whole list, in its order");

    let all = client.list_rows(&filter, None).unwrap();
    let report = client.get(all[0].id).unwrap();
    assert_eq!(all[0].note, report.note);
    assert_eq!(all[0].category, "pothole");
    assert_eq!(all[0].photo_count, 0);
    assert_eq!(all[0].first_photo, None);
    assert_eq!(all.len(), 6);
}

mod photos {
    use super::*;
    use crate::photo::fixtures::{self, ExifSpec, JpegSpec};

    /// Writes a real JPEG (with EXIF GPS and a serial number) and returns its path.
    fn camera_jpeg(dir: &std::path::Path, name: &str, seed: u8) -> PathBuf {
        let (w, h) = (640, 480);
        let mut rgb = fixtures::quadrants(w, h);
        // A different picture per seed: paint a band whose shade depends on it.
        for px in rgb.chunks_mut(3).take((w * 40) as usize) {
            px.copy_from_slice(&[seed.wrapping_mul(40), 200, seed.wrapping_mul(90)]);
        }
        let spec = JpegSpec {
            exif: Some(ExifSpec {
                gps: Some((29.8683, 121.5440)),
                datetime_original: Some("2026:11:28 09:30:00".into()),
                offset_time_original: Some("+08:00".into()),
                serial: Some("SN-RIDER-PHONE-1234".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let path = dir.join(name);
        std::fs::write(&path, fixtures::jpeg(&rgb, w, h, &spec)).unwrap();
        path
    }

    fn media_files(f: &Fixture) -> usize {
        std::fs::read_dir(f.client.media_dir())
            .map(|d| d.count())
            .unwrap_or(0)
    }

    #[test]
    fn attached_photos_are_processed_stored_once_and_sent_with_the_report() {
        let f = fixture();
        let shot = camera_jpeg(f._dir.path(), "shot.jpg", 1);
        let a = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
        let b = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
        let pa = f.client.attach_photo(a, &shot).unwrap();
        assert_eq!(
            f.client.attach_photo(a, &shot).unwrap(),
            pa,
            "attaching twice is harmless"
        );
        assert_eq!(f.client.attach_photo(b, &shot).unwrap(), pa);
        assert_eq!(f.client.get(a).unwrap().photos, vec![pa.clone()]);
        let rows = f.client.list_rows(&ListFilter::default(), None).unwrap();
        let row = rows.iter().find(|r| r.id == a).unwrap();
        assert_eq!(
            (row.photo_count, row.first_photo.as_ref()),
            (1, Some(&pa.sha256))
        );
        let second = f
            .client
            .attach_photo(a, &camera_jpeg(f._dir.path(), "second.jpg", 2))
            .unwrap();
        f.client.detach_photo(a, &pa.sha256).unwrap();
        let rows = f.client.list_rows(&ListFilter::default(), None).unwrap();
        let row = rows.iter().find(|r| r.id == a).unwrap();
        assert_eq!(
            (row.photo_count, row.first_photo.as_ref()),
            (1, Some(&second.sha256)),
            "the list row follows a detached photo"
        );
        f.client.detach_photo(a, &second.sha256).unwrap();
        f.client.attach_photo(a, &shot).unwrap();
        assert_eq!(
            media_files(&f),
            2,
            "one photo and one thumbnail, however often attached"
        );
        let stored = std::fs::read(f.client.photo_path(&pa.sha256, false).unwrap()).unwrap();
        assert!(
            !stored.windows(19).any(|w| w == b"SN-RIDER-PHONE-1234"),
            "the camera serial leaked"
        );
        assert!(f.client.photo_path(&pa.sha256, true).unwrap().exists());

        f.client.update_draft(a, pothole_patch()).unwrap();
        f.client.submit(a).unwrap();
        let sent = f.client.store().payload(&a).unwrap().unwrap().photos;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].sha256, pa.sha256);
        // The EXIF position left as a distance only: the fixture was shot where the fix is.
        assert_eq!(sent[0].exif.and_then(|e| e.gps_distance_m), Some(0));
        assert!(matches!(
            f.client.attach_photo(a, &shot),
            Err(GridlineError::Conflict { .. })
        ));
        // Deleting draft b keeps the file: queued report a still uses it.
        f.client.delete_draft(b).unwrap();
        assert_eq!(media_files(&f), 2);
    }

    /// A JPEG as a phone camera writes it, shot `north_deg` north of the Ningbo fix at `when`.
    fn phone_jpeg(dir: &std::path::Path, name: &str, north_deg: f64, when: &str) -> PathBuf {
        let (w, h) = (320, 240);
        let spec = JpegSpec {
            exif: Some(ExifSpec {
                make: Some("HMD Global".into()),
                model: Some("Nokia 8.3 5G".into()),
                gps: Some((29.8683 + north_deg, 121.544)),
                datetime_original: Some(when.into()),
                offset_time_original: Some("+08:00".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        // Different pixels per file: the pipeline strips EXIF, so equal pixels are one photo.
        let mut rgb = fixtures::quadrants(w, h);
        let shade = name
            .bytes()
            .fold(0u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
        for px in rgb.chunks_mut(3).take((w * 30) as usize) {
            px.copy_from_slice(&[shade, 90, shade.wrapping_mul(3)]);
        }
        let path = dir.join(name);
        std::fs::write(&path, fixtures::jpeg(&rgb, w, h, &spec)).unwrap();
        path
    }

    fn signal_names(f: &Fixture, id: Uuid) -> Vec<String> {
        let mut names: Vec<String> = f
            .client
            .fraud_signals(id)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort();
        names
    }

    fn submit_with_photo(f: &Fixture, path: &std::path::Path) -> Uuid {
        let id = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
        f.client.attach_photo(id, path).unwrap();
        f.client.update_draft(id, pothole_patch()).unwrap();
        f.client.submit(id).unwrap();
        id
    }

    #[test]
    fn exif_facts_travel_signed_as_a_distance_and_raise_signals_offline() {
        let f = fixture();
        let dir = f._dir.path();
        // The fix is 2025-11-28 03:20 UTC; a photo a minute before, where the fix is.
        let fresh = submit_with_photo(&f, &phone_jpeg(dir, "a.jpg", 0.0, "2025:11:28 11:19:00"));
        assert!(
            signal_names(&f, fresh).is_empty(),
            "{:?}",
            signal_names(&f, fresh)
        );

        // ~1.1 km north and a week old: taken somewhere else, some other day.
        let old = submit_with_photo(&f, &phone_jpeg(dir, "b.jpg", 0.01, "2025:11:21 11:19:00"));
        assert_eq!(
            signal_names(&f, old),
            ["photo_far_from_fix", "photo_time_mismatch"]
        );
        let payload = f.client.store().payload(&old).unwrap().unwrap();
        let exif = payload.photos[0].exif.unwrap();
        assert!(exif.camera);
        assert!(
            (1100..1125).contains(&exif.gps_distance_m.unwrap()),
            "{exif:?}"
        );
        assert_eq!(
            exif.captured_at,
            Some(Timestamp::from_millis(
                1_764_300_000_000 - 7 * 86_400_000 - 60_000
            ))
        );
        let json = serde_json::to_string(&payload).unwrap();
        assert!(
            !json.contains("29.878"),
            "the photo's position left the device: {json}"
        );
        // The facts are part of what the device signed.
        let signature = payload.signature.as_ref().unwrap();
        assert_eq!(
            signature.digest_version,
            gridline_protocol::evidence::DIGEST_VERSION
        );
        let key = public_key(&f.client, &signature.key_id);
        let algorithm = gridline_protocol::evidence::SignatureAlgorithm::Ed25519;
        assert!(gridline_protocol::evidence::verify(&payload, algorithm, &key).is_ok());
        let mut edited = payload.clone();
        edited.photos[0].exif.as_mut().unwrap().gps_distance_m = Some(3);
        assert!(gridline_protocol::evidence::verify(&edited, algorithm, &key).is_err());

        // A picture with no EXIF at all: a screenshot or a download.
        let bare = dir.join("c.jpg");
        std::fs::write(
            &bare,
            fixtures::jpeg(&fixtures::quadrants(64, 48), 64, 48, &JpegSpec::default()),
        )
        .unwrap();
        let screenshot = submit_with_photo(&f, &bare);
        assert_eq!(signal_names(&f, screenshot), ["no_camera_exif"]);
    }

    #[test]
    fn deleting_the_last_user_of_a_photo_deletes_its_files() {
        let f = fixture();
        let id = f.client.create_draft(ReportKind::Other).unwrap().id;
        let p = f
            .client
            .attach_photo(id, &camera_jpeg(f._dir.path(), "x.jpg", 2))
            .unwrap();
        let q = f
            .client
            .attach_photo(id, &camera_jpeg(f._dir.path(), "y.jpg", 3))
            .unwrap();
        assert_ne!(p.sha256, q.sha256);
        assert_eq!(media_files(&f), 4);
        f.client.detach_photo(id, &q.sha256).unwrap();
        assert_eq!(media_files(&f), 2);
        f.client.delete_draft(id).unwrap();
        assert_eq!(media_files(&f), 0);
    }

    #[test]
    fn a_refused_photo_leaves_the_draft_as_it_was() {
        let f = fixture();
        let id = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
        let before = f.client.update_draft(id, pothole_patch()).unwrap();
        let dir = f._dir.path();
        let mut truncated = std::fs::read(camera_jpeg(dir, "t.jpg", 4)).unwrap();
        truncated.truncate(truncated.len() / 3);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty.jpg", vec![]),
            ("truncated.jpg", truncated),
            ("notes.jpg", b"not an image at all".to_vec()),
            ("bomb.jpg", fixtures::bomb_jpeg(60_000, 60_000)),
        ];
        for (name, bytes) in cases {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            let err = f.client.attach_photo(id, &path).unwrap_err();
            assert!(
                matches!(err, GridlineError::Photo { .. }),
                "{name}: {err:?}"
            );
            assert_eq!(
                f.client.get(id).unwrap(),
                before,
                "{name} changed the draft"
            );
        }
        assert!(matches!(
            f.client.attach_photo(id, &dir.join("missing.jpg")),
            Err(GridlineError::Photo { .. })
        ));
        assert_eq!(media_files(&f), 0);
    }

    #[test]
    fn location_from_photo_reads_exif_gps() {
        let f = fixture();
        let fix = f
            .client
            .location_from_photo(&camera_jpeg(f._dir.path(), "gps.jpg", 5))
            .unwrap()
            .unwrap();
        assert!(
            (fix.lat - 29.8683).abs() < 1e-6 && (fix.lon - 121.5440).abs() < 1e-6,
            "{fix:?}"
        );
        assert_eq!(fix.provider, LocationProvider::PhotoExif);
        assert_eq!(
            fix.fix_time,
            Timestamp::parse_rfc3339("2026-11-28T09:30:00+08:00").unwrap()
        );
        assert_eq!(fix.validate(), Ok(()));
        let plain = f._dir.path().join("plain.jpg");
        std::fs::write(
            &plain,
            fixtures::jpeg(&fixtures::quadrants(64, 48), 64, 48, &JpegSpec::default()),
        )
        .unwrap();
        assert_eq!(f.client.location_from_photo(&plain).unwrap(), None);
    }
}

fn submit_pothole(client: &Client) -> Uuid {
    let draft = client.create_draft(ReportKind::RoadDamage).unwrap();
    client.update_draft(draft.id, pothole_patch()).unwrap();
    client.submit(draft.id).unwrap();
    draft.id
}

fn public_key(client: &Client, key_id: &str) -> Vec<u8> {
    client
        .store()
        .signing_keys()
        .unwrap()
        .into_iter()
        .find(|k| k.public.key_id == key_id)
        .unwrap()
        .public
        .bytes
}

#[test]
fn submit_signs_the_frozen_payload_with_the_stored_key_which_survives_reopening() {
    let f = fixture();
    let id = submit_pothole(&f.client);
    let payload = f.client.store().payload(&id).unwrap().unwrap();
    let sig = payload.signature.clone().expect("signed");
    let key_id = f.client.signing_key_id().unwrap();
    assert_eq!(sig.key_id, key_id);
    gridline_protocol::evidence::verify(&payload, sig.algorithm, &public_key(&f.client, &key_id))
        .unwrap();
    // The key is pending registration, and the same after reopening.
    let pending = f.client.store().unregistered_keys().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key_id, key_id);
    drop(f.client);
    let again = Client::open(config(&f.path)).unwrap();
    assert_eq!(again.signing_key_id().unwrap(), key_id);
}

#[test]
fn rotation_signs_new_reports_with_a_new_key_and_keeps_the_old_one_for_registration() {
    let f = fixture();
    let first = submit_pothole(&f.client);
    let old = f.client.signing_key_id().unwrap();
    let new = f.client.rotate_signing_key().unwrap();
    assert_ne!(old, new);
    let second = submit_pothole(&f.client);
    let key_of = |id| {
        f.client
            .store()
            .payload(&id)
            .unwrap()
            .unwrap()
            .signature
            .unwrap()
            .key_id
    };
    assert_eq!(key_of(first), old);
    assert_eq!(key_of(second), new);
    let keys = f.client.store().signing_keys().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .any(|k| k.public.key_id == old && k.retired_at.is_some())
    );
    assert_eq!(f.client.store().unregistered_keys().unwrap().len(), 2);
    f.client
        .store()
        .mark_key_registered(&old, Timestamp::from_millis(5))
        .unwrap();
    assert_eq!(f.client.store().unregistered_keys().unwrap()[0].key_id, new);
}

/// A platform signer (as the Kotlin and Swift shells pass) that can be switched off.
struct Platform {
    key: crate::evidence::SoftwareSigner,
    locked: std::sync::atomic::AtomicBool,
}

impl crate::evidence::Signer for Platform {
    fn algorithm(&self) -> gridline_protocol::evidence::SignatureAlgorithm {
        gridline_protocol::evidence::SignatureAlgorithm::Ed25519
    }
    fn public_key(&self) -> Result<Vec<u8>, crate::evidence::SignerError> {
        self.key.public_key()
    }
    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, crate::evidence::SignerError> {
        if self.locked.load(Ordering::SeqCst) {
            return Err(crate::evidence::SignerError("keystore locked".into()));
        }
        self.key.sign(digest)
    }
}

#[test]
fn a_platform_signer_signs_and_a_failing_one_never_costs_the_report() {
    let f = fixture();
    let platform = Arc::new(Platform {
        key: crate::evidence::SoftwareSigner::generate(),
        locked: false.into(),
    });
    let key_id = f.client.set_signer(platform.clone()).unwrap();
    let signed = submit_pothole(&f.client);
    let payload = f.client.store().payload(&signed).unwrap().unwrap();
    assert_eq!(payload.signature.unwrap().key_id, key_id);
    // Its public half is recorded for registration; no secret is.
    assert!(
        f.client
            .store()
            .unregistered_keys()
            .unwrap()
            .iter()
            .any(|k| k.key_id == key_id)
    );
    platform.locked.store(true, Ordering::SeqCst);
    let unsigned = submit_pothole(&f.client);
    assert_eq!(f.client.get(unsigned).unwrap().state, ReportState::Queued);
    assert_eq!(
        f.client
            .store()
            .payload(&unsigned)
            .unwrap()
            .unwrap()
            .signature,
        None
    );
}

#[test]
fn sign_out_forgets_the_keys_so_the_next_rider_gets_a_new_one() {
    let f = fixture();
    let old = f.client.signing_key_id().unwrap();
    f.client.wipe(true).unwrap();
    drop(f.client);
    let again = Client::open(config(&f.path)).unwrap();
    assert_ne!(again.signing_key_id().unwrap(), old);
}

#[test]
fn the_device_computes_fraud_signals_offline_and_none_for_a_normal_report() {
    let f = fixture();
    let normal = submit_pothole(&f.client);
    assert!(f.client.fraud_signals(normal).unwrap().is_empty());

    // A mock fix, far away and moments later (the clock advances a millisecond a call).
    let draft = f.client.create_draft(ReportKind::RoadDamage).unwrap();
    let mut patch = pothole_patch();
    let mut fix = ningbo();
    fix.mock = true;
    fix.lat += 1.0;
    patch.location = Some(fix);
    f.client.update_draft(draft.id, patch).unwrap();
    f.client.submit(draft.id).unwrap();
    let mut names: Vec<String> = f
        .client
        .fraud_signals(draft.id)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    assert_eq!(names, ["impossible_speed", "mock_location"]);
    // A draft has none yet.
    let d = f.client.create_draft(ReportKind::RoadDamage).unwrap();
    assert!(f.client.fraud_signals(d.id).unwrap().is_empty());
}

#[test]
fn nearby_candidates_rank_by_photo_similarity_and_say_why() {
    use crate::photo::fixtures::{self, JpegSpec};
    let f = fixture();
    let dir = f._dir.path();
    let photo = |name: &str, rgb: Vec<u8>, w: u32, h: u32| {
        let path = dir.join(name);
        std::fs::write(&path, fixtures::jpeg(&rgb, w, h, &JpegSpec::default())).unwrap();
        path
    };
    let (w, h) = (480, 360);
    let pothole = fixtures::scene(3, w, h);
    // (category, metres north of the probe, photo)
    let draft = |category: &str, north_m: f64, photo_path: &std::path::Path| {
        let id = f.client.create_draft(ReportKind::RoadDamage).unwrap().id;
        let mut loc = ningbo();
        loc.lat += north_m / 111_195.0;
        let mut patch = DraftPatch {
            category: Some(category.into()),
            location: Some(loc),
            ..pothole_patch()
        };
        if category != "pothole" {
            patch.set_attributes.clear();
        }
        f.client.update_draft(id, patch).unwrap();
        f.client.attach_photo(id, photo_path).unwrap();
        id
    };
    let probe = draft("pothole", 0.0, &photo("a.jpg", pothole.clone(), w, h));
    let cropped = fixtures::crop(&pothole, w, 12, 8, w - 24, h - 18);
    let same_angle = draft(
        "pothole",
        10.0,
        &photo("b.jpg", fixtures::brighten(&cropped, 25), w - 24, h - 18),
    );
    let wrong_category = draft("waterlogging", 5.0, &photo("c.jpg", pothole.clone(), w, h));
    let other_scene = draft(
        "pothole",
        5.0,
        &photo("d.jpg", fixtures::scene(9, w, h), w, h),
    );
    let unrelated = draft(
        "waterlogging",
        1.0,
        &photo("e.jpg", fixtures::scene(12, w, h), w, h),
    );
    let far = draft("pothole", 400.0, &photo("f.jpg", pothole.clone(), w, h));

    let hits = f
        .client
        .nearby_candidates(probe, NEARBY_RADIUS_M, 7)
        .unwrap();
    let ids: Vec<_> = hits.iter().map(|h| h.report_id).collect();
    assert_eq!(ids[0], same_angle, "{hits:#?}");
    assert!(ids.contains(&wrong_category) && ids.contains(&other_scene));
    for absent in [probe, unrelated, far] {
        assert!(!ids.contains(&absent), "{hits:#?}");
    }
    let best = &hits[0];
    assert!(best.similarity.unwrap() >= crate::duplicates::SAME_SCENE_SIMILARITY);
    assert!(
        best.reason.starts_with("photo ")
            && best.reason.contains("% similar, 10 m away, same category"),
        "{}",
        best.reason
    );
    let wrong = hits.iter().find(|h| h.report_id == wrong_category).unwrap();
    assert!(!wrong.same_category && wrong.reason.contains("different category"));
    let other = hits.iter().find(|h| h.report_id == other_scene).unwrap();
    assert!(other.similarity.unwrap() < crate::duplicates::SAME_SCENE_SIMILARITY);
    assert!(other.score < best.score);
    assert!(hits.windows(2).all(|p| p[0].score >= p[1].score));

    // Without photos the old hint still works, with a reason.
    let plain = f
        .client
        .nearby_reports(ningbo().lon, ningbo().lat, "pothole", NEARBY_RADIUS_M, 7)
        .unwrap();
    assert!(
        plain
            .iter()
            .all(|h| h.similarity.is_none() && h.reason.contains("m away"))
    );
    assert!(f.client.nearby_candidates(probe, 50.0, -1).is_err());
    assert!(f.client.nearby_candidates(Uuid::now_v7(), 50.0, 7).is_err());
}
