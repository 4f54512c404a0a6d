//! The FFI contract tested from Rust (no Kotlin or Swift toolchain needed): foreign traits
//! implemented in Rust, the client object's lifecycle, and hostile input through the surface.
//! The foreign traits are async: a Rust implementation's future stands for the Kotlin
//! coroutine or Swift task, and its drop is what uniffi turns into cancelling them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gridline_core::ffi::foreign::{
    HttpRequest, HttpResponse, HttpTransport, TokenError, TokenProvider, TransportError,
};
use gridline_core::ffi::signer::{DeviceSigner, DeviceSignerError};
use gridline_core::transport::{DefaultTransport, HttpTransport as _};
use gridline_core::{DraftPatch, ReportState, SyncObserver, SyncProgress, SyncSettings};
use gridline_ffi::GridlineError;
use gridline_ffi::client::SyncHandle;
use gridline_ffi::client::{ClientConfig, GridlineClient, ServerConfig};
use gridline_protocol::evidence::SignatureAlgorithm;
use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, ReportKind, Timestamp,
};
use gridline_server::{Config, Role, Server, admin};
use uuid::Uuid;

struct Fixed(String);
#[async_trait::async_trait]
impl TokenProvider for Fixed {
    async fn token(&self, _refresh: bool) -> Result<String, TokenError> {
        Ok(self.0.clone())
    }
}

struct Failing;
#[async_trait::async_trait]
impl TokenProvider for Failing {
    async fn token(&self, _refresh: bool) -> Result<String, TokenError> {
        Err(TokenError::Unavailable {
            reason: "signed out".into(),
        })
    }
}

/// The app's own transport (here: the default one on a thread of its own, as OkHttp's
/// dispatcher or URLSession would run it, counting requests).
struct AppTransport {
    inner: Arc<DefaultTransport>,
    calls: AtomicUsize,
}

/// An app transport, as every app passes one to a mobile library without the built-in one.
fn app_transport() -> Option<Arc<dyn HttpTransport>> {
    Some(Arc::new(AppTransport {
        inner: Arc::new(DefaultTransport::new().unwrap()),
        calls: AtomicUsize::new(0),
    }))
}
#[async_trait::async_trait]
impl HttpTransport for AppTransport {
    async fn send(&self, r: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let req = gridline_core::transport::HttpRequest {
            method: r.method,
            url: r.url,
            headers: r.headers.into_iter().collect(),
            body: r.body,
            timeout: std::time::Duration::from_millis(u64::try_from(r.timeout_ms).unwrap_or(0)),
            max_response_bytes: u64::try_from(r.max_response_bytes).unwrap_or(0),
        };
        let (answer, answered) = futures::channel::oneshot::channel();
        let inner = Arc::clone(&self.inner);
        std::thread::spawn(move || answer.send(inner.send(req)));
        let resp = answered
            .await
            .map_err(|_| TransportError::Connection {
                reason: "the transport thread died".into(),
            })?
            .map_err(|e| TransportError::Connection {
                reason: e.to_string(),
            })?;
        Ok(HttpResponse {
            status: i32::from(resp.status),
            headers: resp.headers.into_iter().collect::<HashMap<_, _>>(),
            body: resp.body,
        })
    }
}

#[derive(Default)]
struct Progress(Mutex<Vec<SyncProgress>>);
impl SyncObserver for Progress {
    fn on_progress(&self, p: SyncProgress) {
        self.0.lock().unwrap().push(p);
    }
}

fn open(dir: &std::path::Path, name: &str) -> Arc<GridlineClient> {
    GridlineClient::open(ClientConfig {
        db_path: dir
            .join(format!("{name}.db"))
            .to_string_lossy()
            .into_owned(),
        reporter: name.into(),
        app_version: "ffi-test".into(),
    })
    .unwrap()
}

fn pothole(client: &GridlineClient, lat: f64) -> Result<Uuid, GridlineError> {
    let id = client.create_draft(ReportKind::RoadDamage)?.id;
    client.update_draft(
        id,
        DraftPatch {
            category: Some("pothole".into()),
            location: Some(LocationFix {
                lat,
                lon: 121.54,
                accuracy_m: 5.0,
                altitude_m: None,
                provider: LocationProvider::Gps,
                fix_time: Timestamp::from_millis(1_764_300_000_000),
                mock: false,
                source_crs: CoordSystem::Wgs84,
            }),
            set_attributes: [("size".to_string(), AttrValue::Text("large".into()))].into(),
            ..Default::default()
        },
    )?;
    client.submit(id)?;
    Ok(id)
}

