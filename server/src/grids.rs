//! Grid polygons: importing them from GeoJSON, publishing them at `GET /v1/grids`, and finding
//! the grid that contains a point.
//!
//! [`GridLocator`] is the seam for point lookup. The default is [`rtree_locator_factory`]: the
//! R-tree index of `gridline-core::geo`, the very code (and edge rule: smallest id wins on a
//! shared edge) the devices use, so a report gets the same grid on the phone and on the server.
//! [`LinearLocator`] stays as a simple reference implementation for tests.
//! Imports are validated by `gridline-core::geo` too (unclosed or self-intersecting rings,
//! duplicate ids, bad coordinates), so the server accepts exactly what devices accept.

use std::sync::Arc;

use geo::{Coord, CoordinatePosition, LineString, Polygon, coordinate_position::CoordPos};
use gridline_core::geo::{FeatureProblem, GeoError, GridIndex, GridSet, grid_id};
use gridline_protocol::location::validate_lat_lon;
use gridline_protocol::report::{MAX_ID_CHARS, check_text};
use gridline_protocol::{CoordSystem, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Finds the grid containing a WGS-84 point.
pub trait GridLocator: Send + Sync {
    /// The id of the grid containing (`lat`, `lon`), if any.
    fn locate(&self, lat: f64, lon: f64) -> Option<String>;
}

/// Builds a locator over a set of grids; called again whenever the grids change.
pub type LocatorFactory = Arc<dyn Fn(&[Grid]) -> Arc<dyn GridLocator> + Send + Sync>;

/// The default factory: a [`LinearLocator`].
/// The R-tree locator of `gridline-core::geo` (the default).
pub fn rtree_locator_factory() -> LocatorFactory {
    Arc::new(|grids: &[Grid]| {
        let text = to_geojson(grids, &[], "").to_string();
        match GridSet::from_geojson(&text, CoordSystem::Wgs84) {
            Ok(set) => Arc::new(RtreeLocator(GridIndex::new(set))) as Arc<dyn GridLocator>,
            // Stored grids passed the same validation at import; should they not now (an older
            // data folder), a linear scan still assigns grids rather than none.
            Err(_) => Arc::new(LinearLocator::new(grids.to_vec())),
        }
    })
}

/// Point lookup through `gridline-core`'s R-tree.
struct RtreeLocator(GridIndex);

impl GridLocator for RtreeLocator {
    fn locate(&self, lat: f64, lon: f64) -> Option<String> {
        self.0.locate(lon, lat).map(|g| g.id.clone())
    }
}

/// The linear reference locator (every polygon tested per lookup).
pub fn linear_locator_factory() -> LocatorFactory {
    Arc::new(|grids: &[Grid]| Arc::new(LinearLocator::new(grids.to_vec())) as Arc<dyn GridLocator>)
}

/// A ring of `[lon, lat]` positions, closed (first equals last), as in GeoJSON.
pub type Ring = Vec<[f64; 2]>;

/// A grid's shape: a GeoJSON `Polygon` or `MultiPolygon` (WGS-84; first ring outer, rest holes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "coordinates")]
pub enum Geometry {
    /// One polygon: outer ring, then holes.
    Polygon(Vec<Ring>),
    /// Several polygons.
    MultiPolygon(Vec<Vec<Ring>>),
}

impl Geometry {
    fn polygons(&self) -> impl Iterator<Item = &[Ring]> {
        let (one, many) = match self {
            Self::Polygon(p) => (Some(p.as_slice()), None),
            Self::MultiPolygon(ps) => (None, Some(ps.iter().map(Vec::as_slice))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// True when the point is in the closed polygon (edges included, holes excluded), by `geo`'s
    /// robust point-in-polygon test.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let at = Coord { x: lon, y: lat };
        self.polygons().any(|rings| {
            let mut rings = rings
                .iter()
                .map(|r| LineString::new(r.iter().map(|&[x, y]| Coord { x, y }).collect()));
            let Some(exterior) = rings.next() else {
                return false;
            };
            Polygon::new(exterior, rings.collect()).coordinate_position(&at) != CoordPos::Outside
        })
    }
}

/// One grid (网格): an id supervisors are assigned to, a name, a shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Stable id, e.g. `HS-GL-03`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where it is.
    pub geometry: Geometry,
}

/// Tests every grid in id order; the first that contains the point wins.
#[derive(Debug, Clone)]
pub struct LinearLocator {
    grids: Vec<Grid>,
}

impl LinearLocator {
    /// A locator over `grids`.
    pub fn new(grids: Vec<Grid>) -> Self {
        Self { grids }
    }
}

impl GridLocator for LinearLocator {
    fn locate(&self, lat: f64, lon: f64) -> Option<String> {
        self.grids
            .iter()
            .find(|g| g.geometry.contains(lat, lon))
            .map(|g| g.id.clone())
    }
}

/// Reads a GeoJSON FeatureCollection of grids. Each feature needs an id by the rule devices use
/// ([`grid_id`]: the feature's `id`, else `properties.id`; a file where both are given and differ
/// is refused), a `Polygon` or `MultiPolygon` geometry with closed rings of at least
/// four positions in WGS-84 range; `properties.name` is optional.
pub fn parse_geojson(text: &str) -> Result<Vec<Grid>, FieldError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| FieldError::new("geojson", format!("is not JSON: {e}")))?;
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(FieldError::new("type", "must be FeatureCollection"));
    }
    let features = doc
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| FieldError::new("features", "must be an array"))?;
    let mut grids: Vec<Grid> = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let field = format!("features.{i}");
        let props = f.get("properties").filter(|p| p.is_object());
        let id_field = format!("{field}.id");
        let id = grid_id(f).map_err(|problem| match problem {
            FeatureProblem::MissingId => FieldError::new(
                &id_field,
                "is required (the feature's id or properties.id, a string or an integer)",
            ),
            other => FieldError::new(&id_field, other.to_string()),
        })?;
        check_text(&id_field, &id, MAX_ID_CHARS, false)?;
        if grids.iter().any(|g| g.id == id) {
            return Err(FieldError::new(id_field, format!("{id:?} is used twice")));
        }
        let name = props
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(&id)
            .to_string();
        check_text(
            &format!("{field}.properties.name"),
            &name,
            MAX_ID_CHARS,
            false,
        )?;
        let geometry = parse_geometry(&format!("{field}.geometry"), f.get("geometry"))?;
        grids.push(Grid { id, name, geometry });
    }
    // Then the devices' own validation (self-intersecting rings, holes, ...): what a phone
    // would refuse, the server refuses too.
    if let Err(e) = GridSet::from_geojson(text, CoordSystem::Wgs84) {
        let field = match &e {
            GeoError::InvalidFeature { index, .. } => format!("features.{index}"),
            _ => "geojson".to_string(),
        };
        return Err(FieldError::new(field, e.to_string()));
    }
    grids.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(grids)
}

