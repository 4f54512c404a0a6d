//! `gridline demo`: the main job, end to end on one machine.
//!
//! A district is set up (grids, two supervisors, three riders) with the reference server on an
//! embedded SQLite file. Riders file reports of all three kinds with photos while the server is
//! still down; then it comes up and they sync in batches; supervisors triage (accept, dispatch,
//! merge a duplicate, reject, resolve, close); riders sync again and see the outcome.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use gridline_core::sync::SyncOptions;
use gridline_core::transport::{DefaultTransport, StaticToken};
use gridline_core::{CancelToken, Client, ClientConfig, DraftPatch, ListFilter, SyncContext};
use gridline_protocol::wire::{EventAction, TicketQuery, TicketStatus, TriageAction};
use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, Outreach, ReportKind, Severity,
    Timestamp, VenueType,
};
use gridline_server::clock::Clock;
use gridline_server::config::Storage;
use gridline_server::{Config, Role, Server, admin};
use serde::Serialize;

use crate::demo_exif::CameraFacts;
use crate::output::{CliError, print_json};

/// Flags of `gridline demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's files (server data, rider databases, photos) in this folder.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Reports each rider files while offline.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub reports_per_rider: u32,
    /// After the story, keep the server running (until Ctrl-C) and print the triage console's
    /// URL and the supervisors' tokens, so the demo's tickets can be triaged in a browser.
    #[arg(long)]
    pub serve: bool,
    /// With --serve: where the server listens afterwards (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0", requires = "serve")]
    pub listen: std::net::SocketAddr,
}

/// The departments the demo district dispatches to (`GET /v1/departments`).
const DEPARTMENTS: &[&str] = &[
    "海曙区住建局 road maintenance",
    "海曙区环卫所 sanitation",
    "海曙区城管执法中队 enforcement",
    "海曙公安分局反诈中心 anti-fraud centre",
];

fn demo_config(data: &Path, clock: Clock) -> Config {
    let mut config = Config::new(data);
    config.departments = DEPARTMENTS.iter().map(|d| d.to_string()).collect();
    config.clock = clock;
    config
}

const HOUR_MS: i64 = 3_600_000;

/// The four grids of the demo district (Haishu, Ningbo), WGS-84.
const GRIDS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"HS-01","properties":{"name":"月湖","supervisor":"sup-wang","parent":"haishu"},
  "geometry":{"type":"Polygon","coordinates":[[[121.52,29.85],[121.55,29.85],[121.55,29.87],[121.52,29.87],[121.52,29.85]]]}},
 {"type":"Feature","id":"HS-02","properties":{"name":"南门","supervisor":"sup-wang","parent":"haishu"},
  "geometry":{"type":"Polygon","coordinates":[[[121.55,29.85],[121.58,29.85],[121.58,29.87],[121.55,29.87],[121.55,29.85]]]}},
 {"type":"Feature","id":"HS-03","properties":{"name":"西门","supervisor":"sup-chen","parent":"haishu"},
  "geometry":{"type":"Polygon","coordinates":[[[121.52,29.87],[121.55,29.87],[121.55,29.89],[121.52,29.89],[121.52,29.87]]]}},
 {"type":"Feature","id":"HS-04","properties":{"name":"鼓楼","supervisor":"sup-chen","parent":"haishu"},
  "geometry":{"type":"Polygon","coordinates":[[[121.55,29.87],[121.58,29.87],[121.58,29.89],[121.55,29.89],[121.55,29.87]]]}}
]}"#;

struct Sample {
    kind: ReportKind,
    category: &'static str,
    note: &'static str,
    attrs: &'static [(&'static str, &'static str)],
    outreach: Option<(u32, u32, VenueType)>,
    photo: bool,
}

