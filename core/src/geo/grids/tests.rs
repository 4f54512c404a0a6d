use serde_json::{Value, json};

use super::*;
use crate::geo::FeatureProblem;
use crate::geo::crs::convert;

fn square(x0: f64, y0: f64, s: f64) -> Value {
    json!([
        [x0, y0],
        [x0 + s, y0],
        [x0 + s, y0 + s],
        [x0, y0 + s],
        [x0, y0]
    ])
}

fn feature(id: Value, rings: Value) -> Value {
    json!({"type": "Feature", "id": id, "properties": {"parent": "P1"},
           "geometry": {"type": "Polygon", "coordinates": rings}})
}

fn collection(features: Vec<Value>) -> String {
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

/// Four 1 km-ish cells around Ningbo: A (south-west), B (south-east), C (north-west), D (north-east).
fn four_cells() -> String {
    let (x, y, s) = (121.54, 29.86, 0.01);
    collection(vec![
        feature(json!("A"), json!([square(x, y, s)])),
        feature(json!("B"), json!([square(x + s, y, s)])),
        feature(json!("C"), json!([square(x, y + s, s)])),
        feature(json!("D"), json!([square(x + s, y + s, s)])),
    ])
}

fn index(text: &str) -> GridIndex {
    GridIndex::new(GridSet::from_geojson(text, CoordSystem::Wgs84).expect("valid grid file"))
}

fn id_at(ix: &GridIndex, lon: f64, lat: f64) -> Option<&str> {
    let fast = ix.locate(lon, lat).map(|g| g.id.as_str());
    assert_eq!(
        fast,
        ix.locate_linear(lon, lat).map(|g| g.id.as_str()),
        "index and scan disagree at {lon},{lat}"
    );
    fast
}

fn problem(text: &str) -> (usize, FeatureProblem) {
    match GridSet::from_geojson(text, CoordSystem::Wgs84) {
        Err(GeoError::InvalidFeature { index, problem }) => (index, problem),
        other => panic!("expected a feature error, got {other:?}"),
    }
}

#[test]
fn interior_points_find_their_cell_and_parent() {
    let ix = index(&four_cells());
    assert_eq!(id_at(&ix, 121.545, 29.865), Some("A"));
    assert_eq!(id_at(&ix, 121.555, 29.865), Some("B"));
    assert_eq!(id_at(&ix, 121.545, 29.875), Some("C"));
    assert_eq!(id_at(&ix, 121.555, 29.875), Some("D"));
    assert_eq!(
        ix.locate(121.545, 29.865).and_then(|g| g.parent.as_deref()),
        Some("P1")
    );
    assert_eq!(id_at(&ix, 121.50, 29.865), None);
    assert_eq!(id_at(&ix, f64::NAN, 29.865), None);
    assert_eq!(id_at(&ix, 121.545, f64::INFINITY), None);
}

#[test]
fn shared_edges_and_corners_go_to_the_smallest_id() {
    let ix = index(&four_cells());
    assert_eq!(id_at(&ix, 121.55, 29.865), Some("A")); // A|B edge
    assert_eq!(id_at(&ix, 121.555, 29.87), Some("B")); // B|D edge
    assert_eq!(id_at(&ix, 121.55, 29.87), Some("A")); // corner of all four
    assert_eq!(id_at(&ix, 121.56, 29.875), Some("D")); // outer edge of D only
    // File order does not matter.
    let text = four_cells();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["features"].as_array_mut().unwrap().reverse();
    let reversed = index(&v.to_string());
    assert_eq!(id_at(&reversed, 121.55, 29.87), Some("A"));
}

#[test]
fn holes_are_respected_and_can_hold_another_grid() {
    let text = collection(vec![
        feature(
            json!("outer"),
            json!([square(0.0, 0.0, 3.0), square(1.0, 1.0, 1.0)]),
        ),
        feature(json!("inner"), json!([square(1.0, 1.0, 1.0)])),
    ]);
    let ix = index(&text);
    assert_eq!(id_at(&ix, 0.5, 0.5), Some("outer"));
    assert_eq!(id_at(&ix, 1.5, 1.5), Some("inner"));
    assert_eq!(id_at(&ix, 1.0, 1.5), Some("inner")); // hole edge: both, "inner" < "outer"
}

#[test]
fn multipolygons_and_ids_from_properties_or_numbers() {
    let text = collection(vec![
        json!({"type": "Feature", "properties": {"id": "M", "name": "两块", "supervisor": "王"},
               "geometry": {"type": "MultiPolygon",
                            "coordinates": [[square(0.0, 0.0, 1.0)], [square(5.0, 5.0, 1.0)]]}}),
        json!({"type": "Feature", "id": 42, "properties": null,
               "geometry": {"type": "Polygon", "coordinates": [square(10.0, 10.0, 1.0)]}}),
    ]);
    let ix = index(&text);
    let m = ix.locate(5.5, 5.5).expect("second part of M");
    assert_eq!(
        (m.id.as_str(), m.name.as_deref(), m.supervisor.as_deref()),
        ("M", Some("两块"), Some("王"))
    );
    assert_eq!(id_at(&ix, 0.5, 0.5), Some("M"));
    assert_eq!(id_at(&ix, 10.5, 10.5), Some("42"));
    assert_eq!(id_at(&ix, 3.0, 3.0), None);
}

#[test]
fn normalised_text_round_trips_with_a_stable_version() {
    let set = GridSet::from_geojson(&four_cells(), CoordSystem::Wgs84).unwrap();
    assert!(set.version().starts_with("sha256:") && set.version().len() == 7 + 64);
    let again = GridSet::from_geojson(&set.to_geojson_string(), CoordSystem::Wgs84).unwrap();
    assert_eq!(again, set);
    // Formatting does not change the version; content does.
    let pretty: Value = serde_json::from_str(&four_cells()).unwrap();
    let pretty = serde_json::to_string_pretty(&pretty).unwrap();
    assert_eq!(
        GridSet::from_geojson(&pretty, CoordSystem::Wgs84)
            .unwrap()
            .version(),
        set.version()
    );
    let other = four_cells().replace("\"D\"", "\"E\"");
    assert_ne!(
        GridSet::from_geojson(&other, CoordSystem::Wgs84)
            .unwrap()
            .version(),
        set.version()
    );
    assert_eq!(
        (set.len(), set.vertex_count(), set.is_empty()),
        (4, 20, false)
    );
}

#[test]
fn gcj02_vertices_are_stored_in_wgs84() {
    let wgs = four_cells();
    let mut v: Value = serde_json::from_str(&wgs).unwrap();
    for f in v["features"].as_array_mut().unwrap() {
        for pos in f["geometry"]["coordinates"][0].as_array_mut().unwrap() {
            let (lon, lat) = (pos[0].as_f64().unwrap(), pos[1].as_f64().unwrap());
            let (x, y) = convert(lon, lat, CoordSystem::Wgs84, CoordSystem::Gcj02).unwrap();
            *pos = json!([x, y]);
        }
    }
    let from_gcj = GridSet::from_geojson(&v.to_string(), CoordSystem::Gcj02).unwrap();
    let from_wgs = GridSet::from_geojson(&wgs, CoordSystem::Wgs84).unwrap();
    for (a, b) in from_gcj.grids.iter().zip(&from_wgs.grids) {
        for (pa, pb) in a.polygons[0]
            .exterior()
            .0
            .iter()
            .zip(&b.polygons[0].exterior().0)
        {
            assert!(
                (pa.x - pb.x).abs() < 1e-9 && (pa.y - pb.y).abs() < 1e-9,
                "{pa:?} {pb:?}"
            );
        }
    }
    // Converted vertices are arbitrary doubles: the normalised text must still re-read exactly.
    let again = GridSet::from_geojson(&from_gcj.to_geojson_string(), CoordSystem::Wgs84).unwrap();
    assert_eq!(again.version(), from_gcj.version());
    assert_eq!(again, from_gcj);
    let ix = GridIndex::new(from_gcj);
    assert_eq!(ix.locate(121.545, 29.865).map(|g| g.id.as_str()), Some("A"));
}

#[test]
fn malformed_files_are_refused_whole() {
    for text in [
        "",
        "{",
        "[1,2",
        "{\"type\":\"FeatureCollection\",\"features\":[NaN]}",
        "{\"a\":1e999}",
    ] {
        assert!(
            matches!(
                GridSet::from_geojson(text, CoordSystem::Wgs84),
                Err(GeoError::MalformedJson(_))
            ),
            "{text:?}"
        );
    }
    for text in [
        "[]",
        "{}",
        "{\"type\":\"Feature\"}",
        "{\"type\":\"FeatureCollection\",\"features\":{}}",
    ] {
        assert!(
            matches!(
                GridSet::from_geojson(text, CoordSystem::Wgs84),
                Err(GeoError::NotFeatureCollection(_))
            ),
            "{text:?}"
        );
    }
    let deep = "[".repeat(100_000);
    assert!(GridSet::from_geojson(&deep, CoordSystem::Wgs84).is_err());
    let empty = GridSet::from_geojson(&collection(vec![]), CoordSystem::Wgs84).unwrap();
    assert!(empty.is_empty());
    assert_eq!(GridIndex::new(empty).locate(0.0, 0.0), None);
}

#[test]
fn each_bad_feature_is_named_by_index_and_cause() {
    let good = feature(json!("ok"), json!([square(0.0, 0.0, 1.0)]));
    let with = |bad: Value| collection(vec![good.clone(), bad]);
    let geom = |g: Value| json!({"type": "Feature", "id": "x", "geometry": g});

    assert_eq!(problem(&with(json!(7))), (1, FeatureProblem::NotAFeature));
    assert_eq!(
        problem(&with(json!({"type": "Feature", "id": "x"}))),
        (1, FeatureProblem::MissingGeometry)
    );
    assert_eq!(
        problem(&with(geom(Value::Null))),
        (1, FeatureProblem::MissingGeometry)
    );
    assert_eq!(
        problem(&with(geom(json!({"type": "Point", "coordinates": [1, 2]})))),
        (1, FeatureProblem::WrongGeometryType("Point".into()))
    );
    assert_eq!(
        problem(&with(geom(
            json!({"type": "LineString", "coordinates": [[1, 2], [3, 4]]})
        ))),
        (1, FeatureProblem::WrongGeometryType("LineString".into()))
    );
    for coords in [
        json!("x"),
        json!([]),
        json!([["a", "b"]]),
        json!([[[1.0]]]),
        json!([[[1.0, "2"]]]),
    ] {
        let (i, p) = problem(&with(geom(
            json!({"type": "Polygon", "coordinates": coords}),
        )));
        assert!(
            i == 1 && matches!(p, FeatureProblem::MalformedCoordinates(_)),
            "{p:?}"
        );
    }
    let (_, p) = problem(&with(geom(
        json!({"type": "MultiPolygon", "coordinates": []}),
    )));
    assert!(matches!(p, FeatureProblem::MalformedCoordinates(_)));
    assert_eq!(
        problem(&with(feature(
            json!("x"),
            json!([[[0, 0], [1, 0], [1, 1], [0, 1]]])
        ))),
        (
            1,
            FeatureProblem::UnclosedRing {
                polygon: 0,
                ring: 0
            }
        )
    );
    assert_eq!(
        problem(&with(feature(
            json!("x"),
            json!([[[0, 0], [1, 0], [0, 0], [0, 0]]])
        ))),
        (
            1,
            FeatureProblem::TooFewVertices {
                polygon: 0,
                ring: 0
            }
        )
    );
    let (_, p) = problem(&with(feature(
        json!("x"),
        json!([[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]),
    )));
    assert!(
        matches!(
            p,
            FeatureProblem::SelfIntersection {
                polygon: 0,
                ring: 0,
                other_ring: 0,
                ..
            }
        ),
        "{p:?}"
    );
    for id in [Value::Null, json!(""), json!(1.5), json!(["a"])] {
        assert_eq!(
            problem(&with(feature(id, json!([square(2.0, 2.0, 1.0)])))),
            (1, FeatureProblem::MissingId)
        );
    }
    assert_eq!(
        problem(&with(feature(json!("ok"), json!([square(2.0, 2.0, 1.0)])))),
        (
            1,
            FeatureProblem::DuplicateId {
                id: "ok".into(),
                first_index: 0
            }
        )
    );
    assert_eq!(
        problem(&with(feature(
            json!("x"),
            json!([[[0, 0], [1, 0], [1, 91], [0, 0]]])
        ))),
        (
            1,
            FeatureProblem::CoordinateOutOfRange {
                polygon: 0,
                ring: 0,
                vertex: 2,
                lon: 1.0,
                lat: 91.0
            }
        )
    );
    let (_, p) = problem(&with(feature(
        json!("x"),
        json!([[[0, 0], [181, 0], [1, 1], [0, 0]]]),
    )));
    assert!(matches!(
        p,
        FeatureProblem::CoordinateOutOfRange { vertex: 1, .. }
    ));
    let bad_name = json!({"type": "Feature", "id": "x", "properties": {"name": 3},
                          "geometry": {"type": "Polygon", "coordinates": [square(2.0, 2.0, 1.0)]}});
    assert_eq!(
        problem(&with(bad_name)),
        (1, FeatureProblem::BadProperty("name"))
    );
    // A hole crossing its outer ring.
    let (_, p) = problem(&with(feature(
        json!("x"),
        json!([square(0.0, 0.0, 2.0), square(1.0, 1.0, 2.0)]),
    )));
    assert!(
        matches!(
            p,
            FeatureProblem::SelfIntersection {
                ring: 0,
                other_ring: 1,
                ..
            }
        ),
        "{p:?}"
    );
    // The message names the feature.
    let err = GridSet::from_geojson(&with(json!(7)), CoordSystem::Wgs84).unwrap_err();
    assert_eq!(err.to_string(), "feature 1: is not a GeoJSON Feature");
}

#[test]
fn index_agrees_with_linear_scan_on_a_jittered_mesh() {
    // A 12 x 12 mesh of cells whose shared vertices are jittered, so edges are slanted and
    // shared exactly by neighbours; probes include the vertices and edge midpoints themselves.
    let n = 12;
    let mut seed: u64 = 7;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    };
    let s = 0.01;
    let mut vtx = vec![vec![[0.0f64; 2]; n + 1]; n + 1];
    for (i, row) in vtx.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let jitter = if i == 0 || j == 0 || i == n || j == n {
                0.0
            } else {
                0.3
            };
            *v = [
                121.5 + (i as f64 + jitter * rnd()) * s,
                29.8 + (j as f64 + jitter * rnd()) * s,
            ];
        }
    }
    let mut features = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let ring = json!([
                vtx[i][j],
                vtx[i + 1][j],
                vtx[i + 1][j + 1],
                vtx[i][j + 1],
                vtx[i][j]
            ]);
            features.push(feature(json!(format!("g{:03}", i * n + j)), json!([ring])));
        }
    }
    let ix = index(&collection(features));
    let mut probes = Vec::new();
    for (row, next) in vtx.iter().zip(&vtx[1..]) {
        for (&a, &b) in row.iter().zip(next).take(n) {
            probes.push(a);
            probes.push([(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]);
        }
    }
    for _ in 0..3000 {
        probes.push([121.49 + (rnd() + 0.5) * 0.14, 29.79 + (rnd() + 0.5) * 0.14]);
    }
    let mut found = 0;
    for [lon, lat] in probes {
        if id_at(&ix, lon, lat).is_some() {
            found += 1;
        }
    }
    assert!(found > 2000, "{found}");
}