fn parse_geometry(field: &str, value: Option<&Value>) -> Result<Geometry, FieldError> {
    let value = value.ok_or_else(|| FieldError::new(field, "is required"))?;
    let coords = value.get("coordinates");
    let coords_field = format!("{field}.coordinates");
    match value.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(Geometry::Polygon(parse_polygon(&coords_field, coords)?)),
        Some("MultiPolygon") => {
            let polys = coords
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| FieldError::new(&coords_field, "must list polygons"))?;
            let parsed = polys
                .iter()
                .enumerate()
                .map(|(i, p)| parse_polygon(&format!("{coords_field}.{i}"), Some(p)))
                .collect::<Result<_, _>>()?;
            Ok(Geometry::MultiPolygon(parsed))
        }
        _ => Err(FieldError::new(
            format!("{field}.type"),
            "must be Polygon or MultiPolygon",
        )),
    }
}

fn parse_polygon(field: &str, value: Option<&Value>) -> Result<Vec<Ring>, FieldError> {
    let rings = value
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| FieldError::new(field, "must list rings"))?;
    let mut out = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let field = format!("{field}.{r}");
        let positions = ring
            .as_array()
            .filter(|a| a.len() >= 4)
            .ok_or_else(|| FieldError::new(&field, "a ring needs at least 4 positions"))?;
        let mut parsed: Ring = Vec::with_capacity(positions.len());
        for (p, pos) in positions.iter().enumerate() {
            let pair = pos.as_array().filter(|a| a.len() >= 2);
            let lon = pair.and_then(|a| a[0].as_f64());
            let lat = pair.and_then(|a| a[1].as_f64());
            let (Some(lon), Some(lat)) = (lon, lat) else {
                return Err(FieldError::new(
                    format!("{field}.{p}"),
                    "must be [lon, lat]",
                ));
            };
            validate_lat_lon(&format!("{field}.{p}"), lat, lon)?;
            parsed.push([lon, lat]);
        }
        if parsed.first() != parsed.last() {
            return Err(FieldError::new(field, "a ring must end where it starts"));
        }
        out.push(parsed);
    }
    Ok(out)
}

