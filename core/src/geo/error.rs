//! The one error type of the geo module. Variants are stable: callers (the store, the CLI, the
//! FFI) match on them; the wording of messages may improve.

use gridline_protocol::FieldError;

/// Why a geo operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    /// A coordinate is NaN, infinite or out of range; the field names which (`point.lat`…).
    #[error(transparent)]
    InvalidPoint(#[from] FieldError),
    /// The grid file is not JSON at all (or has a number JSON cannot hold).
    #[error("grid file is not valid JSON: {0}")]
    MalformedJson(String),
    /// The grid file is JSON but not a GeoJSON FeatureCollection.
    #[error("grid file is not a GeoJSON FeatureCollection: {0}")]
    NotFeatureCollection(String),
    /// One feature is unusable; `index` is its 0-based position in `features`.
    #[error("feature {index}: {problem}")]
    InvalidFeature {
        /// 0-based position of the feature in the file's `features` array.
        index: usize,
        /// What is wrong with it.
        problem: FeatureProblem,
    },
}

/// What is wrong with one grid feature. Ring numbers count within a polygon (0 = outer ring,
/// then holes); `polygon` counts within a MultiPolygon (0 for a Polygon); vertices are 0-based.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureProblem {
    /// The entry is not a `{"type": "Feature"}` object.
    #[error("is not a GeoJSON Feature")]
    NotAFeature,
    /// The geometry is missing or null.
    #[error("has no geometry")]
    MissingGeometry,
    /// The geometry is not a Polygon or MultiPolygon.
    #[error("geometry type {0:?} is not Polygon or MultiPolygon")]
    WrongGeometryType(String),
    /// The `coordinates` do not have the nesting or number types of the geometry type.
    #[error("malformed coordinates: {0}")]
    MalformedCoordinates(String),
    /// A vertex is outside -180..180 / -90..90 (or not convertible from the source system).
    #[error(
        "polygon {polygon} ring {ring} vertex {vertex}: coordinate ({lon}, {lat}) is out of range"
    )]
    CoordinateOutOfRange {
        /// Polygon within the feature.
        polygon: usize,
        /// Ring within the polygon.
        ring: usize,
        /// Vertex within the ring.
        vertex: usize,
        /// Longitude as given.
        lon: f64,
        /// Latitude as given.
        lat: f64,
    },
    /// A ring's last position differs from its first.
    #[error("polygon {polygon} ring {ring} is not closed (last position differs from first)")]
    UnclosedRing {
        /// Polygon within the feature.
        polygon: usize,
        /// Ring within the polygon.
        ring: usize,
    },
    /// A ring has fewer than three distinct vertices.
    #[error("polygon {polygon} ring {ring} has fewer than 3 distinct vertices")]
    TooFewVertices {
        /// Polygon within the feature.
        polygon: usize,
        /// Ring within the polygon.
        ring: usize,
    },
    /// Two edges of a ring touch or cross, or edges of two rings cross.
    #[error(
        "polygon {polygon} ring {ring} edge {edge} intersects ring {other_ring} edge {other_edge} near ({lon}, {lat})"
    )]
    SelfIntersection {
        /// Polygon within the feature.
        polygon: usize,
        /// Ring of the first edge.
        ring: usize,
        /// First edge (edge k joins vertex k and k+1).
        edge: usize,
        /// Ring of the second edge.
        other_ring: usize,
        /// Second edge.
        other_edge: usize,
        /// Longitude near the intersection (WGS-84).
        lon: f64,
        /// Latitude near the intersection (WGS-84).
        lat: f64,
    },
    /// Neither the feature `id` nor `properties.id` is a non-empty string or an integer.
    #[error("has no id (feature `id` or `properties.id`, a non-empty string or integer)")]
    MissingId,
    /// The feature `id` and `properties.id` are both given and name different grids.
    #[error("feature id {id:?} and properties.id {properties_id:?} disagree")]
    ConflictingIds {
        /// The feature's `id` member (as text).
        id: String,
        /// Its `properties.id` (as text).
        properties_id: String,
    },
    /// Another feature already has this id.
    #[error("duplicate id {id:?} (first used by feature {first_index})")]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// Index of the feature that used it first.
        first_index: usize,
    },
    /// A known property (`name`, `supervisor`, `parent`) has the wrong JSON type.
    #[error("property {0:?} must be a string")]
    BadProperty(&'static str),
}