/// The reference server on loopback with one rider; returns the server and the rider.
fn server_with_rider(
    dir: &std::path::Path,
) -> (gridline_server::RunningServer, admin::CreatedUser) {
    let data = dir.join("server");
    let rider = admin::add_user(
        &data,
        &admin::NewUser {
            name: "r".into(),
            role: Role::Rider,
            grids: vec![],
            expires_at: None,
        },
    )
    .unwrap();
    (Server::start(Config::new(&data)).unwrap(), rider)
}

#[test]
fn sync_through_an_app_supplied_transport_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (server, rider) = server_with_rider(dir.path());
    let client = open(dir.path(), "r");
    pothole(&client, 29.86).unwrap();
    pothole(&client, 29.87).unwrap();
    let transport = Arc::new(AppTransport {
        inner: Arc::new(DefaultTransport::new().unwrap()),
        calls: AtomicUsize::new(0),
    });
    client
        .set_server(ServerConfig {
            url: server.base_url(),
            tokens: Arc::new(Fixed(rider.token)),
            transport: Some(transport.clone()),
        })
        .unwrap();
    let progress = Arc::new(Progress::default());
    let summary = client
        .sync(
            SyncSettings::default(),
            Some(progress.clone()),
            SyncHandle::new(),
        )
        .unwrap();
    assert_eq!(
        (summary.sent, summary.incomplete),
        (2, false),
        "{summary:?}"
    );
    assert!(
        transport.calls.load(Ordering::Relaxed) >= 2,
        "the app's transport carried the sync"
    );
    assert!(
        progress
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.done == 2 && p.total == 2),
        "progress reported"
    );
    assert_eq!(
        client
            .list(vec![ReportState::Accepted], None)
            .unwrap()
            .len(),
        2
    );
    server.shutdown().unwrap();
}

#[test]
fn a_failing_token_provider_is_an_auth_error_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let server = Server::start(Config::new(&data)).unwrap();
    let client = open(dir.path(), "r");
    let id = pothole(&client, 29.86).unwrap();
    client
        .set_server(ServerConfig {
            url: server.base_url(),
            tokens: Arc::new(Failing),
            transport: app_transport(),
        })
        .unwrap();
    let err = client
        .sync(SyncSettings::default(), None, SyncHandle::new())
        .unwrap_err();
    assert!(matches!(err, GridlineError::Auth { .. }), "{err:?}");
    assert_eq!(client.get(id).unwrap().state, ReportState::Queued);
    server.shutdown().unwrap();
}

#[test]
fn hostile_input_through_the_surface_is_typed() {
    let dir = tempfile::tempdir().unwrap();
    let client = open(dir.path(), "r");
    let field = |e: GridlineError| match e {
        GridlineError::Validation { field, .. } => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(pothole(&client, f64::NAN).unwrap_err()),
        "location.lat"
    );
    // An id arriving from Kotlin or Swift as text: refused as it is lifted, with the typed
    // error uniffi hands back to the caller (it downcasts the lift error to the method's).
    for text in ["not-a-uuid", "", "../outside.txt"] {
        let lowered = <String as uniffi::Lower<gridline_ffi::UniFfiTag>>::lower(text.into());
        let err = <Uuid as uniffi::Lift<gridline_ffi::UniFfiTag>>::try_lift(lowered).unwrap_err();
        assert_eq!(
            field(err.downcast::<GridlineError>().unwrap()),
            "id",
            "{text:?}"
        );
    }
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, b"\xFF\xD8\xFF garbage").unwrap();
    let draft = client.create_draft(ReportKind::Other).unwrap().id;
    assert!(matches!(
        client.attach_photo(draft, bad.to_string_lossy().into()),
        Err(GridlineError::Photo { .. })
    ));
    assert!(client.get(draft).unwrap().photos.is_empty());
    let no_server = client
        .sync(SyncSettings::default(), None, SyncHandle::new())
        .unwrap_err();
    assert_eq!(field(no_server), "server");
    let plain = ServerConfig {
        url: "http://grid.example.com".into(),
        tokens: Arc::new(Failing),
        transport: None,
    };
    assert_eq!(field(client.set_server(plain).unwrap_err()), "server_url");
}

