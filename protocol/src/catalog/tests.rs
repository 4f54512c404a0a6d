use super::*;
use crate::report::{Outreach, VenueType};
use crate::{CoordSystem, LocationFix, LocationProvider, Severity};

fn report(kind: ReportKind, category: &str, attrs: &[(&str, AttrValue)]) -> Report {
    Report {
        id: uuid::Uuid::now_v7(),
        kind,
        category: category.into(),
        note: "井盖 missing near the school gate".into(),
        severity: Severity::High,
        location: LocationFix {
            lat: 29.8683,
            lon: 121.544,
            accuracy_m: 6.0,
            altitude_m: None,
            provider: LocationProvider::Gps,
            fix_time: Timestamp::from_millis(1_700_000_000_000),
            mock: false,
            source_crs: CoordSystem::Wgs84,
        },
        location_warnings: vec![],
        grid_id: None,
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        outreach: None,
        photos: vec![],
        reporter: "rider-1".into(),
        created_at: Timestamp::from_millis(1_700_000_000_000),
        submitted_at: Timestamp::from_millis(1_700_000_001_000),
        app_version: "1.0".into(),
        signature: None,
    }
}

fn text(s: &str) -> AttrValue {
    AttrValue::Text(s.into())
}

fn field_of(r: Result<(), FieldError>) -> String {
    r.expect_err("should be refused").field
}

#[test]
fn builtin_catalog_is_well_formed() {
    let c = Catalog::builtin();
    assert_eq!(c.check(), Ok(()));
    for kind in [
        ReportKind::RoadDamage,
        ReportKind::GarbageSorting,
        ReportKind::AntiFraudOutreach,
    ] {
        assert!(
            c.kind(kind).map(|k| k.categories.len()).unwrap_or(0) >= 6,
            "{kind:?}"
        );
    }
    assert!(c.kind(ReportKind::Other).is_some());
    // Round trip through JSON keeps it equal (it is data a server publishes).
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(Catalog::from_json(&json), Ok(c));
}

#[test]
fn accepts_a_complete_report() {
    let c = Catalog::builtin();
    let r = report(
        ReportKind::RoadDamage,
        "missing_manhole_cover",
        &[
            ("cover_type", text("sewage")),
            ("hazard_marked", text("no")),
        ],
    );
    assert_eq!(c.validate_report(&r), Ok(()));
}

#[test]
fn refuses_unknown_category_and_kind_missing_from_catalog() {
    let c = Catalog::builtin();
    assert_eq!(
        field_of(c.validate_report(&report(ReportKind::RoadDamage, "volcano", &[]))),
        "category"
    );
    // A category of another kind is not a category of this one.
    assert_eq!(
        field_of(c.validate_report(&report(ReportKind::RoadDamage, "overflowing_bin", &[]))),
        "category"
    );
    let mut small = c.clone();
    small.kinds.retain(|k| k.code != ReportKind::Other);
    assert_eq!(
        field_of(small.validate_report(&report(ReportKind::Other, "general", &[]))),
        "kind"
    );
}

#[test]
fn refuses_bad_attributes_naming_them() {
    let c = Catalog::builtin();
    let ok_cover = ("cover_type", text("sewage"));
    let cases: Vec<(Vec<(&str, AttrValue)>, &str)> = vec![
        (vec![ok_cover.clone()], "attributes.hazard_marked"),
        (
            vec![ok_cover.clone(), ("hazard_marked", text("maybe"))],
            "attributes.hazard_marked",
        ),
        (
            vec![ok_cover.clone(), ("hazard_marked", AttrValue::Number(1.0))],
            "attributes.hazard_marked",
        ),
        (
            vec![
                ok_cover.clone(),
                ("hazard_marked", text("no")),
                ("colour", text("red")),
            ],
            "attributes.colour",
        ),
        (
            vec![
                ("cover_type", AttrValue::List(vec!["gas".into()])),
                ("hazard_marked", text("no")),
            ],
            "attributes.cover_type",
        ),
    ];
    for (attrs, field) in cases {
        let r = report(ReportKind::RoadDamage, "missing_manhole_cover", &attrs);
        assert_eq!(field_of(c.validate_report(&r)), field, "{attrs:?}");
    }
}

