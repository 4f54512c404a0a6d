//! Geo benchmark: grid lookup through the R-tree versus a linear scan over every polygon, on a
//! city-scale grid set, plus coordinate conversion throughput. Prints its own figures.
//!
//! ```text
//! cargo bench -p gridline-core --bench geo                         # generated Ningbo-like set
//! cargo bench -p gridline-core --bench geo -- grids.geojson [gcj02]  # a real file (or GRIDLINE_GRIDS)
//! ```
//!
//! The generated set is a 75 x 75 mesh of ~300 m cells around Ningbo (5,625 polygons) whose corners
//! are jittered and whose edges wiggle through 50 shared points each, so neighbours share edges
//! exactly and the set has over a million vertices, like a real city's grid file.

use std::hint::black_box;
use std::time::Instant;

use gridline_core::geo::china::is_in_china;
use gridline_core::geo::{GridIndex, GridSet, convert};
use gridline_protocol::CoordSystem;

const CELLS: usize = 75;
const EDGE_POINTS: usize = 50;
const CELL_DEG: f64 = 0.003;
const ORIGIN: (f64, f64) = (121.43, 29.76);

/// Reproducible pseudo-random numbers in [0, 1) without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn generated_geojson() -> String {
    let mut rng = Rng(2024);
    let n = CELLS;
    let mut corner = vec![vec![[0.0f64; 2]; n + 1]; n + 1];
    for (i, row) in corner.iter_mut().enumerate() {
        for (j, c) in row.iter_mut().enumerate() {
            let border = i == 0 || j == 0 || i == n || j == n;
            let jitter = if border { 0.0 } else { 0.25 };
            *c = [
                ORIGIN.0 + (i as f64 + jitter * (rng.next() - 0.5)) * CELL_DEG,
                ORIGIN.1 + (j as f64 + jitter * (rng.next() - 0.5)) * CELL_DEG,
            ];
        }
    }
    // Points strictly between a and b, wiggling perpendicular to the edge; the same for both
    // neighbours (one walks it backwards).
    let edge = |a: [f64; 2], b: [f64; 2]| -> Vec<[f64; 2]> {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        (1..EDGE_POINTS)
            .map(|k| {
                let t = k as f64 / EDGE_POINTS as f64;
                let w = 0.04 * (3.0 * std::f64::consts::PI * t).sin();
                [a[0] + t * dx - w * dy, a[1] + t * dy + w * dx]
            })
            .collect()
    };
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..n {
        for j in 0..n {
            let (sw, se, ne, nw) = (
                corner[i][j],
                corner[i + 1][j],
                corner[i + 1][j + 1],
                corner[i][j + 1],
            );
            let mut ring = vec![sw];
            ring.extend(edge(sw, se));
            ring.push(se);
            ring.extend(edge(se, ne));
            ring.push(ne);
            ring.extend(edge(nw, ne).into_iter().rev());
            ring.push(nw);
            ring.extend(edge(sw, nw).into_iter().rev());
            ring.push(sw);
            if i + j > 0 {
                out.push(',');
            }
            out.push_str(&format!(
                "{{\"type\":\"Feature\",\"id\":\"NB-{i:03}-{j:03}\",\"properties\":{{\"parent\":\"SD-{:02}\"}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[",
                i / 10
            ));
            for (k, p) in ring.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                out.push_str(&format!("[{},{}]", p[0], p[1]));
            }
            out.push_str("]]}}");
        }
    }
    out.push_str("]}");
    out
}