/// The document served at `GET /v1/grids`: a FeatureCollection with each grid's id, name and
/// supervisors (user names), plus a `version` member that changes with the content.
pub fn to_geojson(grids: &[Grid], supervisors: &[(String, String)], version: &str) -> Value {
    let features: Vec<Value> = grids
        .iter()
        .map(|g| {
            let names: Vec<&str> = supervisors
                .iter()
                .filter(|(grid, _)| grid == &g.id)
                .map(|(_, name)| name.as_str())
                .collect();
            json!({
                "type": "Feature",
                "id": g.id,
                "properties": {"id": g.id, "name": g.name, "supervisors": names},
                "geometry": g.geometry,
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "version": version, "features": features})
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_GRIDS: &str = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"id":"B","name":"East"},"geometry":{"type":"Polygon",
        "coordinates":[[[121.55,29.86],[121.56,29.86],[121.56,29.87],[121.55,29.87],[121.55,29.86]]]}},
      {"type":"Feature","id":"A","properties":{},"geometry":{"type":"MultiPolygon",
        "coordinates":[[[[121.54,29.86],[121.55,29.86],[121.55,29.87],[121.54,29.87],[121.54,29.86]],
                        [[121.544,29.864],[121.546,29.864],[121.546,29.866],[121.544,29.866],[121.544,29.864]]]]}}
    ]}"#;

    #[test]
    fn locates_points_respecting_holes() {
        let grids = parse_geojson(TWO_GRIDS).unwrap();
        assert_eq!(grids[0].id, "A");
        assert_eq!(grids[0].name, "A");
        let loc = LinearLocator::new(grids);
        assert_eq!(loc.locate(29.865, 121.541).as_deref(), Some("A"));
        assert_eq!(loc.locate(29.865, 121.545), None, "inside A's hole");
        assert_eq!(loc.locate(29.865, 121.558).as_deref(), Some("B"));
        assert_eq!(loc.locate(29.90, 121.558), None);
    }

    #[test]
    fn refuses_bad_geojson_naming_the_field() {
        let cases = [
            ("[]", "type"),
            (r#"{"type":"FeatureCollection"}"#, "features"),
            (
                r#"{"type":"FeatureCollection","features":[{"geometry":null,"properties":{}}]}"#,
                "features.0.id",
            ),
            (
                r#"{"type":"FeatureCollection","features":[{"properties":{"id":"X"},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#,
                "features.0.geometry.type",
            ),
            (
                r#"{"type":"FeatureCollection","features":[{"properties":{"id":"X"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}]}"#,
                "features.0.geometry.coordinates.0",
            ),
            (
                r#"{"type":"FeatureCollection","features":[{"properties":{"id":"X"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]}}]}"#,
                "features.0.geometry.coordinates.0.2.lat",
            ),
        ];
        let bowtie = r#"{"type":"FeatureCollection","features":[{"properties":{"id":"X"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}]}"#;
        assert_eq!(
            parse_geojson(bowtie).map_err(|e| e.field),
            Err("features.0".to_string()),
            "self-intersecting ring"
        );
        for (text, field) in cases {
            assert_eq!(
                parse_geojson(text).map_err(|e| e.field),
                Err(field.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn grid_ids_follow_the_devices_rule() {
        let feature = |id: &str, props: &str| {
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature"{id},"properties":{{{props}}},"geometry":{{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}}}}]}}"#
            )
        };
        // The feature id names the grid, properties.id is the fallback, integers are text.
        let ids = |text: &str| parse_geojson(text).map(|g| g[0].id.clone());
        assert_eq!(ids(&feature(r#","id":"A""#, "")), Ok("A".into()));
        assert_eq!(ids(&feature("", r#""id":"A""#)), Ok("A".into()));
        assert_eq!(ids(&feature(r#","id":7"#, r#""id":"7""#)), Ok("7".into()));
        // Both given and different: refused, naming the feature's id.
        let err = parse_geojson(&feature(r#","id":"A""#, r#""id":"B""#)).unwrap_err();
        assert_eq!(err.field, "features.0.id");
        assert!(err.to_string().contains("disagree"), "{err}");
        // The id the server stores is the one a phone's GridIndex reports for a point.
        let text = feature(r#","id":"A""#, r#""id":"A""#);
        let index = GridIndex::new(GridSet::from_geojson(&text, CoordSystem::Wgs84).unwrap());
        assert_eq!(
            index.locate(0.5, 0.5).map(|g| g.id.clone()),
            ids(&text).ok()
        );
    }

    #[test]
    fn publishes_supervisors_per_grid() {
        let grids = parse_geojson(TWO_GRIDS).unwrap();
        let doc = to_geojson(&grids, &[("B".into(), "wang".into())], "v1");
        assert_eq!(
            doc["features"][1]["properties"]["supervisors"],
            json!(["wang"])
        );
        assert_eq!(doc["features"][0]["properties"]["supervisors"], json!([]));
        let back: Geometry =
            serde_json::from_value(doc["features"][1]["geometry"].clone()).unwrap();
        assert_eq!(back, grids[1].geometry);
    }
}