#[test]
fn closing_twice_and_use_after_close_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let client = open(dir.path(), "r");
    client.close_store().unwrap();
    assert_eq!(client.close_store(), Err(GridlineError::Closed));
    assert!(matches!(client.counts(), Err(GridlineError::Closed)));
    assert!(matches!(
        client.create_draft(ReportKind::Other),
        Err(GridlineError::Closed)
    ));
    // The file is released: another client opens it.
    let again = open(dir.path(), "r");
    assert_eq!(again.counts().unwrap().drafts, 0);
}

#[test]
fn cancelled_before_it_starts_a_sync_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, rider) = server_with_rider(dir.path());
    let client = open(dir.path(), "r");
    pothole(&client, 29.86).unwrap();
    client
        .set_server(ServerConfig {
            url: server.base_url(),
            tokens: Arc::new(Fixed(rider.token)),
            transport: app_transport(),
        })
        .unwrap();
    let handle = SyncHandle::new();
    handle.cancel();
    let s = client.sync(SyncSettings::default(), None, handle).unwrap();
    assert!(s.incomplete && s.sent == 0 && s.remaining == 1, "{s:?}");
    let s = client
        .sync(SyncSettings::default(), None, SyncHandle::new())
        .unwrap();
    assert_eq!(s.sent, 1);
    server.shutdown().unwrap();
}

/// Tells the test when the app's call started and when its future was dropped unfinished
/// (what uniffi turns into cancelling the coroutine / task).
struct Watch {
    started: std::sync::mpsc::Sender<()>,
    dropped: std::sync::mpsc::Sender<()>,
}

/// Sends on `dropped` when dropped: lives in the pending future.
struct OnDrop(std::sync::mpsc::Sender<()>);
impl Drop for OnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

impl Watch {
    /// A call that never answers by itself.
    async fn hang<T>(&self) -> T {
        let _guard = OnDrop(self.dropped.clone());
        let _ = self.started.send(());
        std::future::pending().await
    }
}

/// A transport whose requests hang until cancelled.
struct Hanging(Watch);
#[async_trait::async_trait]
impl HttpTransport for Hanging {
    async fn send(&self, _r: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.0.hang().await
    }
}

/// A token provider whose refresh hangs until cancelled.
struct HangingTokens(Watch);
#[async_trait::async_trait]
impl TokenProvider for HangingTokens {
    async fn token(&self, _refresh: bool) -> Result<String, TokenError> {
        self.0.hang().await
    }
}

/// A `Watch` and the test's ends of its channels.
fn watch() -> (
    Watch,
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::Receiver<()>,
) {
    let (started, started_rx) = std::sync::mpsc::channel();
    let (dropped, dropped_rx) = std::sync::mpsc::channel();
    (Watch { started, dropped }, started_rx, dropped_rx)
}

/// Bounds the test's own waiting if the code under test hangs (not a speed requirement).
const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(60);

/// Starts a sync on a thread with the given foreign parts; returns it once the app's call
/// started, with the run's handle.
fn sync_until_the_app_is_called(
    client: &Arc<GridlineClient>,
    tokens: Arc<dyn TokenProvider>,
    transport: Arc<dyn HttpTransport>,
    started: &std::sync::mpsc::Receiver<()>,
) -> (
    std::thread::JoinHandle<Result<gridline_core::SyncSummary, GridlineError>>,
    Arc<SyncHandle>,
) {
    client
        .set_server(ServerConfig {
            url: "http://127.0.0.1:9".into(),
            tokens,
            transport: Some(transport),
        })
        .unwrap();
    let handle = SyncHandle::new();
    let run = {
        let (client, handle) = (Arc::clone(client), Arc::clone(&handle));
        std::thread::spawn(move || client.sync(SyncSettings::default(), None, handle))
    };
    started
        .recv_timeout(HANG_GUARD)
        .expect("the app was called");
    (run, handle)
}

