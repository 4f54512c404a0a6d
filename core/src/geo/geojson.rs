//! Reading grid polygons from GeoJSON (RFC 7946) and writing the validated set back as normalised
//! GeoJSON. Reading is strict: any problem is a [`GeoError`] naming the feature index and cause,
//! because a half-loaded grid set would silently send reports to the wrong supervisor.

use std::collections::HashMap;
use std::fmt::Write as _;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use geojson::GeometryValue;
use gridline_protocol::CoordSystem;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::crs::convert_unchecked;
use super::error::{FeatureProblem, GeoError};
use super::grids::GridInfo;
use super::polygon::{self, find_crossing};

/// One validated grid: what it is, and its polygons in WGS-84.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    pub info: GridInfo,
    pub polygons: Vec<Polygon<f64>>,
}

/// Parses a FeatureCollection of Polygon/MultiPolygon features whose vertices are in `crs`,
/// converting them to WGS-84 and validating everything.
pub(crate) fn parse(text: &str, crs: CoordSystem) -> Result<Vec<Grid>, GeoError> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| GeoError::MalformedJson(e.to_string()))?;
    let Some(obj) = root.as_object() else {
        return Err(GeoError::NotFeatureCollection(
            "top level is not an object".into(),
        ));
    };
    if obj.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(GeoError::NotFeatureCollection(
            "\"type\" is not \"FeatureCollection\"".into(),
        ));
    }
    let Some(features) = obj.get("features").and_then(Value::as_array) else {
        return Err(GeoError::NotFeatureCollection(
            "\"features\" is not an array".into(),
        ));
    };
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(features.len());
    let mut grids = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let err = |problem| GeoError::InvalidFeature { index, problem };
        let grid = parse_feature(feature, crs).map_err(err)?;
        if let Some(&first_index) = seen.get(&grid.info.id) {
            return Err(err(FeatureProblem::DuplicateId {
                id: grid.info.id,
                first_index,
            }));
        }
        seen.insert(grid.info.id.clone(), index);
        grids.push(grid);
    }
    Ok(grids)
}

fn parse_feature(feature: &Value, crs: CoordSystem) -> Result<Grid, FeatureProblem> {
    let obj = feature
        .as_object()
        .filter(|o| o.get("type").and_then(Value::as_str) == Some("Feature"))
        .ok_or(FeatureProblem::NotAFeature)?;
    let empty = Map::new();
    let props = obj
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let info = GridInfo {
        id: grid_id(feature)?,
        name: string_prop(props, "name")?,
        supervisor: string_prop(props, "supervisor")?,
        parent: string_prop(props, "parent")?,
    };
    let geometry = match obj.get("geometry") {
        None | Some(Value::Null) => return Err(FeatureProblem::MissingGeometry),
        Some(g) => g,
    };
    let kind = geometry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "Polygon" && kind != "MultiPolygon" {
        return Err(FeatureProblem::WrongGeometryType(
            kind.chars().take(40).collect(),
        ));
    }
    // The geojson crate reads the geometry and converts it to geo-types; we check what it
    // leaves to the caller first (positions of two numbers, closed rings, coordinate range).
    let geometry = geojson::Geometry::deserialize(geometry)
        .map_err(|e| FeatureProblem::MalformedCoordinates(e.to_string()))?;
    let raw: Vec<&Vec<Vec<geojson::Position>>> = match &geometry.value {
        GeometryValue::Polygon { coordinates } => vec![coordinates],
        GeometryValue::MultiPolygon { coordinates } if coordinates.is_empty() => {
            return Err(FeatureProblem::MalformedCoordinates(
                "MultiPolygon is empty".into(),
            ));
        }
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => return Err(FeatureProblem::WrongGeometryType(other.type_name().into())),
    };
    for (p, rings) in raw.iter().enumerate() {
        check_rings(rings, p)?;
    }
    let converted = match &geometry.value {
        GeometryValue::Polygon { .. } => Polygon::try_from(&geometry.value).map(|p| vec![p]),
        _ => MultiPolygon::try_from(&geometry.value).map(|m| m.0),
    }
    .map_err(|e| FeatureProblem::MalformedCoordinates(e.to_string()))?;
    let polygons = converted
        .iter()
        .enumerate()
        .map(|(p, poly)| to_wgs84(poly, p, crs))
        .collect::<Result<Vec<_>, _>>()?;
    for (p, poly) in polygons.iter().enumerate() {
        if let Some(c) = find_crossing(poly) {
            return Err(FeatureProblem::SelfIntersection {
                polygon: p,
                ring: c.a.0,
                edge: c.a.1,
                other_ring: c.b.0,
                other_edge: c.b.1,
                lon: c.at.x,
                lat: c.at.y,
            });
        }
    }
    Ok(Grid { info, polygons })
}

