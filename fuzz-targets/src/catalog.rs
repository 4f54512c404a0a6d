//! The catalog: parsing and checking one received from a server or a file, and validating
//! reports against it.

use gridline_protocol::{Catalog, Report};

/// Input: catalog JSON, optionally followed by a `0xFF` byte (never part of UTF-8) and a
/// report's JSON. A catalog that passes `Catalog::from_json` must survive the round trip the
/// server makes publishing it (`GET /v1/catalog`) and the device makes caching it; the report is
/// validated against it and against the built-in catalog.
pub fn catalog(data: &[u8]) {
    let (catalog_part, report_part) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let report: Option<Report> = report_part.and_then(|r| serde_json::from_slice(r).ok());
    if let Some(report) = &report {
        let _ = Catalog::builtin().validate_report(report);
    }
    let Ok(text) = std::str::from_utf8(catalog_part) else {
        return;
    };
    let Ok(catalog) = Catalog::from_json(text) else {
        return;
    };
    let published = serde_json::to_string(&catalog).expect("a catalog serialises");
    let again = Catalog::from_json(&published)
        .unwrap_or_else(|e| panic!("the published catalog does not read back: {e:?}"));
    assert_eq!(again, catalog, "catalog changed on the round trip");
    for kind in &catalog.kinds {
        for category in &kind.categories {
            assert!(catalog.category(kind.code, &category.code).is_some());
        }
    }
    if let Some(report) = &report {
        let _ = catalog.validate_report(report);
    }
}
