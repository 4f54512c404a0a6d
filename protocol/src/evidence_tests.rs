use std::collections::BTreeMap;

use ed25519_dalek::{Signer as _, SigningKey};

use super::*;
use crate::{
    CoordSystem, LocationFix, LocationProvider, Outreach, PhotoRef, ReportKind, Severity,
    Timestamp, VenueType,
};

/// A fixed report with every optional part present: the golden vector's input.
fn golden_report() -> Report {
    let mut attributes = BTreeMap::new();
    attributes.insert("depth_cm".to_string(), AttrValue::Number(12.5));
    attributes.insert("surface".to_string(), AttrValue::Text("asphalt".into()));
    attributes.insert(
        "hazards".to_string(),
        AttrValue::List(vec!["traffic".into(), "school".into()]),
    );
    Report {
        id: uuid::Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap(),
        kind: ReportKind::RoadDamage,
        category: "pothole".into(),
        note: "井盖 missing near the school gate".into(),
        severity: Severity::High,
        location: LocationFix {
            lat: 29.868_312_5,
            lon: 121.544_012_3,
            accuracy_m: 6.5,
            altitude_m: Some(12.25),
            provider: LocationProvider::Gps,
            fix_time: Timestamp::from_millis(1_700_000_000_000),
            mock: false,
            source_crs: CoordSystem::Gcj02,
        },
        location_warnings: vec!["low_accuracy".into()],
        grid_id: Some("G-001".into()),
        attributes,
        outreach: None,
        photos: vec![PhotoRef {
            sha256: "ab".repeat(32),
            bytes: 123_456,
            width: 1600,
            height: 1200,
            exif: None,
        }],
        reporter: "rider-1".into(),
        created_at: Timestamp::from_millis(1_699_999_990_000),
        submitted_at: Timestamp::from_millis(1_700_000_001_000),
        app_version: "1.0".into(),
        signature: None,
    }
}

fn test_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn sign(report: &mut Report, key: &SigningKey) {
    let public = key.verifying_key().to_bytes();
    report.signature = Some(ReportSignature {
        algorithm: SignatureAlgorithm::Ed25519,
        key_id: key_id(&public),
        digest_version: DIGEST_VERSION,
        signature: hex(&key.sign(&canonical_digest(report)).to_bytes()),
    });
}

