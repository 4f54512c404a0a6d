//! GeoJSON grid import: the device's `GridSet::from_geojson` (behind `Client::install_grids`) and
//! the server's `grids::parse_geojson` (behind `admin::import_grids`).

use gridline_core::geo::{GridIndex, GridSet};
use gridline_protocol::CoordSystem;
use gridline_server::grids::{self, GridLocator, LinearLocator, rtree_locator_factory};
use serde_json::Value;

/// The first position of every ring of a normalised grid document, as `(lon, lat)`.
fn first_vertices(doc: &Value) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let features = doc.get("features").and_then(Value::as_array);
    for f in features.into_iter().flatten() {
        let polys = f.pointer("/geometry/coordinates").and_then(Value::as_array);
        let rings = polys
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten();
        for ring in rings.take(64) {
            let p = ring.pointer("/0");
            let lon = p.and_then(|p| p.get(0)).and_then(Value::as_f64);
            let lat = p.and_then(|p| p.get(1)).and_then(Value::as_f64);
            if let (Some(lon), Some(lat)) = (lon, lat) {
                out.push((lon, lat));
            }
        }
        if out.len() > 256 {
            break;
        }
    }
    out
}

/// Device import in each source CRS, the cache round trip the device relies on after a restart,
/// and R-tree lookups agreeing with the linear reference; then the server's import, whose
/// published document every device must be able to install.
pub fn grids(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for crs in [CoordSystem::Wgs84, CoordSystem::Gcj02] {
        let Ok(set) = GridSet::from_geojson(text, crs) else {
            continue;
        };
        let cached = set.to_geojson_string();
        let again = GridSet::from_geojson(&cached, CoordSystem::Wgs84)
            .unwrap_or_else(|e| panic!("the device's cached grids do not reload: {e}"));
        assert_eq!(again.version(), set.version(), "version changed on reload");
        assert_eq!(again, set, "grids changed on reload");
        let doc: Value = serde_json::from_str(&cached).expect("cached grids are JSON");
        let index = GridIndex::new(set);
        for (lon, lat) in first_vertices(&doc) {
            let fast = index.locate(lon, lat).map(|g| g.id.clone());
            let slow = index.locate_linear(lon, lat).map(|g| g.id.clone());
            assert_eq!(fast, slow, "R-tree and linear lookup differ at {lon},{lat}");
        }
    }

    let Ok(grids) = grids::parse_geojson(text) else {
        return;
    };
    let published = grids::to_geojson(&grids, &[], "v1").to_string();
    let set = GridSet::from_geojson(&published, CoordSystem::Wgs84)
        .unwrap_or_else(|e| panic!("devices cannot install the server's grids: {e}"));
    assert_eq!(set.len(), grids.len());
    let rtree = rtree_locator_factory()(&grids);
    let linear = LinearLocator::new(grids.clone());
    let doc: Value = serde_json::from_str(&published).expect("published grids are JSON");
    for (lon, lat) in first_vertices(&doc) {
        assert_eq!(
            rtree.locate(lat, lon),
            linear.locate(lat, lon),
            "server lookups differ at {lon},{lat}"
        );
    }
}
