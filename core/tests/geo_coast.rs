//! Where GCJ-02 applies along China's coast: islands, ports, ferry routes and coastal sea are in;
//! every neighbour just across a border or strait, and the open sea, are out.
//!
//! Points and their gazetteer sources are in tests/fixtures/coast_points.csv; reference values
//! from two published converters (gcoord, coordtransform) are in coast_vectors.csv, made by
//! scripts/geo/make_coast_vectors.mjs. Inside China our WGS-84 -> GCJ-02 must agree with both to
//! under 5 cm, and WGS-84 -> BD-09 with gcoord; outside, GCJ-02 is the input unchanged.

use std::collections::HashMap;

use gridline_core::geo::china::is_in_china;
use gridline_core::geo::{convert, haversine_m};
use gridline_protocol::CoordSystem::{Bd09, Gcj02, Wgs84};

struct Place {
    name: String,
    lon: f64,
    lat: f64,
    /// `in`, `sea` (GCJ-02 applies) or `out`.
    expect: String,
    kind: String,
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .skip(1)
}

fn places() -> Vec<Place> {
    data_lines(include_str!("fixtures/coast_points.csv"))
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            assert!(c.len() >= 6, "{l}");
            Place {
                name: c[0].into(),
                lon: c[1].parse().expect("lon"),
                lat: c[2].parse().expect("lat"),
                expect: c[3].into(),
                kind: c[4].into(),
            }
        })
        .collect()
}

/// name -> (gcoord gcj, gcoord bd, coordtransform gcj).
type Reference = ((f64, f64), (f64, f64), (f64, f64));

fn reference() -> HashMap<String, Reference> {
    data_lines(include_str!("fixtures/coast_vectors.csv"))
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let v: Vec<f64> = c[3..].iter().map(|x| x.parse().expect("number")).collect();
            assert_eq!(v.len(), 6, "{l}");
            (c[0].to_string(), ((v[0], v[1]), (v[2], v[3]), (v[4], v[5])))
        })
        .collect()
}

fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    haversine_m(a.0, a.1, b.0, b.1)
}

#[test]
fn the_fixture_covers_the_whole_coast_and_every_neighbour() {
    let p = places();
    let count = |f: &dyn Fn(&Place) -> bool| p.iter().filter(|x| f(x)).count();
    assert!(count(&|x| x.expect == "in" && (x.kind == "island" || x.kind == "port")) >= 30);
    assert!(count(&|x| x.expect == "sea") >= 5);
    assert!(count(&|x| x.expect == "out") >= 30);
    // North to south along the coast: Changshan islands (39.3 N) to Xisha (16.8 N).
    let lats: Vec<f64> = p
        .iter()
        .filter(|x| x.expect == "in")
        .map(|x| x.lat)
        .collect();
    assert!(lats.iter().any(|&l| l > 39.2) && lats.iter().any(|&l| l < 17.0));
    assert_eq!(
        reference().len(),
        p.len(),
        "coast_vectors.csv is stale: regenerate it"
    );
}

#[test]
fn islands_ports_and_coastal_sea_are_in_neighbours_and_open_sea_are_out() {
    let wrong: Vec<String> = places()
        .iter()
        .filter(|p| is_in_china(p.lon, p.lat) != (p.expect != "out"))
        .map(|p| format!("{} ({}, {}) expected {}", p.name, p.lon, p.lat, p.expect))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn inside_china_conversion_matches_published_implementations_to_5_cm() {
    let refs = reference();
    for p in places().iter().filter(|p| p.expect != "out") {
        let (g_gcj, g_bd, c_gcj) = refs[&p.name];
        let gcj = convert(p.lon, p.lat, Wgs84, Gcj02).expect("valid point");
        let bd = convert(p.lon, p.lat, Wgs84, Bd09).expect("valid point");
        // The offset is real (hundreds of metres), and ours is theirs.
        assert!(metres(gcj, (p.lon, p.lat)) > 100.0, "{}: no offset", p.name);
        for (ours, theirs, what) in [
            (gcj, g_gcj, "gcoord gcj02"),
            (gcj, c_gcj, "coordtransform gcj02"),
            (bd, g_bd, "gcoord bd09"),
        ] {
            let d = metres(ours, theirs);
            assert!(d < 0.05, "{}: {what} differs by {d} m", p.name);
        }
        // And back: the exact inverse returns the rider's position.
        let back = convert(gcj.0, gcj.1, Gcj02, Wgs84).expect("valid point");
        assert!(metres(back, (p.lon, p.lat)) < 0.01, "{}", p.name);
    }
}

#[test]
fn outside_china_gcj02_is_the_identity() {
    // BD-09 outside China is Baidu's offset on WGS-84 (docs/geo.md), so only GCJ-02 is checked.
    for p in places().iter().filter(|p| p.expect == "out") {
        let out = convert(p.lon, p.lat, Wgs84, Gcj02).expect("valid point");
        assert_eq!(out, (p.lon, p.lat), "{}", p.name);
        let back = convert(p.lon, p.lat, Gcj02, Wgs84).expect("valid point");
        assert_eq!(back, (p.lon, p.lat), "{} inverse", p.name);
    }
}