const SAMPLES: &[Sample] = &[
    Sample {
        kind: ReportKind::RoadDamage,
        category: "pothole",
        note: "非机动车道大坑，电动车易摔",
        attrs: &[("size", "large"), ("depth_cm", "12")],
        outreach: None,
        photo: true,
    },
    Sample {
        kind: ReportKind::GarbageSorting,
        category: "overflowing_bin",
        note: "小区门口厨余桶满溢",
        attrs: &[("bin_types", "kitchen,residual"), ("bin_count", "3")],
        outreach: None,
        photo: true,
    },
    Sample {
        kind: ReportKind::AntiFraudOutreach,
        category: "shop_visit",
        note: "走访沿街商户，讲解刷单诈骗",
        attrs: &[("shops_visited", "14"), ("topics", "job_scam,app_download")],
        outreach: Some((22, 30, VenueType::Shop)),
        photo: false,
    },
    Sample {
        kind: ReportKind::RoadDamage,
        category: "missing_manhole_cover",
        note: "Sewage cover missing near the school gate",
        attrs: &[("cover_type", "sewage"), ("hazard_marked", "no")],
        outreach: None,
        photo: true,
    },
    Sample {
        kind: ReportKind::GarbageSorting,
        category: "illegal_dumping",
        note: "建筑垃圾倒在绿化带",
        attrs: &[("waste_types", "construction"), ("volume", "cart")],
        outreach: None,
        photo: false,
    },
    Sample {
        kind: ReportKind::AntiFraudOutreach,
        category: "community_lecture",
        note: "社区老年活动室反诈讲座",
        attrs: &[
            ("topics", "elderly_care_scam,telecom_fraud"),
            ("duration_min", "45"),
        ],
        outreach: Some((35, 35, VenueType::Community)),
        photo: true,
    },
    Sample {
        kind: ReportKind::RoadDamage,
        category: "waterlogging",
        note: "下穿通道积水",
        attrs: &[("depth_cm", "25"), ("passable", "no")],
        outreach: None,
        photo: false,
    },
    Sample {
        kind: ReportKind::GarbageSorting,
        category: "mixed_sorting",
        note: "可回收桶里全是外卖餐盒",
        attrs: &[("bin_types", "recyclable"), ("site_type", "restaurant")],
        outreach: None,
        photo: false,
    },
];

/// A small synthetic evidence photo: a grey road with a dark patch, different per `seed`, with
/// the EXIF a phone camera writes when `camera` says where and when it was taken.
fn synthetic_photo(path: &Path, seed: u32, camera: Option<&CameraFacts>) -> Result<(), CliError> {
    road_photo(path, seed, View::default(), camera)
}

/// Where a photo of a scene is taken from: the camera moved by `shift` pixels (a step to the
/// side, a different framing) in a different light.
#[derive(Debug, Clone, Copy, Default)]
struct View {
    shift: (i32, i32),
    light: i32,
}

/// Renders scene `seed` as seen from `view` and writes it as a JPEG.
fn road_photo(
    path: &Path,
    seed: u32,
    view: View,
    camera: Option<&CameraFacts>,
) -> Result<(), CliError> {
    let (w, h) = (800u16, 600u16);
    let mut rgb = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    let (cx, cy) = (
        200 + (seed * 37 % 400) as i32,
        200 + (seed * 53 % 200) as i32,
    );
    let lit = |v: i32| (v + view.light).clamp(0, 255) as u8;
    for row in 0..i32::from(h) {
        for col in 0..i32::from(w) {
            let (x, y) = (col + view.shift.0, row + view.shift.1);
            let (dx, dy) = (x - cx, (y - cy) * 2);
            let pixel = if y < 150 {
                [lit(120), lit(170), lit(230)] // sky
            } else if dx * dx + dy * dy < 90 * 90 {
                [lit(40), lit(35), lit(30)] // the pothole
            } else {
                let grain = (x * 7 + y * 13 + seed as i32).rem_euclid(23);
                [lit(110 + grain), lit(110 + grain), lit(105 + grain)]
            };
            rgb.extend_from_slice(&pixel);
        }
    }
    let failed = |e: jpeg_encoder::EncodingError| {
        CliError::other("io", format!("cannot write demo photo: {e}"))
    };
    let mut encoder = jpeg_encoder::Encoder::new_file(path, 85).map_err(failed)?;
    if let Some(facts) = camera {
        encoder
            .add_exif_metadata(&crate::demo_exif::tiff(facts))
            .map_err(failed)?;
    }
    encoder
        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(failed)
}

fn io(e: impl std::fmt::Display) -> CliError {
    CliError::other("io", e.to_string())
}

