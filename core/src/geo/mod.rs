//! Geo: where a report is, in which coordinate system, and which city grid it falls in.
//!
//! Everything here works offline and is pure computation:
//! - [`crs`]: WGS-84 <-> GCJ-02 <-> BD-09, with exact (iterated) inverses and identity outside
//!   China decided by an outline of its land, islands and territorial sea ([`china`]).
//! - [`quality`]: warnings attached to a location fix at submit time (`low_accuracy`, `stale_fix`…).
//! - [`grids`]: grid polygons from GeoJSON, validated, indexed with an R-tree, point -> grid.
//! - [`distance`]: haversine metres and a bounding box for radius queries.
//!
//! Convention: every function here takes **longitude first** (`lon, lat`), the order of GeoJSON,
//! CSV files and the CLI. Only `gridline_protocol::validate_lat_lon` (not ours) is `lat, lon`.
//! See docs/geo.md.

pub mod china;
pub mod crs;
pub mod distance;
pub mod error;
mod geojson;
pub mod grids;
mod polygon;
pub mod quality;

pub use crs::convert;
pub use distance::{BoundingBox, bbox_around, haversine_m};
pub use error::{FeatureProblem, GeoError};
pub use geojson::grid_id;
pub use grids::{GridIndex, GridInfo, GridSet};
pub use quality::{FixWarning, assess};