#[test]
fn checks_numbers_lists_and_text_datatypes() {
    let c = Catalog::builtin();
    let water = |v: AttrValue| report(ReportKind::RoadDamage, "waterlogging", &[("depth_cm", v)]);
    assert_eq!(c.validate_report(&water(AttrValue::Number(30.0))), Ok(()));
    for bad in [
        AttrValue::Number(-1.0),
        AttrValue::Number(301.0),
        AttrValue::Number(f64::NAN),
        text("30"),
    ] {
        assert_eq!(
            field_of(c.validate_report(&water(bad.clone()))),
            "attributes.depth_cm",
            "{bad:?}"
        );
    }
    let bins = |v: AttrValue| {
        report(
            ReportKind::GarbageSorting,
            "overflowing_bin",
            &[("bin_types", v)],
        )
    };
    assert_eq!(
        c.validate_report(&bins(AttrValue::List(vec![
            "kitchen".into(),
            "residual".into()
        ]))),
        Ok(())
    );
    for bad in [
        AttrValue::List(vec![]),
        AttrValue::List(vec!["kitchen".into(), "kitchen".into()]),
        AttrValue::List(vec!["nuclear".into()]),
        text("kitchen"),
    ] {
        assert_eq!(
            field_of(c.validate_report(&bins(bad.clone()))),
            "attributes.bin_types",
            "{bad:?}"
        );
    }
    let bulky = |s: &str| {
        report(
            ReportKind::GarbageSorting,
            "bulky_waste",
            &[("items", text(s))],
        )
    };
    assert_eq!(c.validate_report(&bulky("旧沙发")), Ok(()));
    assert_eq!(
        field_of(c.validate_report(&bulky("sofa\u{0007}"))),
        "attributes.items"
    );
    assert_eq!(
        field_of(c.validate_report(&bulky(&"x".repeat(201)))),
        "attributes.items"
    );
    assert_eq!(
        field_of(c.validate_report(&bulky("two\nlines"))),
        "attributes.items"
    );
}

#[test]
fn refuses_hostile_notes() {
    let c = Catalog::builtin();
    let with_note = |n: &str| {
        let mut r = report(ReportKind::Other, "general", &[]);
        r.note = n.into();
        r
    };
    assert_eq!(c.validate_report(&with_note(&"好".repeat(2000))), Ok(()));
    assert_eq!(
        c.validate_report(&with_note("line one\nline two\tend")),
        Ok(())
    );
    for bad in [
        &"好".repeat(2001),
        "nul\0byte",
        "esc\u{1b}[2J",
        "bidi \u{202E}evil",
    ] {
        assert_eq!(
            field_of(c.validate_report(&with_note(bad))),
            "note",
            "{bad:?}"
        );
    }
}

#[test]
fn outreach_rules() {
    let c = Catalog::builtin();
    let topics = ("topics", AttrValue::List(vec!["telecom_fraud".into()]));
    let mut r = report(ReportKind::AntiFraudOutreach, "street_talk", &[topics]);
    assert_eq!(field_of(c.validate_report(&r)), "outreach");
    r.outreach = Some(Outreach {
        people_reached: 20,
        materials_handed_out: 40,
        venue_type: VenueType::Shop,
    });
    assert_eq!(c.validate_report(&r), Ok(()));
    r.outreach = Some(Outreach {
        people_reached: 0,
        materials_handed_out: 0,
        venue_type: VenueType::Shop,
    });
    assert_eq!(field_of(c.validate_report(&r)), "outreach.people_reached");
    let mut road = report(ReportKind::Other, "general", &[]);
    road.outreach = Some(Outreach {
        people_reached: 1,
        materials_handed_out: 0,
        venue_type: VenueType::Street,
    });
    assert_eq!(field_of(c.validate_report(&road)), "outreach");
}

#[test]
fn refuses_non_v7_ids_and_bad_photo_refs() {
    let c = Catalog::builtin();
    let mut r = report(ReportKind::Other, "general", &[]);
    r.id = uuid::Uuid::nil();
    assert_eq!(field_of(c.validate_report(&r)), "id");
    let mut r = report(ReportKind::Other, "general", &[]);
    r.photos.push(crate::PhotoRef {
        sha256: "ABC".into(),
        bytes: 10,
        width: 1,
        height: 1,
        exif: None,
    });
    assert_eq!(field_of(c.validate_report(&r)), "photos.0.sha256");
    for distance in [-1, 20_040_001, i64::MIN, i64::MAX] {
        let mut r = report(ReportKind::Other, "general", &[]);
        r.photos.push(crate::PhotoRef {
            sha256: "ab".repeat(32),
            bytes: 10,
            width: 1,
            height: 1,
            exif: Some(crate::PhotoExif {
                gps_distance_m: Some(distance),
                ..Default::default()
            }),
        });
        assert_eq!(
            field_of(c.validate_report(&r)),
            "photos.0.exif.gps_distance_m",
            "{distance}"
        );
    }
    // Unknown EXIF fields are refused like every other unknown field.
    let json =
        r#"{"sha256":"x","bytes":1,"width":1,"height":1,"exif":{"camera":true,"gps":[1,2]}}"#;
    assert!(serde_json::from_str::<crate::PhotoRef>(json).is_err());
}

