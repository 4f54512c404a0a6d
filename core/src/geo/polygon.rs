//! Grid polygon geometry on (lon, lat) degrees, on the `geo` crate: point-in-polygon with exact
//! boundary detection, and the validity check (no self-intersections) that grid import runs.
//!
//! Both use Shewchuk's adaptive exact orientation predicates through `geo`
//! ([`CoordinatePosition`] for point-in-polygon, [`line_intersection`](geo::line_intersection)
//! inside geo's sweep-line [`Intersections`] for crossings), so "on the shared edge of two grids"
//! is decided exactly and the same way for both grids. Grids are a few hundred metres across,
//! where treating degrees as planar is harmless.

use geo::algorithm::sweep::{Cross, Intersections};
use geo::coordinate_position::CoordPos;
use geo::{Coord, CoordinatePosition, Line, LineIntersection, LineString, Polygon};

/// Whether `(lon, lat)` lies in the closed polygon (inside, or on an edge or vertex of any
/// ring; in a hole is outside).
pub(crate) fn covers(poly: &Polygon<f64>, lon: f64, lat: f64) -> bool {
    poly.coordinate_position(&Coord { x: lon, y: lat }) != CoordPos::Outside
}

/// Number of vertices, counting each ring's closing vertex.
pub(crate) fn vertex_count(poly: &Polygon<f64>) -> usize {
    rings(poly).map(|r| r.0.len()).sum()
}

/// The outer ring, then the holes.
pub(crate) fn rings(poly: &Polygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    std::iter::once(poly.exterior()).chain(poly.interiors())
}

/// Two edges that must not meet: `(ring, edge)` twice, and a point where they do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Crossing {
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub at: Coord<f64>,
}

/// One edge for the sweep, with where it comes from.
#[derive(Debug, Clone, Copy)]
struct Edge {
    line: Line<f64>,
    ring: usize,
    edge: usize,
}

impl Cross for Edge {
    type Scalar = f64;
    fn line(&self) -> Line<f64> {
        self.line
    }
}

