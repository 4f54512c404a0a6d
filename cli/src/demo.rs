//! `gridline demo`: the main job. Files sample reports of every kind into a throwaway SQLite
//! file, as riders would offline, and shows the outbox.

use std::path::PathBuf;

use clap::Args;
use gridline_core::{Client, ClientConfig, DraftPatch, ListFilter};
use gridline_protocol::{
    AttrValue, CoordSystem, LocationFix, LocationProvider, Outreach, ReportKind, Severity,
    Timestamp, VenueType,
};

use crate::output::{CliError, print_json};
use crate::queue::{QueueRow, print_table};

/// Flags of `gridline demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's files in this folder instead of a temporary one.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

struct Sample {
    kind: ReportKind,
    category: &'static str,
    note: &'static str,
    severity: Severity,
    lat: f64,
    lon: f64,
    attrs: &'static [(&'static str, &'static str)],
    outreach: Option<(u32, u32, VenueType)>,
}

const SAMPLES: &[Sample] = &[
    Sample {
        kind: ReportKind::RoadDamage,
        category: "pothole",
        note: "中山东路非机动车道大坑，电动车易摔",
        severity: Severity::High,
        lat: 29.8730,
        lon: 121.5560,
        attrs: &[
            ("size", "large"),
            ("depth_cm", "12"),
            ("lane_blocked", "no"),
        ],
        outreach: None,
    },
    Sample {
        kind: ReportKind::RoadDamage,
        category: "missing_manhole_cover",
        note: "Sewage cover missing at the school gate",
        severity: Severity::Urgent,
        lat: 29.8655,
        lon: 121.5391,
        attrs: &[("cover_type", "sewage"), ("hazard_marked", "no")],
        outreach: None,
    },
    Sample {
        kind: ReportKind::RoadDamage,
        category: "waterlogging",
        note: "下穿通道积水",
        severity: Severity::Medium,
        lat: 29.8801,
        lon: 121.5702,
        attrs: &[("depth_cm", "25"), ("passable", "no")],
        outreach: None,
    },
    Sample {
        kind: ReportKind::GarbageSorting,
        category: "overflowing_bin",
        note: "小区门口厨余桶满溢",
        severity: Severity::Medium,
        lat: 29.8612,
        lon: 121.5488,
        attrs: &[("bin_types", "kitchen,residual"), ("bin_count", "3")],
        outreach: None,
    },
    Sample {
        kind: ReportKind::GarbageSorting,
        category: "illegal_dumping",
        note: "建筑垃圾倒在绿化带",
        severity: Severity::High,
        lat: 29.8577,
        lon: 121.5623,
        attrs: &[("waste_types", "construction"), ("volume", "cart")],
        outreach: None,
    },
    Sample {
        kind: ReportKind::GarbageSorting,
        category: "mixed_sorting",
        note: "可回收桶里全是外卖餐盒",
        severity: Severity::Low,
        lat: 29.8699,
        lon: 121.5301,
        attrs: &[("bin_types", "recyclable"), ("site_type", "restaurant")],
        outreach: None,
    },
    Sample {
        kind: ReportKind::AntiFraudOutreach,
        category: "shop_visit",
        note: "走访沿街商户，讲解刷单诈骗",
        severity: Severity::Low,
        lat: 29.8744,
        lon: 121.5477,
        attrs: &[("shops_visited", "14"), ("topics", "job_scam,app_download")],
        outreach: Some((22, 30, VenueType::Shop)),
    },
    Sample {
        kind: ReportKind::AntiFraudOutreach,
        category: "community_lecture",
        note: "社区老年活动室反诈讲座",
        severity: Severity::Low,
        lat: 29.8590,
        lon: 121.5410,
        attrs: &[
            ("topics", "elderly_care_scam,telecom_fraud"),
            ("duration_min", "45"),
        ],
        outreach: Some((35, 35, VenueType::Community)),
    },
];

/// Runs `gridline demo`.
pub fn run(args: DemoArgs, json: bool) -> Result<(), CliError> {
    let temp;
    let dir = match args.dir {
        Some(d) => {
            std::fs::create_dir_all(&d).map_err(|e| {
                CliError::other("io", format!("cannot create {}: {e}", d.display()))
            })?;
            d
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| {
                CliError::other("io", format!("cannot make a temporary folder: {e}"))
            })?;
            temp.path().to_path_buf()
        }
    };
    let db_path = dir.join("rider.db");
    let client = Client::open(ClientConfig {
        db_path: db_path.clone(),
        reporter: "rider-demo".into(),
        app_version: "demo".into(),
    })?;
    let say = |line: String| {
        if !json {
            println!("{line}");
        }
    };
    say(format!(
        "Gridline demo — a rider files reports offline into {}",
        db_path.display()
    ));
    for s in SAMPLES {
        let category = client.catalog().category(s.kind, s.category).cloned();
        let mut set_attributes = std::collections::BTreeMap::new();
        for (code, raw) in s.attrs {
            let datatype = category
                .as_ref()
                .and_then(|c| c.attributes.iter().find(|a| a.code == *code))
                .map(|a| a.datatype)
                .ok_or_else(|| {
                    CliError::other(
                        "internal",
                        format!("demo sample uses unknown attribute {code}"),
                    )
                })?;
            let value =
                AttrValue::parse_for(datatype, raw).map_err(|e| CliError::other("internal", e))?;
            set_attributes.insert(code.to_string(), value);
        }
        let patch = DraftPatch {
            category: Some(s.category.into()),
            note: Some(s.note.into()),
            severity: Some(s.severity),
            location: Some(LocationFix {
                lat: s.lat,
                lon: s.lon,
                accuracy_m: 6.0,
                altitude_m: None,
                provider: LocationProvider::Gps,
                fix_time: Timestamp::now(),
                mock: false,
                source_crs: CoordSystem::Wgs84,
            }),
            set_attributes,
            outreach: s.outreach.map(|(people, materials, venue)| Outreach {
                people_reached: people,
                materials_handed_out: materials,
                venue_type: venue,
            }),
            ..Default::default()
        };
        crate::report::file(&client, s.kind, patch, &[], true)?;
        say(format!(
            "  filed {:<20} {:<22} {}",
            s.kind.as_str(),
            s.category,
            s.note
        ));
    }
    let reports = client.list(&ListFilter::default())?;
    if json {
        return print_json(&serde_json::json!({
            "database": db_path.display().to_string(),
            "queue": reports.iter().map(QueueRow::of).collect::<Vec<_>>(),
            "counts": client.counts()?,
        }));
    }
    println!();
    println!("The outbox, safe on disk and waiting for a signal:");
    print_table(&reports);
    let c = client.counts()?;
    println!(
        "{} pending, {} drafts. Nothing was sent: no network was needed to file them.",
        c.pending, c.drafts
    );
    Ok(())
}