#[test]
fn cancelling_a_sync_cancels_the_apps_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let client = open(dir.path(), "r");
    let id = pothole(&client, 29.86).unwrap();
    let (watch, started, dropped) = watch();
    let (run, handle) = sync_until_the_app_is_called(
        &client,
        Arc::new(Fixed("t".into())),
        Arc::new(Hanging(watch)),
        &started,
    );
    assert!(dropped.try_recv().is_err(), "still in flight");
    handle.cancel();
    dropped
        .recv_timeout(HANG_GUARD)
        .expect("the request in flight was cancelled");
    let summary = run.join().unwrap().unwrap();
    assert!(summary.incomplete && summary.sent == 0, "{summary:?}");
    assert_eq!(client.get(id).unwrap().state, ReportState::Queued);
    // Nothing else was asked of the app after the cancel.
    assert!(started.try_recv().is_err());
}

#[test]
fn cancelling_a_sync_cancels_the_apps_token_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let client = open(dir.path(), "r");
    pothole(&client, 29.86).unwrap();
    let (watch, started, dropped) = watch();
    let (unused, _, _) = self::watch();
    let (run, _handle) = sync_until_the_app_is_called(
        &client,
        Arc::new(HangingTokens(watch)),
        Arc::new(Hanging(unused)),
        &started,
    );
    client.cancel_sync();
    dropped
        .recv_timeout(HANG_GUARD)
        .expect("the token request was cancelled");
    let outcome = run.join().unwrap();
    assert!(
        matches!(&outcome, Err(GridlineError::Auth { .. }))
            || matches!(&outcome, Ok(s) if s.incomplete && s.sent == 0),
        "{outcome:?}"
    );
}

#[test]
fn closing_the_client_cancels_the_apps_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let client = open(dir.path(), "r");
    pothole(&client, 29.86).unwrap();
    let (watch, started, dropped) = watch();
    let (run, _handle) = sync_until_the_app_is_called(
        &client,
        Arc::new(Fixed("t".into())),
        Arc::new(Hanging(watch)),
        &started,
    );
    client.close_store().unwrap();
    dropped
        .recv_timeout(HANG_GUARD)
        .expect("the request in flight was cancelled");
    let summary = run.join().unwrap().unwrap();
    assert!(summary.incomplete && summary.sent == 0, "{summary:?}");
    // The database was released: another client opens it and finds the report queued.
    let again = open(dir.path(), "r");
    assert_eq!(again.counts().unwrap().pending, 1);
}

/// The app's platform key, played by a software key behind the foreign trait; `fail` makes
/// every signature throw (a locked keystore).
struct AppKey {
    key: gridline_core::evidence::SoftwareSigner,
    fail: bool,
}
impl DeviceSigner for AppKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::Ed25519
    }
    fn public_key(&self) -> Result<Vec<u8>, DeviceSignerError> {
        Ok(self.key.public_bytes().to_vec())
    }
    fn sign(&self, digest: Vec<u8>) -> Result<Vec<u8>, DeviceSignerError> {
        if self.fail {
            return Err(DeviceSignerError::Unavailable {
                reason: "keystore locked".into(),
            });
        }
        Ok(gridline_core::evidence::Signer::sign(&self.key, &digest).unwrap())
    }
}

/// The server's signature outcome on the ticket of report `id` (`valid`, `unsigned`, ...).
fn signature_outcome(server: &str, token: &str, client: &GridlineClient, id: Uuid) -> String {
    let ticket = client.get(id).unwrap().ticket_id.expect("filed");
    let resp = DefaultTransport::new()
        .unwrap()
        .send(gridline_core::transport::HttpRequest {
            method: "GET".into(),
            url: format!("{server}/v1/tickets/{ticket}"),
            headers: [("authorization".into(), format!("Bearer {token}"))].into(),
            body: vec![],
            timeout: std::time::Duration::from_secs(30),
            max_response_bytes: 1 << 20,
        })
        .unwrap();
    assert_eq!(resp.status, 200);
    let t: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    t["evidence"]["signature"].as_str().unwrap().to_string()
}

