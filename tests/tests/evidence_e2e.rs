//! Signed evidence end to end (issue 17): a device signs at submit, registers its key once
//! before the first batch, and the real server records the check with each ticket. A report
//! edited between device and server (by a proxy that rewrites the JSON) is flagged as a
//! mismatch, never accepted as clean, and still becomes a ticket: the rider's work arrives.

use gridline_core::sync::SyncOptions;
use gridline_core::{CancelToken, ListFilter, ReportState};
use gridline_e2e::district::{District, device};
use gridline_e2e::reports;
use gridline_e2e::tampering_proxy::TamperingProxy;
use gridline_protocol::evidence::SignatureCheck;
use gridline_protocol::wire::paths;
use gridline_server::admin;

fn signature_of(district: &District, report: uuid::Uuid) -> SignatureCheck {
    let tickets = district.all_tickets();
    let t = tickets
        .iter()
        .find(|t| t.report_id == report)
        .expect("the report became a ticket");
    t.evidence.as_ref().expect("an evidence record").signature
}

#[test]
fn a_device_registers_its_key_once_and_its_reports_verify() {
    let district = District::start(1);
    let rider = &district.riders[0];
    let app = device(&district.scratch("d"), rider);
    let first = reports::pothole(&app, 29.86, 121.53, "first", None);
    let ctx = district.context(&district.url(), rider);
    let opts = SyncOptions::default();
    app.sync(&ctx, &opts, None, &CancelToken::new()).unwrap();
    let second = reports::pothole(&app, 29.861, 121.531, "second", None);
    app.sync(&ctx, &opts, None, &CancelToken::new()).unwrap();

    let keys = admin::device_keys(&district.storage, Some(&rider.name)).unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].key_id, app.signing_key_id().unwrap());
    assert_eq!(signature_of(&district, first), SignatureCheck::Valid);
    assert_eq!(signature_of(&district, second), SignatureCheck::Valid);

    // Rotation: the next sync registers the new key; old and new reports verify.
    app.rotate_signing_key().unwrap();
    let third = reports::pothole(&app, 29.862, 121.532, "third", None);
    app.sync(&ctx, &opts, None, &CancelToken::new()).unwrap();
    assert_eq!(
        admin::device_keys(&district.storage, Some(&rider.name))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(signature_of(&district, third), SignatureCheck::Valid);
    assert_eq!(signature_of(&district, first), SignatureCheck::Valid);
}

#[test]
fn a_report_edited_in_transit_is_flagged_as_a_mismatch_not_accepted_as_clean() {
    let district = District::start(1);
    let rider = &district.riders[0];
    let upstream = district.server.as_ref().expect("running").addr();
    // The man in the middle clears the mock-location flag (a no-op on these honest fixes) and
    // upgrades the severity of every report in every batch.
    let proxy = TamperingProxy::start(upstream, paths::REPORTS_BATCH, |body| {
        if let Some(reports) = body["reports"].as_array_mut() {
            for r in reports {
                r["location"]["mock"] = serde_json::json!(false);
                r["severity"] = serde_json::json!("urgent");
            }
        }
    })
    .unwrap();
    let app = device(&district.scratch("d"), rider);
    let ids: Vec<_> = (0..3)
        .map(|i| reports::pothole(&app, 29.86 + f64::from(i) * 1e-3, 121.53, "p", None))
        .collect();
    let ctx = district.context(&proxy.base_url(), rider);
    let summary = app
        .sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .unwrap();
    assert_eq!(summary.sent, 3, "{summary:?}");
    assert!(proxy.edited.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    // The rider's reports all arrived (never lost for it) ...
    let accepted = app
        .list(&ListFilter {
            states: vec![ReportState::Accepted],
            limit: None,
        })
        .unwrap();
    assert_eq!(accepted.len(), 3);
    // ... and every edited one is flagged, with a reason a supervisor can read.
    let tickets = district.all_tickets();
    for id in ids {
        let t = tickets.iter().find(|t| t.report_id == id).unwrap();
        let e = t.evidence.as_ref().unwrap();
        assert_eq!(e.signature, SignatureCheck::Mismatch, "{e:?}");
        assert!(e.detail.contains("changed after"), "{}", e.detail);
        assert_eq!(t.severity, gridline_protocol::Severity::Urgent);
    }
    // The key itself went through the proxy untouched and is registered.
    assert_eq!(
        admin::device_keys(&district.storage, Some(&rider.name))
            .unwrap()
            .len(),
        1
    );
}
