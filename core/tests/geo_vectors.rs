//! Compares our conversions with vectors computed by two independently published libraries
//! (gcoord and coordtransform, see the header of tests/fixtures/crs_vectors.csv).
//!
//! Forward formulas are the same published ones, so we agree to float noise. Inverses differ on
//! purpose: coordtransform's GCJ-02 -> WGS-84 and both libraries' BD-09 -> GCJ-02 are the one-step
//! approximation, metres off; gcoord's GCJ-02 -> WGS-84 iterates only to 1e-6 degrees. Ours are
//! exact, so we check ours against the original point and theirs with their own tolerance.

use gridline_core::geo::china::is_in_china;
use gridline_core::geo::convert;
use gridline_protocol::CoordSystem::{Bd09, Gcj02, Wgs84};

struct Row {
    name: String,
    v: Vec<f64>,
}

fn rows() -> Vec<Row> {
    let text = include_str!("fixtures/crs_vectors.csv");
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("name,lon,lat,g_gcj_lon"), "{header}");
    lines
        .map(|l| {
            let mut cells = l.split(',');
            let name = cells.next().unwrap_or_default().to_string();
            let v = cells
                .map(|c| c.parse::<f64>().expect("number"))
                .collect::<Vec<_>>();
            assert_eq!(v.len(), 18, "{l}");
            Row { name, v }
        })
        .collect()
}

fn close(a: (f64, f64), b: (f64, f64), tol_deg: f64) -> bool {
    (a.0 - b.0).abs() <= tol_deg && (a.1 - b.1).abs() <= tol_deg
}

/// Column pair `k` (0-based pairs after name): 0 = input, 1 = g_gcj, 2 = g_bd, 3 = g_inv,
/// 4 = g_bdinv, 5 = c_gcj, 6 = c_bd, 7 = c_inv, 8 = c_bdinv.
fn pair(r: &Row, k: usize) -> (f64, f64) {
    (r.v[2 * k], r.v[2 * k + 1])
}

#[test]
fn forward_conversions_match_both_libraries_inside_china() {
    let mut compared = 0;
    for r in rows() {
        let w = pair(&r, 0);
        if !is_in_china(w.0, w.1) {
            continue;
        }
        compared += 1;
        let g = convert(w.0, w.1, Wgs84, Gcj02).unwrap();
        let b = convert(w.0, w.1, Wgs84, Bd09).unwrap();
        for (theirs, ours, what) in [
            (pair(&r, 1), g, "gcoord gcj"),
            (pair(&r, 5), g, "coordtransform gcj"),
            (pair(&r, 2), b, "gcoord bd"),
            (pair(&r, 6), b, "coordtransform bd"),
        ] {
            assert!(
                close(theirs, ours, 1e-9),
                "{} {what}: theirs {theirs:?} ours {ours:?}",
                r.name
            );
        }
    }
    assert!(compared > 150, "only {compared} vectors inside China");
}

#[test]
fn our_inverses_are_exact_where_theirs_approximate() {
    let mut worst_one_step_m: f64 = 0.0;
    for r in rows() {
        let w = pair(&r, 0);
        if !is_in_china(w.0, w.1) {
            continue;
        }
        let g = pair(&r, 1);
        let b = pair(&r, 2);
        // Ours returns the original point (1e-9 deg is ~0.1 mm).
        let back = convert(g.0, g.1, Gcj02, Wgs84).unwrap();
        assert!(close(back, w, 1e-9), "{}: {back:?} vs {w:?}", r.name);
        let back = convert(b.0, b.1, Bd09, Wgs84).unwrap();
        assert!(close(back, w, 1e-9), "{}: {back:?} vs {w:?}", r.name);
        let gb = convert(b.0, b.1, Bd09, Gcj02).unwrap();
        assert!(close(gb, g, 1e-9), "{}: {gb:?} vs {g:?}", r.name);
        // gcoord's iterative inverse stops at a 1e-6 degree residual: agree within that.
        assert!(
            close(pair(&r, 3), back, 2e-6),
            "{}: gcoord inverse {:?}",
            r.name,
            pair(&r, 3)
        );
        // One-step inverses: within ~10 m (1e-4 deg) of the truth, but not centimetres.
        for (theirs, truth) in [(pair(&r, 7), w), (pair(&r, 4), g), (pair(&r, 8), g)] {
            assert!(
                close(theirs, truth, 1e-4),
                "{}: one-step {theirs:?} vs {truth:?}",
                r.name
            );
            let dy = (theirs.1 - truth.1) * 111_195.0;
            let dx = (theirs.0 - truth.0) * 111_195.0 * truth.1.to_radians().cos();
            worst_one_step_m = worst_one_step_m.max(dx.hypot(dy));
        }
    }
    // The reason for iterating: the one-step inverse is metres off somewhere in China.
    assert!(
        worst_one_step_m > 1.0,
        "one-step worst error only {worst_one_step_m} m"
    );
}

#[test]
fn outside_the_outline_gcj_is_identity_even_where_their_bounding_box_shifts() {
    let mut bbox_only = 0;
    for r in rows() {
        let w = pair(&r, 0);
        if is_in_china(w.0, w.1) {
            continue;
        }
        assert_eq!(convert(w.0, w.1, Wgs84, Gcj02).unwrap(), w, "{}", r.name);
        if pair(&r, 1) != w {
            bbox_only += 1; // gcoord's bounding box shifts it (e.g. Mongolia, Korea, the sea).
        }
    }
    assert!(bbox_only > 50, "{bbox_only}");
}