#[test]
fn refuses_inconsistent_catalogs() {
    let mut c = Catalog::builtin();
    c.kinds[0].categories[1].code = c.kinds[0].categories[0].code.clone();
    assert!(c.check().is_err());
    assert!(Catalog::from_json("{\"version\": 3}").is_err());
    assert!(Catalog::from_json("not json").is_err());
    let mut empty_list = Catalog::builtin();
    empty_list.kinds[0].categories[0].attributes[0]
        .values
        .clear();
    assert!(empty_list.check().is_err());
}

#[test]
fn parses_attribute_text_by_datatype() {
    assert_eq!(
        AttrValue::parse_for(Datatype::Number, " 12.5 "),
        Ok(AttrValue::Number(12.5))
    );
    assert!(AttrValue::parse_for(Datatype::Number, "NaN").is_err());
    assert!(AttrValue::parse_for(Datatype::Number, "deep").is_err());
    assert_eq!(
        AttrValue::parse_for(Datatype::Multivaluelist, "kitchen, residual"),
        Ok(AttrValue::List(vec!["kitchen".into(), "residual".into()]))
    );
    assert_eq!(
        AttrValue::parse_for(Datatype::String, "x"),
        Ok(AttrValue::Text("x".into()))
    );
}

#[test]
fn report_json_refuses_unknown_fields() {
    let r = report(ReportKind::Other, "general", &[]);
    let mut v = serde_json::to_value(&r).unwrap();
    assert_eq!(serde_json::from_value::<Report>(v.clone()).unwrap(), r);
    v["surprise"] = serde_json::json!(1);
    assert!(serde_json::from_value::<Report>(v).is_err());
}

#[test]
fn refuses_invisible_format_characters_in_every_text_field() {
    let c = Catalog::builtin();
    let invisible = [
        "\u{200E}",
        "\u{200F}",
        "\u{061C}",
        "\u{200B}",
        "\u{2060}",
        "\u{FEFF}",
        "\u{2028}",
        "\u{2029}",
        "\u{E0041}",
        "\u{FFF9}",
    ];
    for ch in invisible {
        let mut r = report(ReportKind::Other, "general", &[]);
        r.reporter = format!("rider{ch}1");
        assert_eq!(field_of(c.validate_report(&r)), "reporter", "{ch:?}");
        let mut r = report(ReportKind::Other, "general", &[]);
        r.note = format!("a note{ch}with it");
        assert_eq!(field_of(c.validate_report(&r)), "note", "{ch:?}");
    }
    // Joiners stay allowed in notes (emoji sequences) but not in ids.
    let mut r = report(ReportKind::Other, "general", &[]);
    r.note = "family 👨\u{200D}👩\u{200D}👧 saw it".into();
    assert_eq!(c.validate_report(&r), Ok(()));
    r.grid_id = Some("NB\u{200D}01".into());
    assert_eq!(field_of(c.validate_report(&r)), "grid_id");
}

#[test]
fn refuses_implausible_times() {
    let c = Catalog::builtin();
    let year_1 = Timestamp::parse_rfc3339("0001-01-01T00:00:00Z").unwrap();
    let year_9999 = Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").unwrap();
    for at in [year_1, year_9999, Timestamp::from_millis(0)] {
        let mut r = report(ReportKind::Other, "general", &[]);
        r.created_at = at;
        r.submitted_at = at;
        assert!(
            ["created_at", "submitted_at"].contains(&field_of(c.validate_report(&r)).as_str()),
            "{at}"
        );
        let mut r = report(ReportKind::Other, "general", &[]);
        r.location.fix_time = at;
        assert_eq!(field_of(c.validate_report(&r)), "location.fix_time", "{at}");
    }
}