/// The digest formats are frozen (the expected values were computed independently, with
/// Python's hashlib and `cryptography`, from the layout in docs/protocol.md): if this fails,
/// signatures made by devices in the field no longer verify. Change the format only as a new
/// `DIGEST_VERSION`, never in place.
#[test]
fn golden_vector_version_1_still_digests_and_verifies() {
    let mut report = golden_report();
    let digest = digest_of_version(&report, 1).unwrap();
    assert_eq!(
        hex(&digest),
        "6268537eedadbc6431bc13b194da05e03849a425e49095dfeb64bf756dba5b2f"
    );
    let key = test_key();
    assert_eq!(
        key_id(&key.verifying_key().to_bytes()),
        "fe812c12f3ab4ce6ac5db69ac352f906"
    );
    // What a device signed before version 2 existed.
    report.signature = Some(ReportSignature {
        algorithm: SignatureAlgorithm::Ed25519,
        key_id: key_id(&key.verifying_key().to_bytes()),
        digest_version: 1,
        signature: hex(&key.sign(&digest).to_bytes()),
    });
    assert_eq!(
        report.signature.as_ref().unwrap().signature,
        "dcb053976ab9aa3b6d87548017cb63147fd7809bac18c42adb489b99cfab118dfe373480482493fec8944d172436c3a3746d0700d513e2650ce013efa6eea20f"
    );
    let public = key.verifying_key().to_bytes();
    assert_eq!(
        verify(&report, SignatureAlgorithm::Ed25519, &public),
        Ok(())
    );
    // Version 1 cannot cover EXIF facts: a proxy adding them breaks the signature.
    report.photos[0].exif = Some(crate::PhotoExif {
        camera: false,
        ..Default::default()
    });
    assert_eq!(
        verify(&report, SignatureAlgorithm::Ed25519, &public),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn golden_vector_version_2_covers_the_photo_exif_facts() {
    let mut report = golden_report();
    assert_eq!(
        hex(&canonical_digest(&report)),
        "4ef6fbd5b85d1b1b3f05de08e2799f3d4ed8d0be57228e67654c3a10657b0828"
    );
    report.photos[0].exif = Some(crate::PhotoExif {
        captured_at: Some(Timestamp::from_millis(1_699_999_950_000)),
        gps_distance_m: Some(35),
        camera: true,
    });
    assert_eq!(
        hex(&canonical_digest(&report)),
        "646b6a6957f2ff1d368566f5a9d5921422670e0b25b2244b6329d4bf052dc961"
    );
    let key = test_key();
    sign(&mut report, &key);
    assert_eq!(
        report.signature.as_ref().unwrap().signature,
        "77348b84184310088aa89a1fb532b961458c91fc467e8ad8ddc3a9ab91dc6eb5fdc9e65d4338c5c8c03854eeecd26f990eed19cab6ff43ddd3d81a0de28d2705"
    );
    let public = key.verifying_key().to_bytes();
    assert_eq!(
        verify(&report, SignatureAlgorithm::Ed25519, &public),
        Ok(())
    );
    for edit in [
        |x: &mut crate::PhotoExif| x.camera = false,
        |x: &mut crate::PhotoExif| x.gps_distance_m = Some(36),
        |x: &mut crate::PhotoExif| x.captured_at = None,
    ] {
        let mut tampered = report.clone();
        edit(tampered.photos[0].exif.as_mut().unwrap());
        assert_eq!(
            verify(&tampered, SignatureAlgorithm::Ed25519, &public),
            Err(SignatureError::Mismatch)
        );
    }
    let mut stripped = report.clone();
    stripped.photos[0].exif = None;
    assert_eq!(
        verify(&stripped, SignatureAlgorithm::Ed25519, &public),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn the_signature_itself_is_not_part_of_the_digest() {
    let mut report = golden_report();
    let before = canonical_digest(&report);
    sign(&mut report, &test_key());
    assert_eq!(canonical_digest(&report), before);
}

#[test]
fn json_round_trip_keeps_the_digest_even_for_awkward_floats() {
    let mut report = golden_report();
    report.location.lat = 0.1 + 0.2;
    report.location.lon = -0.0;
    report.location.accuracy_m = 1e-300;
    report
        .attributes
        .insert("depth_cm".into(), AttrValue::Number(123_456_789.123_456_79));
    sign(&mut report, &test_key());
    let json = serde_json::to_string(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(canonical_digest(&back), canonical_digest(&report));
    let public = test_key().verifying_key().to_bytes();
    assert_eq!(verify(&back, SignatureAlgorithm::Ed25519, &public), Ok(()));
}

/// Every field a supervisor or a reward relies on is covered: changing any one of them after
/// signing makes the signature a mismatch.
#[test]
fn tampering_with_any_field_is_a_mismatch() {
    let key = test_key();
    let public = key.verifying_key().to_bytes();
    let mut signed = golden_report();
    sign(&mut signed, &key);
    type Edit = Box<dyn Fn(&mut Report)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("id", Box::new(|r| r.id = uuid::Uuid::now_v7())),
        ("kind", Box::new(|r| r.kind = ReportKind::Other)),
        ("category", Box::new(|r| r.category = "crack".into())),
        ("note", Box::new(|r| r.note.push('!'))),
        ("severity", Box::new(|r| r.severity = Severity::Urgent)),
        ("lat", Box::new(|r| r.location.lat += 1e-9)),
        ("lon", Box::new(|r| r.location.lon -= 1e-9)),
        ("accuracy", Box::new(|r| r.location.accuracy_m = 5.0)),
        ("altitude", Box::new(|r| r.location.altitude_m = None)),
        (
            "provider",
            Box::new(|r| r.location.provider = LocationProvider::Manual),
        ),
        ("mock", Box::new(|r| r.location.mock = true)),
        (
            "fix_time",
            Box::new(|r| r.location.fix_time = Timestamp::from_millis(1)),
        ),
        (
            "crs",
            Box::new(|r| r.location.source_crs = CoordSystem::Wgs84),
        ),
        ("warnings", Box::new(|r| r.location_warnings.clear())),
        ("grid", Box::new(|r| r.grid_id = None)),
        (
            "attribute",
            Box::new(|r| {
                r.attributes
                    .insert("depth_cm".into(), AttrValue::Number(13.0));
            }),
        ),
        (
            "attribute type",
            Box::new(|r| {
                r.attributes
                    .insert("depth_cm".into(), AttrValue::Text("12.5".into()));
            }),
        ),
        (
            "outreach",
            Box::new(|r| {
                r.outreach = Some(Outreach {
                    people_reached: 20,
                    materials_handed_out: 0,
                    venue_type: VenueType::Shop,
                })
            }),
        ),
        (
            "photo hash",
            Box::new(|r| r.photos[0].sha256 = "cd".repeat(32)),
        ),
        ("photo removed", Box::new(|r| r.photos.clear())),
        ("photo size", Box::new(|r| r.photos[0].bytes += 1)),
        ("reporter", Box::new(|r| r.reporter = "rider-2".into())),
        (
            "created_at",
            Box::new(|r| r.created_at = Timestamp::from_millis(1_699_999_990_001)),
        ),
        (
            "submitted_at",
            Box::new(|r| r.submitted_at = Timestamp::from_millis(1_700_000_001_001)),
        ),
        ("app_version", Box::new(|r| r.app_version = "1.1".into())),
    ];
    for (what, edit) in edits {
        let mut tampered = signed.clone();
        edit(&mut tampered);
        assert_eq!(
            verify(&tampered, SignatureAlgorithm::Ed25519, &public),
            Err(SignatureError::Mismatch),
            "editing {what} went unnoticed"
        );
    }
}

/// Moving bytes between neighbouring strings keeps their concatenation but not the digest.
#[test]
fn length_prefixes_keep_neighbouring_fields_apart() {
    let mut a = golden_report();
    a.category = "pot".into();
    a.note = "holeX".into();
    let mut b = golden_report();
    b.category = "pothole".into();
    b.note = "X".into();
    assert_ne!(canonical_digest(&a), canonical_digest(&b));
}

#[test]
fn wrong_key_unsigned_and_malformed_signatures_are_told_apart() {
    let mut report = golden_report();
    let other = SigningKey::from_bytes(&[8u8; 32])
        .verifying_key()
        .to_bytes();
    let public = test_key().verifying_key().to_bytes();
    assert_eq!(
        verify(&report, SignatureAlgorithm::Ed25519, &public),
        Err(SignatureError::Unsigned)
    );
    sign(&mut report, &test_key());
    assert_eq!(
        verify(&report, SignatureAlgorithm::Ed25519, &other),
        Err(SignatureError::Mismatch)
    );
    for bad in [
        "",
        "zz",
        &"a".repeat(127),
        &"A".repeat(128),
        &"ab".repeat(65),
    ] {
        let mut r = report.clone();
        r.signature.as_mut().unwrap().signature = bad.to_string();
        assert!(
            matches!(
                verify(&r, SignatureAlgorithm::Ed25519, &public),
                Err(SignatureError::Malformed(_))
            ),
            "{bad:?}"
        );
    }
    for version in [0, DIGEST_VERSION + 1, -1, i64::MAX] {
        let mut r = report.clone();
        r.signature.as_mut().unwrap().digest_version = version;
        assert!(matches!(
            verify(&r, SignatureAlgorithm::Ed25519, &public),
            Err(SignatureError::Malformed(_))
        ));
    }
    // A known older version whose digest the signature is not: a mismatch.
    let mut r = report.clone();
    r.signature.as_mut().unwrap().digest_version = 1;
    assert_eq!(
        verify(&r, SignatureAlgorithm::Ed25519, &public),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        verify(&report, SignatureAlgorithm::Ed25519, &public[..31]),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn registrations_refuse_keys_that_are_not_keys() {
    let good = hex(&test_key().verifying_key().to_bytes());
    let reg = |k: &str| DeviceKeyRegistration {
        algorithm: SignatureAlgorithm::Ed25519,
        public_key: k.to_string(),
    };
    assert_eq!(parse_public_key(&reg(&good)).unwrap().len(), 32);
    for bad in [
        "",
        "00",
        &good.to_uppercase(),
        &format!("{good}00"),
        &"é".repeat(32),
    ] {
        assert!(parse_public_key(&reg(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn hex_round_trips_and_refuses_non_hex() {
    assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
    assert_eq!(unhex("abc"), None);
    assert_eq!(unhex("éé"), None);
    assert!(is_key_id(&"0f".repeat(16)));
    assert!(!is_key_id(&"0F".repeat(16)));
    assert!(!is_key_id("0f"));
}

#[test]
fn signed_reports_parse_and_unknown_signature_fields_are_refused() {
    let mut report = golden_report();
    sign(&mut report, &test_key());
    let mut value = serde_json::to_value(&report).unwrap();
    value["signature"]["extra"] = serde_json::json!(1);
    assert!(serde_json::from_value::<Report>(value).is_err());
}
