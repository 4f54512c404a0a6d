//! A district for end-to-end tests and benchmarks: the real reference server on loopback, with
//! four grids around Ningbo's Haishu district, two supervisors and some riders.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gridline_core::transport::{DefaultTransport, HttpTransport, StaticToken, TokenProvider};
use gridline_core::{Client, ClientConfig, SyncContext};
use gridline_server::config::{MediaLocation, Storage};
use gridline_server::{Config, Role, RunningServer, Server, admin, testing};

/// A 2 x 2 block of grids (WGS-84), lon 121.52..121.58, lat 29.85..29.89.
pub const GRIDS_GEOJSON: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"NB-01","properties":{"name":"月湖 south-west","supervisor":"sup-a","parent":"haishu"},
  "geometry":{"type":"Polygon","coordinates":[[[121.52,29.85],[121.55,29.85],[121.55,29.87],[121.52,29.87],[121.52,29.85]]]}},
 {"type":"Feature","id":"NB-02","properties":{"name":"南门 south-east","supervisor":"sup-a","parent":"haishu"},
  "geometry":{"type":"Polygon","coordinates":[[[121.55,29.85],[121.58,29.85],[121.58,29.87],[121.55,29.87],[121.55,29.85]]]}},
 {"type":"Feature","id":"NB-03","properties":{"name":"西门 north-west","supervisor":"sup-b","parent":"haishu"},
  "geometry":{"type":"Polygon","coordinates":[[[121.52,29.87],[121.55,29.87],[121.55,29.89],[121.52,29.89],[121.52,29.87]]]}},
 {"type":"Feature","id":"NB-04","properties":{"name":"鼓楼 north-east","supervisor":"sup-b","parent":"haishu"},
  "geometry":{"type":"Polygon","coordinates":[[[121.55,29.87],[121.58,29.87],[121.58,29.89],[121.55,29.89],[121.55,29.87]]]}}
]}"#;

/// A user of the district and their token.
#[derive(Debug, Clone)]
pub struct Member {
    /// Login name.
    pub name: String,
    /// Bearer token.
    pub token: String,
}

/// The running district. Dropping it stops the server and deletes its data.
pub struct District {
    /// The server's data folder.
    pub data_dir: PathBuf,
    /// Where the server keeps tickets and photos: the data folder, or a fresh PostgreSQL
    /// database and S3 prefix when the environment names them (`gridline_server::testing`).
    pub storage: Storage,
    /// The server (None after `stop`).
    pub server: Option<RunningServer>,
    /// Riders, in creation order.
    pub riders: Vec<Member>,
    /// Supervisor of NB-01 and NB-02.
    pub sup_a: Member,
    /// Supervisor of NB-03 and NB-04.
    pub sup_b: Member,
    /// Sees everything (for checking the server's side).
    pub admin: Member,
    _dir: tempfile::TempDir,
}

fn member(storage: &Storage, name: &str, role: Role, grids: &[&str]) -> Member {
    let created = admin::add_user(
        storage,
        &admin::NewUser {
            name: name.into(),
            role,
            grids: grids.iter().map(|g| g.to_string()).collect(),
            expires_at: None,
        },
    )
    .expect("add user");
    Member {
        name: name.into(),
        token: created.token,
    }
}

impl District {
    /// Creates the district's data (grids, users) without starting the server.
    pub fn create(riders: usize) -> District {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("server");
        let storage = testing::storage(&data_dir);
        admin::import_grids(&storage, GRIDS_GEOJSON).expect("import grids");
        let sup_a = member(&storage, "sup-a", Role::Supervisor, &["NB-01", "NB-02"]);
        let sup_b = member(&storage, "sup-b", Role::Supervisor, &["NB-03", "NB-04"]);
        let admin = member(&storage, "admin", Role::Admin, &[]);
        let riders = (0..riders)
            .map(|i| member(&storage, &format!("rider-{i}"), Role::Rider, &[]))
            .collect();
        District {
            data_dir,
            storage,
            server: None,
            riders,
            sup_a,
            sup_b,
            admin,
            _dir: dir,
        }
    }

    /// Creates the district and starts its server.
    pub fn start(riders: usize) -> District {
        let mut d = District::create(riders);
        d.start_server(d.config());
        d
    }

    /// The default server configuration on the district's storage.
    pub fn config(&self) -> Config {
        Config::with_storage(self.storage.clone())
    }

    /// True when photos are in the data folder (tests that reach into it need that).
    pub fn media_is_local(&self) -> bool {
        self.storage.media == MediaLocation::Local
    }

    /// Starts (or restarts) the server with `config`.
    pub fn start_server(&mut self, config: Config) {
        self.server = Some(Server::start(config).expect("start server"));
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        self.server.as_ref().expect("server running").base_url()
    }

    /// A sync context for `member` against `url` with the default transport.
    pub fn context(&self, url: &str, member: &Member) -> SyncContext {
        let transport: Arc<dyn HttpTransport> =
            Arc::new(DefaultTransport::new().expect("transport"));
        let tokens: Arc<dyn TokenProvider> = Arc::new(StaticToken(member.token.clone()));
        SyncContext {
            server_url: url.into(),
            transport,
            tokens,
        }
    }

    /// A scratch folder inside the district's temp dir.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self._dir.path().join(name);
        std::fs::create_dir_all(&p).expect("scratch dir");
        p
    }
}

/// Opens a device database for `member` in `dir`.
pub fn device(dir: &Path, member: &Member) -> Client {
    std::fs::create_dir_all(dir).expect("device dir");
    Client::open(ClientConfig {
        db_path: dir.join(format!("{}.db", member.name)),
        reporter: member.name.clone(),
        app_version: "e2e".into(),
    })
    .expect("open device")
}

impl District {
    /// Every ticket on the server, read through the admin's worklist (all pages).
    pub fn all_tickets(&self) -> Vec<gridline_protocol::wire::Ticket> {
        let dir = self.scratch(&format!("admin-{}", uuid::Uuid::now_v7()));
        let admin = device(&dir, &self.admin);
        admin
            .refresh_worklist(
                &self.context(&self.url(), &self.admin),
                &gridline_protocol::wire::TicketQuery::default(),
            )
            .expect("admin pulls tickets");
        admin.worklist(&[]).expect("worklist")
    }

    /// The complete photos the server holds: (sha256 named, sha256 of the bytes).
    pub fn server_photos(&self) -> Vec<(String, String)> {
        use sha2::{Digest, Sha256};
        let media = gridline_server::backends::open_media(&self.storage).expect("media store");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let names = runtime.block_on(media.photos()).expect("list photos");
        let mut out = Vec::new();
        for name in names {
            let bytes = runtime
                .block_on(media.read(&name))
                .expect("read photo")
                .expect("a listed photo is there");
            let hash: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            out.push((name, hash));
        }
        out.sort();
        out
    }
}

/// Writes `n` distinct small JPEG photos into `dir` (real JPEG bytes, made here).
pub fn make_photos(dir: &Path, n: usize) -> Vec<PathBuf> {
    use gridline_core::photo::fixtures::{self, JpegSpec};
    std::fs::create_dir_all(dir).expect("photo dir");
    (0..n)
        .map(|i| {
            // Distinct sizes make distinct photos, whatever the encoder does to the pixels.
            let (w, h) = (64 + (i % 200) as u32, 48 + (i / 200) as u32);
            let rgb = fixtures::quadrants(w, h);
            let path = dir.join(format!("photo-{i}.jpg"));
            std::fs::write(&path, fixtures::jpeg(&rgb, w, h, &JpegSpec::default()))
                .expect("write photo");
            path
        })
        .collect()
}