/// Where rider `r` files report `i`: up and down a column of the district, ~450 m between
/// stops, a new column every nine (so no two consecutive reports are a kilometre apart and
/// the impossible-speed signal stays quiet for honest riders). Riders start in different
/// columns, so every grid gets reports.
fn route_point(r: usize, i: usize) -> (f64, f64) {
    let column = (i / 9 + r * 2) % 7;
    let step = if (i / 9).is_multiple_of(2) {
        i % 9
    } else {
        8 - i % 9
    };
    (
        29.852 + step as f64 * 0.004,
        121.522 + column as f64 * 0.008,
    )
}

/// The pothole two riders report: halfway between rider 0's and rider 1's last stops of
/// `n` reports each (their columns are two apart, so it is ~770 m from both).
fn shared_pothole(n: usize) -> (f64, f64) {
    let (a, b) = (route_point(0, n - 1), route_point(1, n - 1));
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

/// A phone's camera: where and when, now.
fn phone_camera(lat: f64, lon: f64) -> CameraFacts<'static> {
    CameraFacts {
        make: "Xiaomi",
        model: "Redmi Note 12",
        taken: Timestamp::now(),
        at: (lat, lon),
    }
}

fn fix(lat: f64, lon: f64) -> LocationFix {
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

fn file(
    client: &Client,
    s: &Sample,
    lat: f64,
    lon: f64,
    photo: Option<&Path>,
) -> Result<uuid::Uuid, CliError> {
    file_at(client, s, fix(lat, lon), photo)
}

/// Files sample `s` at `location` (with `photo`, if any) and returns its id.
fn file_at(
    client: &Client,
    s: &Sample,
    location: LocationFix,
    photo: Option<&Path>,
) -> Result<uuid::Uuid, CliError> {
    let catalog = client.catalog();
    let category = catalog
        .category(s.kind, s.category)
        .ok_or_else(|| io(format!("no category {}", s.category)))?;
    let mut set_attributes = BTreeMap::new();
    for (code, raw) in s.attrs {
        let def = category
            .attributes
            .iter()
            .find(|a| a.code == *code)
            .ok_or_else(|| io(format!("no attribute {code}")))?;
        set_attributes.insert(
            code.to_string(),
            AttrValue::parse_for(def.datatype, raw).map_err(io)?,
        );
    }
    let patch = DraftPatch {
        category: Some(s.category.into()),
        note: Some(s.note.into()),
        severity: Some(if s.category == "missing_manhole_cover" {
            Severity::Urgent
        } else {
            Severity::Medium
        }),
        location: Some(location),
        set_attributes,
        outreach: s.outreach.map(|(people, materials, venue)| Outreach {
            people_reached: people,
            materials_handed_out: materials,
            venue_type: venue,
        }),
        ..Default::default()
    };
    let photos: Vec<PathBuf> = photo.map(|p| vec![p.to_path_buf()]).unwrap_or_default();
    Ok(crate::report::file(client, s.kind, patch, &photos, true)?.id)
}

fn context(url: &str, token: &str) -> Result<SyncContext, CliError> {
    Ok(SyncContext {
        server_url: url.into(),
        transport: Arc::new(DefaultTransport::new().map_err(io)?),
        tokens: Arc::new(StaticToken(token.into())),
    })
}

/// What `demo --json` prints.
#[derive(Debug, Default, Serialize)]
struct DemoSummary {
    folder: String,
    server: String,
    reports_filed: u64,
    photos_filed: u64,
    sent: i64,
    already_accepted: i64,
    photos_uploaded: i64,
    triage_applied: i64,
    overdue_marked: u64,
    escalated: u64,
    verifications_filed: u64,
    verified_fixed: u64,
    verified_not_fixed: u64,
    /// Tickets that went dispatch → overdue → escalate → resolve → verified → closed.
    overdue_then_closed: u64,
    /// What the server found checking the reports' signatures, per outcome.
    signatures: BTreeMap<String, u64>,
    /// Fraud signals the server raised, per name.
    signals: BTreeMap<String, u64>,
    /// Why the server ranked each merged duplicate first, e.g. "photo 94 % similar, 5 m away,
    /// same category, 0 days ago".
    duplicates: Vec<String>,
    statuses: BTreeMap<String, u64>,
    riders_in_step_with_server: bool,
}

/// The demo's device database of `name` in `dir`.
fn device(dir: &Path, name: &str) -> Result<Client, CliError> {
    Ok(Client::open(ClientConfig {
        db_path: dir.join(format!("{name}.db")),
        reporter: name.to_string(),
        app_version: "demo".into(),
    })?)
}

/// Runs `gridline demo`.
pub fn run(args: DemoArgs, json: bool) -> Result<(), CliError> {
    let temp;
    let dir = match args.dir {
        Some(d) => {
            std::fs::create_dir_all(&d)
                .map_err(|e| io(format!("cannot create {}: {e}", d.display())))?;
            d
        }
        None => {
            temp = tempfile::tempdir().map_err(io)?;
            temp.path().to_path_buf()
        }
    };
    let say = |line: String| {
        if !json {
            println!("{line}");
        }
    };
    let mut out = DemoSummary {
        folder: dir.display().to_string(),
        ..Default::default()
    };

    // 1. The district: grids, supervisors, riders.
    let data = dir.join("server");
    admin::import_grids(&data, GRIDS).map_err(io)?;
    let user = |name: &str, role: Role, grids: &[&str]| {
        admin::add_user(
            &data,
            &admin::NewUser {
                name: name.into(),
                role,
                grids: grids.iter().map(|g| g.to_string()).collect(),
                expires_at: None,
            },
        )
        .map(|u| (name.to_string(), u.token))
        .map_err(io)
    };
    let sup_wang = user("sup-wang", Role::Supervisor, &["HS-01", "HS-02"])?;
    let sup_chen = user("sup-chen", Role::Supervisor, &["HS-03", "HS-04"])?;
    let riders = vec![
        user("rider-li", Role::Rider, &[])?,
        user("rider-zhao", Role::Rider, &[])?,
        user("rider-sun", Role::Rider, &[])?,
    ];
    say("Gridline demo — Haishu district, Ningbo: 4 grids, 2 supervisors, 3 riders".into());
    say(format!("  files in {}", dir.display()));

    // 2. Offline: riders file reports; the server is not even running.
    say("\n1. No signal. Riders file reports offline (each one safe on the phone at once):".into());
    let devices_dir = dir.join("phones");
    let camera = dir.join("camera");
    std::fs::create_dir_all(&camera).map_err(io)?;
    std::fs::create_dir_all(&devices_dir).map_err(io)?;
    let mut phones = Vec::new();
    let mut photo_seed = 0;
    // Where each report stands in the story, so every run triages and verifies the same
    // tickets: the server's ticket ids are a keyed permutation (random per district), and
    // its clock stands still between the story's jumps, so neither orders them.
    let mut filing_order = HashMap::<uuid::Uuid, usize>::new();
    let mut filed = |id: uuid::Uuid| {
        let next = filing_order.len();
        filing_order.insert(id, next);
    };
    let pothole = shared_pothole(args.reports_per_rider as usize);
    for (r, (name, _)) in riders.iter().enumerate() {
        let client = Client::open(ClientConfig {
            db_path: devices_dir.join(format!("{name}.db")),
            reporter: name.clone(),
            app_version: "demo".into(),
        })?;
        for i in 0..args.reports_per_rider as usize {
            let s = &SAMPLES[(r * 3 + i) % SAMPLES.len()];
            let (lat, lon) = route_point(r, i);
            let photo = if s.photo {
                photo_seed += 1;
                let p = camera.join(format!("IMG_{photo_seed:04}.jpg"));
                synthetic_photo(&p, photo_seed, Some(&phone_camera(lat, lon)))?;
                out.photos_filed += 1;
                Some(p)
            } else {
                None
            };
            filed(file(&client, s, lat, lon, photo.as_deref())?);
            out.reports_filed += 1;
        }
        // Two riders photograph the same pothole, from a few steps apart and in different
        // light: the server recognises the second report as the same problem.
        if r < 2 {
            let (lat, lon) = (pothole.0 + r as f64 * 0.00005, pothole.1);
            let p = camera.join(format!("pothole_{name}.jpg"));
            let view = View {
                shift: (r as i32 * 14, r as i32 * 3),
                light: r as i32 * 10,
            };
            road_photo(&p, 4242, view, Some(&phone_camera(lat, lon)))?;
            filed(file(&client, &SAMPLES[0], lat, lon, Some(&p))?);
            out.reports_filed += 1;
            out.photos_filed += 1;
        }
        let c = client.counts()?;
        say(format!("  {name:<11} {} reports queued, 0 sent", c.pending));
        phones.push(client);
    }
    // Reports a city auditing rewarded work must not take at face value (rider-zhao's phone).
    let (lat, lon) = (pothole.0 + 0.0005, pothole.1);
    let mut mocked = fix(lat, lon);
    mocked.mock = true;
    filed(file_at(&phones[1], &SAMPLES[1], mocked, None)?);
    let reused = camera.join("IMG_0001.jpg");
    if reused.exists() {
        filed(file_at(
            &phones[1],
            &SAMPLES[0],
            fix(lat + 0.002, lon),
            Some(&reused),
        )?);
        out.photos_filed += 1;
        out.reports_filed += 1;
    }
    let gallery = camera.join("gallery_last_week.jpg");
    let last_week = CameraFacts {
        taken: Timestamp::from_millis(Timestamp::now().as_millis() - 6 * 24 * HOUR_MS),
        ..phone_camera(lat + 0.02, lon)
    };
    synthetic_photo(&gallery, 900, Some(&last_week))?;
    filed(file_at(
        &phones[1],
        &SAMPLES[0],
        fix(lat - 0.002, lon),
        Some(&gallery),
    )?);
    out.reports_filed += 2;
    out.photos_filed += 1;
    say(
        "  rider-zhao  also files three doubtful ones: a mock-location fix, a photo already \
         filed by rider-li, a gallery photo from last week taken 2 km away"
            .into(),
    );

    // 3. Signal is back: the server comes up and riders sync in batches.
    // The story moves the server's clock forward when days pass (deadlines, 核查).
    let (clock, hand) = Clock::manual(Timestamp::now());
    let server = Server::start(demo_config(&data, clock.clone())).map_err(io)?;
    let url = server.base_url();
    out.server = url.clone();
    say(format!(
        "\n2. Signal is back. The city grid server answers at {url}; riders sync in batches:"
    ));
    for (phone, (name, token)) in phones.iter().zip(&riders) {
        let s = phone.sync(
            &context(&url, token)?,
            &SyncOptions {
                max_batch: 5,
                ..Default::default()
            },
            None,
            &CancelToken::new(),
        )?;
        out.sent += s.sent;
        out.already_accepted += s.already_accepted;
        out.photos_uploaded += s.photos;
        say(format!(
            "  {name:<11} sent {:>2} reports, {} photos ({} KB); grids and catalog {}",
            s.sent,
            s.photos,
            s.photo_bytes / 1024,
            if s.grids_updated {
                "updated"
            } else {
                "unchanged"
            }
        ));
    }

    // 4. What the server checked: signatures and fraud signals, per ticket.
    say("\n   The server checked every report's device signature and its fraud signals:".into());
    for (name, token) in [&sup_wang, &sup_chen] {
        let desk = device(&devices_dir, name)?;
        desk.refresh_worklist(&context(&url, token)?, &TicketQuery::default())?;
        for t in desk.worklist(&[])? {
            let Some(e) = &t.evidence else { continue };
            *out.signatures
                .entry(e.signature.as_str().into())
                .or_default() += 1;
            for signal in &e.signals {
                if !out.signals.contains_key(&signal.name) {
                    say(format!(
                        "     {:<20} e.g. {}",
                        signal.name, signal.explanation
                    ));
                }
                *out.signals.entry(signal.name.clone()).or_default() += 1;
            }
        }
    }
    let tally = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    say(format!("     signals: {}", tally(&out.signals)));
    say(format!("     signatures: {}", tally(&out.signatures)));

    // 5. Supervisors triage their grids' tickets.
    let mut ticket_order = HashMap::<String, usize>::new();
    say("\n3. Supervisors triage their grids' tickets:".into());
    for (name, token) in [&sup_wang, &sup_chen] {
        let desk = device(&devices_dir, name)?;
        let ctx = context(&url, token)?;
        desk.refresh_worklist(&ctx, &TicketQuery::default())?;
        let mut tickets = desk.worklist(&[TicketStatus::Submitted])?;
        tickets.sort_by_key(|t| filing_order.get(&t.report_id).copied());
        for t in &tickets {
            if let Some(&n) = filing_order.get(&t.report_id) {
                ticket_order.insert(t.id.clone(), n);
            }
        }
        let mut notes = BTreeMap::<&str, u32>::new();
        // The same problem filed twice? The server ranks the open tickets around each one by
        // photo similarity, distance, category and time; one showing the same scene and filed
        // earlier survives, the later one is merged into it with its evidence.
        let mut merged_away = HashSet::new();
        for t in &tickets {
            if merged_away.contains(&t.id) {
                continue;
            }
            let list = desk.ticket_candidates(&ctx, &t.id)?;
            let Some(best) = list.candidates.iter().find(|c| {
                c.status == TicketStatus::Submitted
                    && !merged_away.contains(&c.ticket_id)
                    && c.similarity
                        .is_some_and(|s| s >= gridline_core::duplicates::SAME_SCENE_SIMILARITY)
                    && c.submitted_at <= t.submitted_at
            }) else {
                continue;
            };
            desk.queue_triage(
                &t.id,
                TriageAction::MarkDuplicate {
                    of: best.ticket_id.clone(),
                },
            )?;
            out.triage_applied += desk.send_triage(&ctx)?.applied;
            merged_away.insert(t.id.clone());
            *notes.entry("merged as duplicate").or_default() += 1;
            say(format!(
                "  {name:<11} {} ({}) is the same problem as {} ({}): {}; merged, its evidence \
                 kept on {}",
                t.id, t.reporter, best.ticket_id, best.category, best.reason, best.ticket_id
            ));
            out.duplicates.push(best.reason.clone());
        }
        let tickets: Vec<_> = tickets
            .into_iter()
            .filter(|t| !merged_away.contains(&t.id))
            .collect();
        for (i, t) in tickets.iter().enumerate() {
            let plan: Vec<TriageAction> = if t.kind == ReportKind::AntiFraudOutreach {
                vec![
                    TriageAction::Accept,
                    TriageAction::Resolve {
                        note: "outreach recorded".into(),
                    },
                    TriageAction::Close,
                ]
            } else if i % 7 == 6 {
                vec![TriageAction::Reject {
                    reason: "private property: not a public-space case".into(),
                }]
            } else if i % 3 == 0 {
                vec![
                    TriageAction::Accept,
                    TriageAction::Dispatch {
                        department: "海曙区住建局 road maintenance".into(),
                    },
                ]
            } else if i % 3 == 1 {
                vec![
                    TriageAction::Accept,
                    TriageAction::Resolve {
                        note: "cleared by the street team".into(),
                    },
                ]
            } else {
                vec![TriageAction::Accept]
            };
            for action in plan {
                let label = match &action {
                    TriageAction::Accept => "accepted 立案",
                    TriageAction::Dispatch { .. } => "dispatched 派遣",
                    TriageAction::Resolve { .. } => "resolved 处置",
                    TriageAction::Close => "closed 结案",
                    TriageAction::Reject { .. } => "rejected",
                    TriageAction::MarkDuplicate { .. } => "merged as duplicate",
                    TriageAction::Escalate { .. } => "escalated 督办",
                    TriageAction::Extend { .. } => "extended",
                };
                desk.queue_triage(&t.id, action)?;
                *notes.entry(label).or_default() += 1;
                // Offline decisions are sent in order, each with the version it was made on.
                let pushed = desk.send_triage(&ctx)?;
                out.triage_applied += pushed.applied;
                desk.refresh_worklist(
                    &ctx,
                    &TicketQuery {
                        status: None,
                        ..Default::default()
                    },
                )?;
            }
        }
        let line: Vec<String> = notes.iter().map(|(k, v)| format!("{v} {k}")).collect();
        say(format!(
            "  {name:<11} {} tickets: {}",
            tickets.len(),
            line.join(", ")
        ));
    }

    // 5. Days pass: deadlines, escalation, riders verifying fixes on the spot.
    say("\n4. Two days later (the demo moves the server's clock 49 h):".into());
    hand.advance(49 * HOUR_MS);
    let store = gridline_server::backends::open_store(&Storage::local(&data)).map_err(io)?;
    out.overdue_marked = u64::from(store.mark_overdue(clock.now(), 10_000).map_err(io)?);
    drop(store);
    say(format!(
        "  {} dispatched tickets passed their deadline: marked overdue (超期)",
        out.overdue_marked
    ));
    for (name, token) in [&sup_wang, &sup_chen] {
        let desk = device(&devices_dir, name)?;
        let ctx = context(&url, token)?;
        desk.refresh_worklist(&ctx, &TicketQuery::default())?;
        let late: Vec<_> = desk
            .worklist(&[TicketStatus::Dispatched])?
            .into_iter()
            .filter(|t| t.overdue)
            .collect();
        for t in &late {
            desk.queue_triage(
                &t.id,
                TriageAction::Escalate {
                    reason: "超期未处置，请今日内完成".into(),
                },
            )?;
            desk.queue_triage(
                &t.id,
                TriageAction::Resolve {
                    note: "已处置（督办后）".into(),
                },
            )?;
        }
        let pushed = desk.send_triage(&ctx)?;
        out.triage_applied += pushed.applied;
        out.escalated += late.len() as u64;
        say(format!(
            "  {name:<11} escalated {} overdue tickets (督办); the departments resolved them",
            late.len()
        ));
    }
    say("  Riders pass by, pull verification tasks (核查) and check offline:".into());
    let mut verifications = 0usize;
    for (phone, (name, token)) in phones.iter().zip(&riders) {
        let ctx = context(&url, token)?;
        phone.sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())?;
        let mut tasks = phone.tasks()?;
        // Most recently resolved first: the tickets that went overdue were resolved last.
        tasks.sort_by_key(|t| {
            (
                std::cmp::Reverse(t.resolved_at),
                ticket_order.get(&t.ticket_id).copied(),
            )
        });
        let mut fixed = 0;
        let mut not_fixed = 0;
        for task in tasks.iter().take(4) {
            // Every fourth check finds the problem still there (返工).
            let ok = verifications % 4 != 3;
            verifications += 1;
            let draft = phone.create_verification(&task.ticket_id, ok)?;
            phone.update_draft(
                draft.id,
                DraftPatch {
                    note: Some(if ok { "已修复" } else { "仍未修好" }.into()),
                    location: Some(fix(task.lat + 0.0001, task.lon)),
                    ..Default::default()
                },
            )?;
            photo_seed += 1;
            let p = camera.join(format!("IMG_{photo_seed:04}.jpg"));
            synthetic_photo(&p, photo_seed, Some(&phone_camera(task.lat, task.lon)))?;
            phone.attach_photo(draft.id, &p)?;
            out.photos_filed += 1;
            phone.submit(draft.id)?;
            out.verifications_filed += 1;
            if ok {
                fixed += 1;
            } else {
                not_fixed += 1;
            }
        }
        let s = phone.sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())?;
        out.sent += s.sent;
        out.photos_uploaded += s.photos;
        out.verified_fixed += fixed;
        out.verified_not_fixed += not_fixed;
        say(format!(
            "  {name:<11} {} tasks on offer; filed {fixed} fixed, {not_fixed} not fixed (reopened)",
            tasks.len()
        ));
    }
    for (name, token) in [&sup_wang, &sup_chen] {
        let desk = device(&devices_dir, name)?;
        let ctx = context(&url, token)?;
        desk.refresh_worklist(&ctx, &TicketQuery::default())?;
        let verified: Vec<_> = desk
            .worklist(&[TicketStatus::Resolved])?
            .into_iter()
            .filter(|t| {
                t.history
                    .last()
                    .is_some_and(|e| e.action == Some(EventAction::VerifiedFixed))
            })
            .collect();
        for t in &verified {
            desk.queue_triage(&t.id, TriageAction::Close)?;
            if t.history
                .iter()
                .any(|e| e.action == Some(EventAction::Overdue))
            {
                out.overdue_then_closed += 1;
            }
        }
        out.triage_applied += desk.send_triage(&ctx)?.applied;
        say(format!(
            "  {name:<11} closed {} tickets riders verified (结案)",
            verified.len()
        ));
    }

    // 6. Riders sync again and see what became of their reports.
    say("\n5. Riders sync again and see what happened to their reports:".into());
    let mut in_step = true;
    let mut rows = Vec::new();
    for (phone, (name, token)) in phones.iter().zip(&riders) {
        let s = phone.sync(
            &context(&url, token)?,
            &SyncOptions::default(),
            None,
            &CancelToken::new(),
        )?;
        let reports = phone.list(&ListFilter::default())?;
        let mut by_status = BTreeMap::<String, u64>::new();
        for r in &reports {
            let status = r
                .ticket_status
                .map_or(r.state.as_str(), |s| s.as_str())
                .to_string();
            *by_status.entry(status.clone()).or_default() += 1;
            *out.statuses.entry(status).or_default() += 1;
            in_step &= r.ticket_id.is_some();
        }
        say(format!(
            "  {name:<11} pulled {:>2} status changes",
            s.changes
        ));
        rows.push((name.clone(), reports.len(), by_status));
    }
    out.riders_in_step_with_server = in_step;
    if args.serve {
        // Fresh work for the desk: the story triaged every ticket it filed.
        let s = &SAMPLES[0];
        for i in 0..3 {
            file(
                &phones[0],
                s,
                29.861 + f64::from(i) * 0.004,
                121.531 + f64::from(i) * 0.006,
                None,
            )?;
        }
        phones[0].sync(
            &context(&url, &riders[0].1)?,
            &SyncOptions::default(),
            None,
            &CancelToken::new(),
        )?;
    }
    server.shutdown().map_err(io)?;
    if json && !args.serve {
        return print_json(&out);
    }
    if !json {
        summary(&out, &rows);
    }
    if args.serve {
        let mut config = demo_config(&data, clock);
        config.listen = args.listen;
        let (wang, chen) = (sup_wang.1.clone(), sup_chen.1.clone());
        gridline_server::serve_until_signal(config, move |addr| {
            if json {
                let _ = print_json(&serde_json::json!({
                    "demo": out,
                    "console": format!("http://{addr}/console/"),
                    "supervisor_tokens": {"sup-wang": wang, "sup-chen": chen},
                }));
            } else {
                println!("\nThe server keeps running: triage the demo's tickets in a browser.");
                println!("  console   http://{addr}/console/");
                println!("  sup-wang  {wang}   (grids HS-01, HS-02)");
                println!("  sup-chen  {chen}   (grids HS-03, HS-04)");
                println!("Paste a token to sign in. Ctrl-C stops the server.");
            }
            use std::io::Write;
            let _ = std::io::stdout().flush();
        })
        .map_err(io)?;
    }
    Ok(())
}