#[test]
fn one_id_rule_feature_id_then_properties_id_and_they_must_agree() {
    let geometry = json!({"type": "Polygon", "coordinates": [square(0.0, 0.0, 1.0)]});
    let with = |id: Option<Value>, props_id: Option<Value>| {
        let mut f = json!({"type": "Feature", "properties": {}, "geometry": geometry.clone()});
        if let Some(id) = id {
            f["id"] = id;
        }
        if let Some(p) = props_id {
            f["properties"]["id"] = p;
        }
        f
    };
    assert_eq!(grid_id_of(&with(Some(json!("A")), None)), Ok("A".into()));
    assert_eq!(grid_id_of(&with(None, Some(json!("A")))), Ok("A".into()));
    assert_eq!(
        grid_id_of(&with(Some(json!(7)), Some(json!("7")))),
        Ok("7".into())
    );
    let conflict = FeatureProblem::ConflictingIds {
        id: "A".into(),
        properties_id: "B".into(),
    };
    assert_eq!(
        grid_id_of(&with(Some(json!("A")), Some(json!("B")))),
        Err(conflict.clone())
    );
    // A whole file with such a feature is refused, naming it.
    let text = collection(vec![
        feature(json!("ok"), json!([square(5.0, 5.0, 1.0)])),
        with(Some(json!("A")), Some(json!("B"))),
    ]);
    assert_eq!(problem(&text), (1, conflict));
    let err = GridSet::from_geojson(&text, CoordSystem::Wgs84).unwrap_err();
    assert_eq!(
        err.to_string(),
        "feature 1: feature id \"A\" and properties.id \"B\" disagree"
    );
}

fn grid_id_of(feature: &Value) -> Result<String, FeatureProblem> {
    crate::geo::grid_id(feature)
}
