//! City grids (网格): which grid, and so which supervisor, a point belongs to — offline.
//!
//! [`GridSet`] is the validated content of a grid file (the server's `GET /v1/grids`, or a file
//! given to the CLI), held in WGS-84. It serialises to normalised GeoJSON with a content
//! [`GridSet::version`], so the store can cache it and rebuild a [`GridIndex`] after a restart.
//!
//! [`GridIndex`] answers point -> grid: an R-tree over polygon bounding boxes narrows the
//! candidates, then an exact point-in-polygon test (holes respected) decides.
//!
//! **Edge rule.** A point on a shared edge or vertex lies in the closed polygons of several grids.
//! It belongs to the grid with the smallest id (byte-wise string order) among all grids whose
//! closed polygon contains it. The same rule resolves overlapping grids (bad data, but it happens),
//! so the answer never depends on file order or tree layout.

use gridline_protocol::CoordSystem;
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::GeoError;
use super::geojson::{self, Grid};
use super::polygon;
use geo::BoundingRect;

/// What a grid is: the answer to "which grid is this point in?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GridInfo {
    /// The grid id: the feature's `id`, else its `properties.id` (integers become decimal text;
    /// both given and different is refused), by [`grid_id`](super::grid_id).
    pub id: String,
    /// Display name (`properties.name`).
    pub name: Option<String>,
    /// The responsible supervisor (`properties.supervisor`).
    pub supervisor: Option<String>,
    /// The parent subdistrict (街道) id or name (`properties.parent`).
    pub parent: Option<String>,
}

/// A validated set of grid polygons in WGS-84.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSet {
    grids: Vec<Grid>,
    version: String,
}

impl GridSet {
    /// Parses and validates a GeoJSON FeatureCollection of Polygon/MultiPolygon grids whose
    /// vertices are in `crs` (most Chinese boundary data is GCJ-02), converting them to WGS-84.
    ///
    /// Fails on the first problem with [`GeoError::InvalidFeature`] naming the feature index
    /// and cause (wrong geometry, unclosed or self-intersecting ring, missing or duplicate id,
    /// out-of-range coordinate…), or [`GeoError::MalformedJson`]/[`GeoError::NotFeatureCollection`].
    /// An empty collection is valid. Properties other than `id`, `name`, `supervisor` and `parent`
    /// are ignored.
    pub fn from_geojson(text: &str, crs: CoordSystem) -> Result<GridSet, GeoError> {
        let grids = geojson::parse(text, crs)?;
        let version = version_of(&geojson::write(&grids));
        Ok(GridSet { grids, version })
    }

    /// The set as normalised GeoJSON in WGS-84 (see [`GridSet::version`]); reading it back with
    /// `from_geojson(text, CoordSystem::Wgs84)` gives an equal set with the same version.
    pub fn to_geojson_string(&self) -> String {
        geojson::write(&self.grids)
    }

    /// A content hash, `sha256:<hex>` of the normalised GeoJSON: equal content, equal version,
    /// whatever the source formatting or coordinate system.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Number of grids.
    pub fn len(&self) -> usize {
        self.grids.len()
    }

    /// Whether the set has no grids.
    pub fn is_empty(&self) -> bool {
        self.grids.is_empty()
    }

    /// The grids, in file order.
    pub fn grids(&self) -> impl Iterator<Item = &GridInfo> {
        self.grids.iter().map(|g| &g.info)
    }

    /// Total vertices over all rings (each ring's closing vertex included).
    pub fn vertex_count(&self) -> usize {
        self.grids
            .iter()
            .flat_map(|g| &g.polygons)
            .map(polygon::vertex_count)
            .sum()
    }
}

fn version_of(normalised: &str) -> String {
    let digest = Sha256::digest(normalised.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// (grid index, polygon index) of one polygon's bounding box (`[lon, lat]` corners) in the tree.
type Entry = GeomWithData<Rectangle<[f64; 2]>, (u32, u32)>;

/// A [`GridSet`] indexed for point lookup.
pub struct GridIndex {
    set: GridSet,
    tree: RTree<Entry>,
}

impl GridIndex {
    /// Builds the R-tree (bulk-loaded, O(n log n)) over every polygon's bounding box.
    pub fn new(set: GridSet) -> GridIndex {
        let entries: Vec<Entry> = set
            .grids
            .iter()
            .enumerate()
            .flat_map(|(g, grid)| {
                grid.polygons
                    .iter()
                    .enumerate()
                    .filter_map(move |(p, poly)| {
                        // Validated polygons are never empty, so they always have a box.
                        let b = poly.bounding_rect()?;
                        let (lo, hi) = ([b.min().x, b.min().y], [b.max().x, b.max().y]);
                        Some(GeomWithData::new(
                            Rectangle::from_corners(lo, hi),
                            (g as u32, p as u32),
                        ))
                    })
            })
            .collect();
        GridIndex {
            tree: RTree::bulk_load(entries),
            set,
        }
    }

    /// The grid containing WGS-84 point (`lon, lat`), by the edge rule in the module docs;
    /// `None` outside every grid or for non-finite input.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&GridInfo> {
        if !lon.is_finite() || !lat.is_finite() {
            return None;
        }
        let p = [lon, lat];
        let mut best: Option<&GridInfo> = None;
        for entry in self.tree.locate_all_at_point(p) {
            let (g, poly) = entry.data;
            let grid = &self.set.grids[g as usize];
            if best.is_some_and(|b| b.id <= grid.info.id) {
                continue;
            }
            if polygon::covers(&grid.polygons[poly as usize], lon, lat) {
                best = Some(&grid.info);
            }
        }
        best
    }

    /// The same answer as [`GridIndex::locate`] by testing every polygon, without the R-tree.
    /// It is the reference the tests and the benchmark compare the index against.
    pub fn locate_linear(&self, lon: f64, lat: f64) -> Option<&GridInfo> {
        if !lon.is_finite() || !lat.is_finite() {
            return None;
        }
        self.set
            .grids
            .iter()
            .filter(|g| {
                g.polygons
                    .iter()
                    .any(|poly| polygon::covers(poly, lon, lat))
            })
            .map(|g| &g.info)
            .min_by(|a, b| a.id.cmp(&b.id))
    }

    /// The indexed grid set.
    pub fn grid_set(&self) -> &GridSet {
        &self.set
    }
}

#[cfg(test)]
mod tests;
