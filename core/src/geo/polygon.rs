//! Planar polygon geometry on (lon, lat) degrees: exact point-in-polygon with boundary detection,
//! and the validity check (no self-intersections) that grid import runs.
//!
//! Orientation tests use Shewchuk's adaptive exact predicates (crate `robust`), so "on the shared
//! edge of two grids" is decided exactly and the same way for both grids. Grids are a few hundred
//! metres across, where treating degrees as planar is harmless.

use robust::{Coord, orient2d};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// A vertex, `[lon, lat]`.
pub(crate) type Pt = [f64; 2];

/// Where a point lies relative to a closed ring or polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Outside,
    Boundary,
    Inside,
}

/// A polygon: outer ring then holes, each ring closed (first vertex repeated last), with no
/// repeated consecutive vertices.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Polygon {
    pub rings: Vec<Vec<Pt>>,
}

fn orient(a: Pt, b: Pt, c: Pt) -> f64 {
    orient2d(
        Coord { x: a[0], y: a[1] },
        Coord { x: b[0], y: b[1] },
        Coord { x: c[0], y: c[1] },
    )
}

/// `c`, known collinear with `a`-`b`, lies within the segment's bounding box (so on it).
fn within(a: Pt, b: Pt, c: Pt) -> bool {
    a[0].min(b[0]) <= c[0]
        && c[0] <= a[0].max(b[0])
        && a[1].min(b[1]) <= c[1]
        && c[1] <= a[1].max(b[1])
}

/// Side of `p` relative to a closed ring, by crossing number with exact orientation tests.
pub(crate) fn ring_side(ring: &[Pt], p: Pt) -> Side {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        let o = orient(a, b, p);
        if o == 0.0 && within(a, b, p) {
            return Side::Boundary;
        }
        // Half-open rule on latitude: each crossing of the ray to +lon is counted once.
        if (a[1] > p[1]) != (b[1] > p[1]) {
            // p is left of an upward edge / right of a downward one <=> the edge is east of p.
            let east = if b[1] > a[1] { o > 0.0 } else { o < 0.0 };
            if east {
                inside = !inside;
            }
        }
    }
    if inside { Side::Inside } else { Side::Outside }
}

impl Polygon {
    /// Side of `p` relative to the polygon: inside the outer ring and not inside any hole.
    pub(crate) fn side(&self, p: Pt) -> Side {
        let Some((outer, holes)) = self.rings.split_first() else {
            return Side::Outside;
        };
        let mut side = ring_side(outer, p);
        if side == Side::Outside {
            return side;
        }
        for hole in holes {
            match ring_side(hole, p) {
                Side::Inside => return Side::Outside,
                Side::Boundary => side = Side::Boundary,
                Side::Outside => {}
            }
        }
        side
    }

    /// `[min_lon, min_lat], [max_lon, max_lat]` of the outer ring.
    pub(crate) fn bounds(&self) -> (Pt, Pt) {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in self.rings.first().map(Vec::as_slice).unwrap_or_default() {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        (lo, hi)
    }

    /// Number of vertices, counting each ring's closing vertex.
    pub(crate) fn vertex_count(&self) -> usize {
        self.rings.iter().map(Vec::len).sum()
    }
}

/// Two edges that must not meet: `(ring, edge)` twice, and a point near where they do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Crossing {
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub at: Pt,
}

/// Do closed segments `p1-p2` and `q1-q2` share any point?
fn segments_meet(p1: Pt, p2: Pt, q1: Pt, q2: Pt) -> bool {
    let d1 = orient(q1, q2, p1);
    let d2 = orient(q1, q2, p2);
    let d3 = orient(p1, p2, q1);
    let d4 = orient(p1, p2, q2);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && within(q1, q2, p1))
        || (d2 == 0.0 && within(q1, q2, p2))
        || (d3 == 0.0 && within(p1, p2, q1))
        || (d4 == 0.0 && within(p1, p2, q2))
}