/// Prints the story's closing table.
fn summary(out: &DemoSummary, rows: &[(String, usize, BTreeMap<String, u64>)]) {
    let columns = [
        "submitted",
        "accepted",
        "dispatched",
        "awaiting_verification",
        "resolved",
        "closed",
        "rejected",
        "duplicate",
    ];
    println!("\nSummary");
    println!(
        "  {:<11} {:>7}  {}",
        "rider",
        "reports",
        columns
            .map(|c| format!("{:>11}", c.replace("awaiting_verification", "verifying")))
            .join("")
    );
    for (name, n, by) in rows {
        let cells: String = columns
            .iter()
            .map(|c| format!("{:>11}", by.get(*c).copied().unwrap_or(0)))
            .collect();
        println!("  {name:<11} {n:>7}  {cells}");
    }
    println!(
        "\n{} reports, {} verifications and {} photos filed offline, {} sent exactly once ({} resends recognised), {} triage decisions applied.",
        out.reports_filed,
        out.verifications_filed,
        out.photos_filed,
        out.sent,
        out.already_accepted,
        out.triage_applied
    );
    println!(
        "{} tickets went overdue and were escalated ({} of them verified and closed); riders verified {} fixes and sent {} back.",
        out.overdue_marked, out.overdue_then_closed, out.verified_fixed, out.verified_not_fixed
    );
}
