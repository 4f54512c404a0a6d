//! Reading grid polygons from GeoJSON (RFC 7946) and writing the validated set back as normalised
//! GeoJSON. Reading is strict: any problem is a [`GeoError`] naming the feature index and cause,
//! because a half-loaded grid set would silently send reports to the wrong supervisor.

use std::collections::HashMap;
use std::fmt::Write as _;

use gridline_protocol::CoordSystem;
use serde_json::{Map, Value};

use super::crs::convert_unchecked;
use super::error::{FeatureProblem, GeoError};
use super::grids::GridInfo;
use super::polygon::{Polygon, Pt, find_crossing};

/// One validated grid: what it is, and its polygons in WGS-84.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    pub info: GridInfo,
    pub polygons: Vec<Polygon>,
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
    let id = id_text(obj.get("id"))
        .or_else(|| id_text(props.get("id")))
        .ok_or(FeatureProblem::MissingId)?;
    let info = GridInfo {
        id,
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
    let coords = geometry.get("coordinates");
    let polygons = match kind {
        "Polygon" => vec![parse_polygon(coords, 0, crs)?],
        "MultiPolygon" => {
            let list = coords.and_then(Value::as_array).ok_or_else(|| {
                FeatureProblem::MalformedCoordinates(
                    "MultiPolygon needs an array of polygons".into(),
                )
            })?;
            if list.is_empty() {
                return Err(FeatureProblem::MalformedCoordinates(
                    "MultiPolygon is empty".into(),
                ));
            }
            list.iter()
                .enumerate()
                .map(|(p, c)| parse_polygon(Some(c), p, crs))
                .collect::<Result<_, _>>()?
        }
        other => {
            return Err(FeatureProblem::WrongGeometryType(
                other.chars().take(40).collect(),
            ));
        }
    };
    for (p, poly) in polygons.iter().enumerate() {
        if let Some(c) = find_crossing(poly) {
            return Err(FeatureProblem::SelfIntersection {
                polygon: p,
                ring: c.a.0,
                edge: c.a.1,
                other_ring: c.b.0,
                other_edge: c.b.1,
                lon: c.at[0],
                lat: c.at[1],
            });
        }
    }
    Ok(Grid { info, polygons })
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

fn parse_polygon(
    coords: Option<&Value>,
    polygon: usize,
    crs: CoordSystem,
) -> Result<Polygon, FeatureProblem> {
    let malformed =
        |what: &str| FeatureProblem::MalformedCoordinates(format!("polygon {polygon}: {what}"));
    let rings_json = coords
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("needs an array of rings"))?;
    if rings_json.is_empty() {
        return Err(malformed("has no rings"));
    }
    let mut rings = Vec::with_capacity(rings_json.len());
    for (ring, ring_json) in rings_json.iter().enumerate() {
        let positions = ring_json
            .as_array()
            .ok_or_else(|| malformed(&format!("ring {ring} is not an array of positions")))?;
        let mut raw: Vec<Pt> = Vec::with_capacity(positions.len());
        for (vertex, pos) in positions.iter().enumerate() {
            let xy = pos
                .as_array()
                .filter(|a| a.len() >= 2)
                .and_then(|a| Some([a[0].as_f64()?, a[1].as_f64()?]));
            let [lon, lat] = xy.ok_or_else(|| {
                malformed(&format!(
                    "ring {ring} vertex {vertex} is not a [lon, lat] position"
                ))
            })?;
            let out_of_range = || FeatureProblem::CoordinateOutOfRange {
                polygon,
                ring,
                vertex,
                lon,
                lat,
            };
            if !in_range(lon, lat) {
                return Err(out_of_range());
            }
            raw.push([lon, lat]);
        }
        if raw.len() < 2 || raw.first() != raw.last() {
            return Err(FeatureProblem::UnclosedRing { polygon, ring });
        }
        let mut wgs: Vec<Pt> = Vec::with_capacity(raw.len());
        for (vertex, &[lon, lat]) in raw.iter().enumerate() {
            let (x, y) = convert_unchecked(lon, lat, crs, CoordSystem::Wgs84);
            if !in_range(x, y) {
                return Err(FeatureProblem::CoordinateOutOfRange {
                    polygon,
                    ring,
                    vertex,
                    lon,
                    lat,
                });
            }
            // Repeated consecutive vertices are legal GeoJSON but zero-length edges: drop them.
            if wgs.last() != Some(&[x, y]) {
                wgs.push([x, y]);
            }
        }
        if wgs.len() < 4 {
            return Err(FeatureProblem::TooFewVertices { polygon, ring });
        }
        rings.push(wgs);
    }
    Ok(Polygon { rings })
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
        .map(Polygon::vertex_count)
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
            for (r, ring) in poly.rings.iter().enumerate() {
                out.push_str(if r > 0 { ",[" } else { "[" });
                for (k, [x, y]) in ring.iter().enumerate() {
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
