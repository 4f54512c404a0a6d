//! Open311 services from our catalog: every category of a kind a city acts on is a service
//! whose `service_code` is the category code, and its attributes are the service
//! definition's (same datatypes, `required`, `order` by position, `values`).
//! `anti_fraud_outreach` is a record of work a rider did and `verification` a rider's check of
//! another ticket, not requests for service, so neither is offered.

use gridline_protocol::catalog::{AttributeDef, CategoryDef, KindDef};
use gridline_protocol::{Catalog, FieldError, ReportKind};

use super::format::{Doc, Node};

/// True for kinds offered as Open311 services.
pub fn is_service_kind(kind: ReportKind) -> bool {
    !matches!(
        kind,
        ReportKind::AntiFraudOutreach | ReportKind::Verification
    )
}

/// Refuses a catalog whose service codes would be ambiguous (a category code under two
/// offered kinds), so a `service_code` always names one category.
pub fn check(catalog: &Catalog) -> Result<(), FieldError> {
    let mut seen = std::collections::BTreeSet::new();
    for kind in catalog.kinds.iter().filter(|k| is_service_kind(k.code)) {
        for cat in &kind.categories {
            if !seen.insert(cat.code.as_str()) {
                return Err(FieldError::new(
                    "catalog",
                    format!(
                        "category code {:?} appears under two kinds; Open311 service codes \
                         must be unique",
                        cat.code
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The kind and category a service code names, if it is offered.
pub fn find<'c>(catalog: &'c Catalog, code: &str) -> Option<(&'c KindDef, &'c CategoryDef)> {
    catalog
        .kinds
        .iter()
        .filter(|k| is_service_kind(k.code))
        .find_map(|k| k.categories.iter().find(|c| c.code == code).map(|c| (k, c)))
}

/// `GET services`: the service list.
pub fn list(catalog: &Catalog) -> Doc {
    let services = catalog
        .kinds
        .iter()
        .filter(|k| is_service_kind(k.code))
        .flat_map(|k| k.categories.iter().map(move |c| service(k, c)))
        .collect();
    Doc {
        root: "services",
        body: Node::List("service", services),
    }
}

fn service(kind: &KindDef, cat: &CategoryDef) -> Node {
    let description = if cat.name_zh.is_empty() {
        cat.name.clone()
    } else {
        format!("{} ({})", cat.name, cat.name_zh)
    };
    let keywords: Vec<&str> = [kind.code.as_str(), cat.name_zh.as_str()]
        .into_iter()
        .chain(cat.gbt30428.as_deref())
        .filter(|k| !k.is_empty())
        .collect();
    Node::Obj(vec![
        ("service_code", cat.code.as_str().into()),
        ("service_name", cat.name.as_str().into()),
        ("description", description.into()),
        ("metadata", Node::Bool(!cat.attributes.is_empty())),
        ("type", "realtime".into()),
        ("keywords", keywords.join(",").into()),
        ("group", kind.name.as_str().into()),
    ])
}

/// `GET services/{code}`: the service definition.
pub fn definition(cat: &CategoryDef) -> Doc {
    let attributes = cat
        .attributes
        .iter()
        .enumerate()
        .map(|(i, a)| attribute(i, a))
        .collect();
    Doc {
        root: "service_definition",
        body: Node::Obj(vec![
            ("service_code", cat.code.as_str().into()),
            ("attributes", Node::List("attribute", attributes)),
        ]),
    }
}

fn attribute(index: usize, def: &AttributeDef) -> Node {
    let datatype = serde_json::to_value(def.datatype)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let bounds = match (def.min, def.max) {
        (None, None) => None,
        (min, max) => Some(format!(
            "a number from {} to {}",
            min.map_or("any".into(), |v| v.to_string()),
            max.map_or("any".into(), |v| v.to_string())
        )),
    };
    let values = def
        .values
        .iter()
        .map(|v| {
            Node::Obj(vec![
                ("key", v.key.as_str().into()),
                ("name", v.name.as_str().into()),
            ])
        })
        .collect();
    Node::Obj(vec![
        ("variable", Node::Bool(true)),
        ("code", def.code.as_str().into()),
        ("datatype", datatype.into()),
        ("required", Node::Bool(def.required)),
        ("datatype_description", Node::opt_text(bounds)),
        (
            "order",
            Node::Int(i64::try_from(index + 1).unwrap_or(i64::MAX)),
        ),
        ("description", def.description.as_str().into()),
        ("values", Node::List("value", values)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_offers_every_service_kind_once() {
        let catalog = Catalog::builtin();
        check(&catalog).unwrap();
        let Node::List(_, services) = list(&catalog).body else {
            panic!("a list")
        };
        let offered: usize = catalog
            .kinds
            .iter()
            .filter(|k| is_service_kind(k.code))
            .map(|k| k.categories.len())
            .sum();
        assert_eq!(services.len(), offered);
        assert!(find(&catalog, "pothole").is_some());
        assert!(
            find(&catalog, "street_talk").is_none(),
            "outreach is not a service"
        );
        assert!(find(&catalog, "").is_none());
        let mut twice = catalog.clone();
        let cat = twice.kinds[0].categories[0].clone();
        twice.kinds[1].categories.push(cat);
        assert!(check(&twice).is_err());
    }
}