/// Finds an invalid intersection in a polygon, if any:
/// - within one ring, two non-adjacent edges that share any point, or two adjacent edges that
///   overlap along a line (a spike folding back);
/// - between two rings, edges that properly cross (rings may touch at a vertex, as OGC allows).
///
/// Rings must be closed with no repeated consecutive vertices and at least three edges. geo's
/// sweep only tests edges whose longitude spans overlap, so the check is O(n log n) for
/// well-behaved rings: a million vertices in about a second.
pub(crate) fn find_crossing(poly: &Polygon<f64>) -> Option<Crossing> {
    let edge_counts: Vec<usize> = rings(poly).map(|r| r.0.len().saturating_sub(1)).collect();
    let edges = rings(poly).enumerate().flat_map(|(ring, ls)| {
        ls.lines()
            .enumerate()
            .map(move |(edge, line)| Edge { line, ring, edge })
    });
    for (p, q, meet) in Intersections::from_iter(edges) {
        let (a, b) = if (p.ring, p.edge) <= (q.ring, q.edge) {
            (p, q)
        } else {
            (q, p)
        };
        let (bad, at) = match meet {
            LineIntersection::SinglePoint {
                intersection,
                is_proper,
            } => {
                let bad = if a.ring == b.ring {
                    let n = edge_counts[a.ring];
                    let adjacent = b.edge == a.edge + 1 || (a.edge == 0 && b.edge + 1 == n);
                    !adjacent
                } else {
                    is_proper
                };
                (bad, intersection)
            }
            // Overlapping along a line: a spike or a doubled edge within a ring; between rings
            // it is touching along an edge, which the crossing rule above allows.
            LineIntersection::Collinear { intersection } => (a.ring == b.ring, intersection.start),
        };
        if bad {
            return Some(Crossing {
                a: (a.ring, a.edge),
                b: (b.ring, b.edge),
                at,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(pts: &[(f64, f64)]) -> LineString<f64> {
        LineString::from(pts.to_vec())
    }

    fn square(x0: f64, y0: f64, s: f64) -> LineString<f64> {
        ring(&[
            (x0, y0),
            (x0 + s, y0),
            (x0 + s, y0 + s),
            (x0, y0 + s),
            (x0, y0),
        ])
    }

    #[test]
    fn sides_of_a_square_with_a_hole() {
        let poly = Polygon::new(square(0.0, 0.0, 4.0), vec![square(1.0, 1.0, 2.0)]);
        assert!(covers(&poly, 0.5, 0.5));
        assert!(!covers(&poly, 2.0, 2.0)); // in the hole
        assert!(covers(&poly, 1.0, 2.0)); // on the hole's edge
        assert!(covers(&poly, 4.0, 2.0)); // on the outer edge
        assert!(covers(&poly, 0.0, 0.0)); // a vertex
        assert!(!covers(&poly, 5.0, 2.0));
        assert!(!covers(&poly, -1.0, 0.0)); // ray through a vertex
        assert!(!covers(&poly, f64::NAN, 1.0));
        assert_eq!(vertex_count(&poly), 10);
    }

    #[test]
    fn concave_ring_with_a_ray_through_vertices() {
        // A "W" shape whose vertices sit on the query latitude.
        let w = Polygon::new(
            ring(&[
                (0.0, 0.0),
                (4.0, 0.0),
                (4.0, 2.0),
                (3.0, 1.0),
                (2.0, 2.0),
                (1.0, 1.0),
                (0.0, 2.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        assert!(covers(&w, 0.5, 1.0));
        assert!(covers(&w, 2.0, 1.0));
        assert!(covers(&w, 2.0, 1.9));
        assert!(!covers(&w, 1.0, 1.5));
        assert_eq!(
            w.coordinate_position(&Coord { x: 3.0, y: 1.0 }),
            CoordPos::OnBoundary
        );
    }

    #[test]
    fn valid_polygons_have_no_crossing() {
        let poly = Polygon::new(square(0.0, 0.0, 4.0), vec![square(1.0, 1.0, 2.0)]);
        assert_eq!(find_crossing(&poly), None);
        // A hole touching the outer ring at one vertex is allowed.
        let touching = Polygon::new(
            square(0.0, 0.0, 4.0),
            vec![ring(&[(0.0, 2.0), (2.0, 1.0), (2.0, 3.0), (0.0, 2.0)])],
        );
        assert_eq!(find_crossing(&touching), None);
        // Collinear consecutive edges (a vertex in the middle of a straight side) are fine.
        let straight = Polygon::new(
            ring(&[(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 0.0)]),
            vec![],
        );
        assert_eq!(find_crossing(&straight), None);
    }

    #[test]
    fn bow_tie_spike_and_crossing_hole_are_found() {
        let bow = Polygon::new(
            ring(&[(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0), (0.0, 0.0)]),
            vec![],
        );
        let c = find_crossing(&bow).expect("bow tie");
        assert_eq!((c.a, c.b, c.at), ((0, 0), (0, 2), Coord { x: 1.0, y: 1.0 }));
        let spike = Polygon::new(
            ring(&[
                (0.0, 0.0),
                (2.0, 0.0),
                (3.0, 0.0),
                (1.0, 0.0),
                (1.0, 1.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        assert!(find_crossing(&spike).is_some());
        // A vertex touching another edge of the same ring (a pinched ring).
        let pinch = Polygon::new(
            ring(&[
                (0.0, 0.0),
                (4.0, 0.0),
                (2.0, 2.0),
                (4.0, 4.0),
                (0.0, 4.0),
                (2.0, 0.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        assert!(find_crossing(&pinch).is_some());
        let crossing_hole = Polygon::new(square(0.0, 0.0, 4.0), vec![square(3.0, 1.0, 2.0)]);
        let c = find_crossing(&crossing_hole).map(|c| (c.a.0, c.b.0));
        assert_eq!(c, Some((0, 1)));
    }

    #[test]
    fn large_rings_are_checked_and_agree() {
        // A 2,000-vertex circle is valid; pulling one vertex out through the far side is not.
        let n = 2000;
        let mut pts: Vec<(f64, f64)> = (0..n)
            .map(|k| {
                let t = k as f64 / n as f64 * std::f64::consts::TAU;
                (t.cos(), t.sin())
            })
            .collect();
        pts.push(pts[0]);
        assert_eq!(find_crossing(&Polygon::new(ring(&pts), vec![])), None);
        pts[500] = (0.0, -1.5);
        let c = find_crossing(&Polygon::new(ring(&pts), vec![])).expect("crossing");
        assert!(
            [499, 500].contains(&c.a.1) || [499, 500].contains(&c.b.1),
            "{c:?}"
        );
    }
}