/// Do the interiors of two segments cross at a single point (a proper crossing)?
fn segments_cross(p1: Pt, p2: Pt, q1: Pt, q2: Pt) -> bool {
    let d1 = orient(q1, q2, p1);
    let d2 = orient(q1, q2, p2);
    let d3 = orient(p1, p2, q1);
    let d4 = orient(p1, p2, q2);
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

/// Below this many edges the quadratic check is faster than building an R-tree.
const SMALL_POLYGON_EDGES: usize = 64;

/// Finds an invalid intersection in a polygon, if any:
/// - within one ring, two non-adjacent edges that share any point, or two adjacent edges that
///   fold back on each other (a spike);
/// - between two rings, edges that properly cross (rings may touch at a vertex, as OGC allows).
///
/// Edges are indexed with an R-tree of their bounding boxes, so the check is O(n log n) for
/// well-behaved rings, fast on a million vertices; small polygons use a direct pairwise check.
pub(crate) fn find_crossing(poly: &Polygon) -> Option<Crossing> {
    let edges: Vec<(usize, usize, Pt, Pt)> = poly
        .rings
        .iter()
        .enumerate()
        .flat_map(|(r, ring)| {
            ring.windows(2)
                .enumerate()
                .map(move |(e, w)| (r, e, w[0], w[1]))
        })
        .collect();
    let check = |i: usize, j: usize| -> Option<Crossing> {
        let (ri, ei, a1, a2) = edges[i];
        let (rj, ej, b1, b2) = edges[j];
        let bad = if ri == rj {
            let n = poly.rings[ri].len() - 1;
            let adjacent = ei + 1 == ej
                || ej + 1 == ei
                || (ei == 0 && ej == n - 1)
                || (ej == 0 && ei == n - 1);
            if adjacent {
                // Shared vertex s; a spike if the far ends are collinear with it and fold back.
                let (s, x, y) = if a2 == b1 { (a2, a1, b2) } else { (a1, a2, b1) };
                orient(x, s, y) == 0.0
                    && (x[0] - s[0]) * (y[0] - s[0]) + (x[1] - s[1]) * (y[1] - s[1]) > 0.0
            } else {
                segments_meet(a1, a2, b1, b2)
            }
        } else {
            segments_cross(a1, a2, b1, b2)
        };
        bad.then(|| Crossing {
            a: (ri, ei),
            b: (rj, ej),
            at: [(a1[0] + a2[0]) / 2.0, (a1[1] + a2[1]) / 2.0],
        })
    };
    if edges.len() <= SMALL_POLYGON_EDGES {
        for i in 0..edges.len() {
            for j in i + 1..edges.len() {
                if let Some(c) = check(i, j) {
                    return Some(c);
                }
            }
        }
        return None;
    }
    let boxes: Vec<GeomWithData<Rectangle<Pt>, usize>> = edges
        .iter()
        .enumerate()
        .map(|(i, &(_, _, a, b))| GeomWithData::new(Rectangle::from_corners(a, b), i))
        .collect();
    let tree = RTree::bulk_load(boxes);
    for (i, &(_, _, a, b)) in edges.iter().enumerate() {
        for other in tree.locate_in_envelope_intersecting(AABB::from_corners(a, b)) {
            let j = other.data;
            if j > i
                && let Some(c) = check(i, j)
            {
                return Some(c);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, s: f64) -> Vec<Pt> {
        vec![
            [x0, y0],
            [x0 + s, y0],
            [x0 + s, y0 + s],
            [x0, y0 + s],
            [x0, y0],
        ]
    }

    #[test]
    fn sides_of_a_square_with_a_hole() {
        let poly = Polygon {
            rings: vec![square(0.0, 0.0, 4.0), square(1.0, 1.0, 2.0)],
        };
        assert_eq!(poly.side([0.5, 0.5]), Side::Inside);
        assert_eq!(poly.side([2.0, 2.0]), Side::Outside); // in the hole
        assert_eq!(poly.side([1.0, 2.0]), Side::Boundary); // on the hole's edge
        assert_eq!(poly.side([4.0, 2.0]), Side::Boundary); // on the outer edge
        assert_eq!(poly.side([0.0, 0.0]), Side::Boundary); // a vertex
        assert_eq!(poly.side([5.0, 2.0]), Side::Outside);
        assert_eq!(poly.side([-1.0, 0.0]), Side::Outside); // ray through a vertex
        assert_eq!(poly.side([f64::NAN, 1.0]), Side::Outside);
    }

    #[test]
    fn concave_ring_with_a_ray_through_vertices() {
        // A "W" shape whose vertices sit on the query latitude.
        let ring = vec![
            [0.0, 0.0],
            [4.0, 0.0],
            [4.0, 2.0],
            [3.0, 1.0],
            [2.0, 2.0],
            [1.0, 1.0],
            [0.0, 2.0],
            [0.0, 0.0],
        ];
        assert_eq!(ring_side(&ring, [0.5, 1.0]), Side::Inside);
        assert_eq!(ring_side(&ring, [2.0, 1.0]), Side::Inside);
        assert_eq!(ring_side(&ring, [2.0, 1.9]), Side::Inside);
        assert_eq!(ring_side(&ring, [1.0, 1.5]), Side::Outside);
        assert_eq!(ring_side(&ring, [3.0, 1.0]), Side::Boundary);
    }

    #[test]
    fn valid_polygons_have_no_crossing() {
        let poly = Polygon {
            rings: vec![square(0.0, 0.0, 4.0), square(1.0, 1.0, 2.0)],
        };
        assert_eq!(find_crossing(&poly), None);
        // A hole touching the outer ring at one vertex is allowed.
        let touching = Polygon {
            rings: vec![
                square(0.0, 0.0, 4.0),
                vec![[0.0, 2.0], [2.0, 1.0], [2.0, 3.0], [0.0, 2.0]],
            ],
        };
        assert_eq!(find_crossing(&touching), None);
    }

    #[test]
    fn bow_tie_spike_and_crossing_hole_are_found() {
        let bow = Polygon {
            rings: vec![vec![
                [0.0, 0.0],
                [2.0, 2.0],
                [2.0, 0.0],
                [0.0, 2.0],
                [0.0, 0.0],
            ]],
        };
        assert!(find_crossing(&bow).is_some());
        let spike = Polygon {
            rings: vec![vec![
                [0.0, 0.0],
                [2.0, 0.0],
                [3.0, 0.0],
                [1.0, 0.0],
                [1.0, 1.0],
                [0.0, 0.0],
            ]],
        };
        assert!(find_crossing(&spike).is_some());
        // A vertex touching another edge of the same ring (a pinched ring).
        let pinch = Polygon {
            rings: vec![vec![
                [0.0, 0.0],
                [4.0, 0.0],
                [2.0, 2.0],
                [4.0, 4.0],
                [0.0, 4.0],
                [2.0, 0.0],
                [0.0, 0.0],
            ]],
        };
        assert!(find_crossing(&pinch).is_some());
        let crossing_hole = Polygon {
            rings: vec![square(0.0, 0.0, 4.0), square(3.0, 1.0, 2.0)],
        };
        let c = find_crossing(&crossing_hole).map(|c| (c.a.0, c.b.0));
        assert_eq!(c, Some((0, 1)));
    }

    #[test]
    fn large_rings_use_the_tree_and_agree() {
        // A 2,000-vertex circle is valid; pulling one vertex out through the far side is not.
        let n = 2000;
        let mut ring: Vec<Pt> = (0..n)
            .map(|k| {
                let t = k as f64 / n as f64 * std::f64::consts::TAU;
                [t.cos(), t.sin()]
            })
            .collect();
        ring.push(ring[0]);
        let poly = Polygon {
            rings: vec![ring.clone()],
        };
        assert_eq!(find_crossing(&poly), None);
        ring[500] = [0.0, -1.5];
        let bad = Polygon { rings: vec![ring] };
        let c = find_crossing(&bad).expect("crossing");
        assert!(
            [499, 500].contains(&c.a.1) || [499, 500].contains(&c.b.1),
            "{c:?}"
        );
    }
}
