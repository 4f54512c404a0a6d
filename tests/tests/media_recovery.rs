//! Regression: a photo whose last PATCH delivered every byte but was cut off before the server
//! verified the hash must not be reported as complete while it is not. HEAD finishes it.
//! (Found by `crash_sync`: a client killed mid-PATCH saw "offset == length" and marked the
//! photo uploaded, though the server never stored it.)

use std::collections::BTreeMap;
use std::time::Duration;

use gridline_core::DraftPatch;
use gridline_core::store::Store;
use gridline_core::transport::{DefaultTransport, HttpRequest, HttpTransport};
use gridline_e2e::district::{District, device, make_photos};
use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, ReportKind, Timestamp,
};

#[test]
fn head_finishes_a_fully_received_but_unverified_upload() {
    let district = District::start(1);
    let rider = &district.riders[0];
    let scratch = district.scratch("device");
    let client = device(&scratch, rider);
    let photo = &make_photos(&scratch.join("camera"), 1)[0];
    let id = client.create_draft(ReportKind::Other).unwrap().id;
    client
        .update_draft(
            id,
            DraftPatch {
                category: Some("general".into()),
                location: Some(LocationFix {
                    lat: 29.86,
                    lon: 121.53,
                    accuracy_m: 5.0,
                    altitude_m: None,
                    provider: LocationProvider::Gps,
                    fix_time: Timestamp::now(),
                    mock: false,
                    source_crs: CoordSystem::Wgs84,
                }),
                set_attributes: [].into_iter().collect::<BTreeMap<String, AttrValue>>(),
                ..Default::default()
            },
        )
        .unwrap();
    let photo_ref = client.attach_photo(id, photo).unwrap();
    client.submit(id).unwrap();
    let payload = Store::open(&scratch.join(format!("{}.db", rider.name)))
        .unwrap()
        .payload(&id)
        .unwrap()
        .unwrap();

    let transport = DefaultTransport::new().unwrap();
    let send = |method: &str, path: &str, body: Vec<u8>, extra: &[(&str, &str)]| {
        let mut headers = BTreeMap::from([(
            "authorization".to_string(),
            format!("Bearer {}", rider.token),
        )]);
        for (k, v) in extra {
            headers.insert(k.to_string(), v.to_string());
        }
        transport
            .send(HttpRequest {
                method: method.into(),
                url: format!("{}{path}", district.url()),
                headers,
                body,
                timeout: Duration::from_secs(10),
                max_response_bytes: 1 << 20,
            })
            .unwrap()
    };
    let batch = serde_json::to_vec(&serde_json::json!({ "reports": [payload] })).unwrap();
    let r = send(
        "POST",
        "/v1/reports:batch",
        batch,
        &[("content-type", "application/json")],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // Every byte is on the server's disk as a partial upload; nothing verified it yet: all but
    // the last byte arrive by PATCH, the last one as if the PATCH that carried it was cut off
    // between the write and the check.
    let bytes = std::fs::read(client.photo_path(&photo_ref.sha256, false).unwrap()).unwrap();
    let r = send(
        "PATCH",
        &format!("/v1/media/{}", photo_ref.sha256),
        bytes[..bytes.len() - 1].to_vec(),
        &[
            ("content-type", "application/offset+octet-stream"),
            ("upload-offset", "0"),
        ],
    );
    assert_eq!(r.status, 204);
    // The last byte goes straight into the server's media store (its folder or its bucket), as
    // the cut-off PATCH would have left it.
    let media = gridline_server::backends::open_media(&district.storage).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let partials = runtime.block_on(media.partials()).unwrap();
    assert_eq!(partials.len(), 1, "{partials:?}");
    let (owner, name) = &partials[0];
    assert_eq!(name, &photo_ref.sha256);
    runtime
        .block_on(media.append(
            *owner,
            name,
            bytes.len() as u64 - 1,
            bytes[bytes.len() - 1..].to_vec().into(),
        ))
        .unwrap();

    let head = send(
        "HEAD",
        &format!("/v1/media/{}", photo_ref.sha256),
        vec![],
        &[],
    );
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("upload-offset"),
        Some(bytes.len().to_string().as_str())
    );
    let stored: Vec<(String, String)> = district.server_photos();
    assert_eq!(
        stored,
        vec![(photo_ref.sha256.clone(), photo_ref.sha256.clone())],
        "HEAD must finish and verify it"
    );
    let get = send(
        "GET",
        &format!("/v1/media/{}", photo_ref.sha256),
        vec![],
        &[],
    );
    assert_eq!((get.status, get.body.len()), (200, bytes.len()));
}