fn main() {
    // `cargo bench` passes `--bench`; the first other argument is a grid file.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let path = args
        .first()
        .cloned()
        .or_else(|| std::env::var("GRIDLINE_GRIDS").ok());
    let crs = args
        .get(1)
        .and_then(|c| CoordSystem::parse(c))
        .unwrap_or(CoordSystem::Wgs84);
    let (label, text) = match &path {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => (p.clone(), t),
            Err(e) => {
                eprintln!("cannot read {p}: {e}");
                std::process::exit(1);
            }
        },
        None => ("generated Ningbo mesh".to_string(), generated_geojson()),
    };

    let t = Instant::now();
    let set = match GridSet::from_geojson(&text, crs) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("invalid grid file: {e}");
            std::process::exit(1);
        }
    };
    let parse_s = t.elapsed().as_secs_f64();
    println!(
        "grid set: {label}: {} grids, {} vertices, {:.1} MB GeoJSON",
        set.len(),
        set.vertex_count(),
        text.len() as f64 / 1e6
    );
    println!("  parse + validate (incl. self-intersection check): {parse_s:.2} s");
    let t = Instant::now();
    let index = GridIndex::new(set);
    println!("  R-tree build: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);

    // Query points over the set's bounding box plus a margin, so some miss every grid.
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    let normalised = index.grid_set().to_geojson_string();
    let reparsed = GridSet::from_geojson(&normalised, CoordSystem::Wgs84);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&normalised) {
        for f in json["features"].as_array().into_iter().flatten() {
            for poly in f["geometry"]["coordinates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for p in poly[0].as_array().into_iter().flatten() {
                    let (x, y) = (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0));
                    lo = [lo[0].min(x), lo[1].min(y)];
                    hi = [hi[0].max(x), hi[1].max(y)];
                }
            }
        }
    }
    println!(
        "  normalised GeoJSON re-parses to the same version: {}",
        reparsed.map(|s| s.version() == index.grid_set().version()) == Ok(true)
    );
    let mut rng = Rng(99);
    let margin = [(hi[0] - lo[0]) * 0.05, (hi[1] - lo[1]) * 0.05];
    let mut point = || {
        [
            lo[0] - margin[0] + rng.next() * (hi[0] - lo[0] + 2.0 * margin[0]),
            lo[1] - margin[1] + rng.next() * (hi[1] - lo[1] + 2.0 * margin[1]),
        ]
    };
    let tree_points: Vec<[f64; 2]> = (0..200_000).map(|_| point()).collect();
    let scan_points: Vec<[f64; 2]> = tree_points.iter().take(300).copied().collect();

    let t = Instant::now();
    let mut hits = 0usize;
    for p in &tree_points {
        if black_box(index.locate(p[0], p[1])).is_some() {
            hits += 1;
        }
    }
    let tree_us = t.elapsed().as_secs_f64() * 1e6 / tree_points.len() as f64;
    let t = Instant::now();
    let mut agree = true;
    for p in &scan_points {
        let scan = black_box(index.locate_linear(p[0], p[1]));
        agree &= scan.map(|g| &g.id) == index.locate(p[0], p[1]).map(|g| &g.id);
    }
    let scan_us = t.elapsed().as_secs_f64() * 1e6 / scan_points.len() as f64;
    println!(
        "point -> grid lookup ({} points, {hits} inside a grid):",
        tree_points.len()
    );
    println!("  R-tree + exact test: {tree_us:10.2} us/point");
    println!(
        "  linear scan:         {scan_us:10.2} us/point ({} points; same answers: {agree})",
        scan_points.len()
    );
    println!("  speed-up:            {:10.0}x", scan_us / tree_us);

    use CoordSystem::{Bd09, Gcj02, Wgs84};
    let mut rng = Rng(7);
    let pts: Vec<(f64, f64)> = (0..1_000_000)
        .map(|_| (121.3 + rng.next() * 0.5, 29.6 + rng.next() * 0.5))
        .collect();
    println!("conversion throughput ({} points near Ningbo):", pts.len());
    let t = Instant::now();
    let inside = pts
        .iter()
        .filter(|&&(x, y)| is_in_china(black_box(x), black_box(y)))
        .count();
    black_box(inside);
    let per_s = pts.len() as f64 / t.elapsed().as_secs_f64();
    println!("  China outline test {:>8.2} M points/s", per_s / 1e6);
    for (from, to) in [
        (Wgs84, Gcj02),
        (Gcj02, Wgs84),
        (Gcj02, Bd09),
        (Bd09, Gcj02),
        (Wgs84, Bd09),
        (Bd09, Wgs84),
    ] {
        let t = Instant::now();
        let mut sum = 0.0;
        for &(x, y) in &pts {
            if let Ok((a, b)) = convert(black_box(x), black_box(y), from, to) {
                sum += a + b;
            }
        }
        black_box(sum);
        let per_s = pts.len() as f64 / t.elapsed().as_secs_f64();
        println!(
            "  {:>5} -> {:<5} {:>8.2} M points/s",
            from.as_str(),
            to.as_str(),
            per_s / 1e6
        );
    }
}