#[test]
fn an_app_signer_signs_reports_the_server_verifies_and_a_failing_one_leaves_them_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let (server, rider) = server_with_rider(dir.path());
    let client = open(dir.path(), "r");
    let key = gridline_core::evidence::SoftwareSigner::generate();
    let expected = gridline_protocol::evidence::key_id(&key.public_bytes());
    let id = client
        .set_signer(Arc::new(AppKey { key, fail: false }))
        .unwrap();
    assert_eq!(id, expected);
    assert_eq!(client.signing_key_id().unwrap(), expected);
    let signed = pothole(&client, 29.86).unwrap();

    let locked = gridline_core::evidence::SoftwareSigner::generate();
    client
        .set_signer(Arc::new(AppKey {
            key: locked,
            fail: true,
        }))
        .unwrap();
    let unsigned = pothole(&client, 29.87).unwrap();

    client
        .set_server(ServerConfig {
            url: server.base_url(),
            tokens: Arc::new(Fixed(rider.token.clone())),
            transport: app_transport(),
        })
        .unwrap();
    let s = client
        .sync(SyncSettings::default(), None, SyncHandle::new())
        .unwrap();
    assert_eq!((s.sent, s.incomplete), (2, false), "{s:?}");
    let url = server.base_url();
    assert_eq!(
        signature_outcome(&url, &rider.token, &client, signed),
        "valid"
    );
    assert_eq!(
        signature_outcome(&url, &rider.token, &client, unsigned),
        "unsigned"
    );

    // Rotation back to a software key: a new id, and its reports verify too.
    let rotated = client.rotate_signing_key().unwrap();
    assert_ne!(rotated, expected);
    let after = pothole(&client, 29.88).unwrap();
    client
        .sync(SyncSettings::default(), None, SyncHandle::new())
        .unwrap();
    assert_eq!(
        signature_outcome(&url, &rider.token, &client, after),
        "valid"
    );
    server.shutdown().unwrap();
}

/// A signer whose public key cannot be read is refused and the key in use stays.
struct NoKey;
impl DeviceSigner for NoKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::Ed25519
    }
    fn public_key(&self) -> Result<Vec<u8>, DeviceSignerError> {
        Err(DeviceSignerError::Unavailable {
            reason: "no key in the keystore".into(),
        })
    }
    fn sign(&self, _digest: Vec<u8>) -> Result<Vec<u8>, DeviceSignerError> {
        unreachable!("never asked to sign")
    }
}

#[test]
fn a_signer_without_a_public_key_is_refused_and_the_current_key_stays() {
    let dir = tempfile::tempdir().unwrap();
    let client = open(dir.path(), "r");
    let before = client.signing_key_id().unwrap();
    let e = client.set_signer(Arc::new(NoKey)).unwrap_err();
    assert!(e.to_string().contains("no key in the keystore"), "{e}");
    assert_eq!(client.signing_key_id().unwrap(), before);
    pothole(&client, 29.86).unwrap();
}

#[test]
fn cancelling_a_worklist_refresh_cancels_the_apps_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let client = open(dir.path(), "sup");
    let (watch, started, dropped) = watch();
    client
        .set_server(ServerConfig {
            url: "http://127.0.0.1:9".into(),
            tokens: Arc::new(Fixed("t".into())),
            transport: Some(Arc::new(Hanging(watch))),
        })
        .unwrap();
    let handle = SyncHandle::new();
    let run = {
        let (client, handle) = (Arc::clone(&client), Arc::clone(&handle));
        std::thread::spawn(move || client.refresh_worklist(vec![], handle))
    };
    started
        .recv_timeout(HANG_GUARD)
        .expect("the app was called");
    assert!(dropped.try_recv().is_err(), "still in flight");
    handle.cancel();
    dropped
        .recv_timeout(HANG_GUARD)
        .expect("the request in flight was cancelled");
    let outcome = run.join().unwrap();
    assert!(
        matches!(
            &outcome,
            Err(GridlineError::Network {
                retryable: true,
                ..
            })
        ),
        "{outcome:?}"
    );
    // A cancelled triage push asks nothing of the app and keeps its (empty) queue.
    let cancelled = SyncHandle::new();
    cancelled.cancel();
    let s = client.send_triage(cancelled).unwrap();
    assert_eq!(s.remaining, 0, "{s:?}");
    assert!(started.try_recv().is_err());
}