/// The grid id of a GeoJSON feature — the one rule devices and the server share.
///
/// The id is the feature's `id` member (RFC 7946 §3.2), else `properties.id`; either must be a
/// non-empty string or an integer (written in decimal). When both are given they must be the
/// same id (`7` and `"7"` are), else the feature is refused with
/// [`FeatureProblem::ConflictingIds`]: a file whose two ids disagree would route reports to
/// different grids depending on who reads it. Neither: [`FeatureProblem::MissingId`].
pub fn grid_id(feature: &Value) -> Result<String, FeatureProblem> {
    let member = id_text(feature.get("id"));
    let property = id_text(feature.get("properties").and_then(|p| p.get("id")));
    match (member, property) {
        (Some(id), Some(properties_id)) if id != properties_id => {
            Err(FeatureProblem::ConflictingIds { id, properties_id })
        }
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(FeatureProblem::MissingId),
    }
}

/// A usable id: a non-empty string, or an integer (written in decimal).
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn string_prop(
    props: &Map<String, Value>,
    key: &'static str,
) -> Result<Option<String>, FeatureProblem> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(FeatureProblem::BadProperty(key)),
    }
}

/// Checks one polygon's rings as written: at least one ring, positions of at least two numbers
/// within range, each ring closed.
fn check_rings(rings: &[Vec<geojson::Position>], polygon: usize) -> Result<(), FeatureProblem> {
    let malformed =
        |what: String| FeatureProblem::MalformedCoordinates(format!("polygon {polygon}: {what}"));
    if rings.is_empty() {
        return Err(malformed("has no rings".into()));
    }
    for (ring, positions) in rings.iter().enumerate() {
        for (vertex, pos) in positions.iter().enumerate() {
            let &[lon, lat, ..] = pos.as_slice() else {
                return Err(malformed(format!(
                    "ring {ring} vertex {vertex} is not a [lon, lat] position"
                )));
            };
            if !in_range(lon, lat) {
                return Err(FeatureProblem::CoordinateOutOfRange {
                    polygon,
                    ring,
                    vertex,
                    lon,
                    lat,
                });
            }
        }
        let ends = |p: Option<&geojson::Position>| p.map(|p| [p[0], p[1]]);
        if positions.len() < 2 || ends(positions.first()) != ends(positions.last()) {
            return Err(FeatureProblem::UnclosedRing { polygon, ring });
        }
    }
    Ok(())
}

/// Converts a checked polygon's vertices from `crs` to WGS-84, dropping repeated consecutive
/// vertices (legal GeoJSON, but zero-length edges).
fn to_wgs84(
    poly: &Polygon<f64>,
    polygon: usize,
    crs: CoordSystem,
) -> Result<Polygon<f64>, FeatureProblem> {
    let mut rings = Vec::with_capacity(1 + poly.interiors().len());
    for (ring, ls) in polygon::rings(poly).enumerate() {
        let mut wgs: Vec<Coord<f64>> = Vec::with_capacity(ls.0.len());
        for (vertex, c) in ls.0.iter().enumerate() {
            let (x, y) = convert_unchecked(c.x, c.y, crs, CoordSystem::Wgs84);
            if !in_range(x, y) {
                return Err(FeatureProblem::CoordinateOutOfRange {
                    polygon,
                    ring,
                    vertex,
                    lon: c.x,
                    lat: c.y,
                });
            }
            if wgs.last() != Some(&Coord { x, y }) {
                wgs.push(Coord { x, y });
            }
        }
        if wgs.len() < 4 {
            return Err(FeatureProblem::TooFewVertices { polygon, ring });
        }
        rings.push(LineString::new(wgs));
    }
    let mut rings = rings.into_iter();
    let exterior = rings.next().unwrap_or_else(|| LineString::new(vec![]));
    Ok(Polygon::new(exterior, rings.collect()))
}

fn in_range(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

/// Writes grids as a normalised GeoJSON FeatureCollection in WGS-84: every geometry a
/// MultiPolygon, ids as strings, only the `name`, `supervisor` and `parent` properties, numbers
/// in shortest round-trip form. Parsing the output gives back an equal grid set.
pub(crate) fn write(grids: &[Grid]) -> String {
    let vertices: usize = grids
        .iter()
        .flat_map(|g| &g.polygons)
        .map(polygon::vertex_count)
        .sum();
    let mut out = String::with_capacity(64 + grids.len() * 160 + vertices * 40);
    out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, g) in grids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"type\":\"Feature\",\"id\":");
        out.push_str(&json_string(&g.info.id));
        out.push_str(",\"properties\":{");
        let props = [
            ("name", &g.info.name),
            ("supervisor", &g.info.supervisor),
            ("parent", &g.info.parent),
        ];
        let mut first = true;
        for (key, value) in props {
            if let Some(v) = value {
                if !first {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "\"{key}\":{}", json_string(v));
            }
        }
        out.push_str("},\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[");
        for (p, poly) in g.polygons.iter().enumerate() {
            out.push_str(if p > 0 { ",[" } else { "[" });
            for (r, ring) in polygon::rings(poly).enumerate() {
                out.push_str(if r > 0 { ",[" } else { "[" });
                for (k, Coord { x, y }) in ring.0.iter().enumerate() {
                    // Rust's f64 Display is the shortest text that parses back to the same value.
                    let _ = write!(out, "{}[{x},{y}]", if k > 0 { "," } else { "" });
                }
                out.push(']');
            }
            out.push(']');
        }
        out.push_str("]}}");
    }
    out.push_str("]}");
    out
}

fn json_string(s: &str) -> String {
    // Serialising a &str cannot fail; fall back to an empty string literal regardless.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}
