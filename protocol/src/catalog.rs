//! The catalog: which report kinds and categories exist and which attributes each category asks
//! for, in the style of an Open311 service definition. It is versioned data: the device ships a
//! built-in one and replaces it with the server's when that changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::{AttrValue, MAX_ID_CHARS, Report, ReportKind, check_text};
use crate::{FieldError, MAX_NOTE_CHARS, Timestamp};

/// Attribute datatypes, as in Open311 GeoReport v2 service definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Datatype {
    /// One line of text (at most 200 characters).
    String,
    /// A number.
    Number,
    /// An RFC 3339 date-time.
    Datetime,
    /// Free text over several lines (at most 2,000 characters).
    Text,
    /// Exactly one key from `values`.
    Singlevaluelist,
    /// One or more keys from `values`.
    Multivaluelist,
}

/// Longest handling time a category may set: a year.
pub const MAX_HANDLING_HOURS: i64 = 24 * 366;

/// Longest `string` attribute value.
pub const MAX_STRING_ATTR_CHARS: usize = 200;

/// One allowed value of a list attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AllowedValue {
    /// What is stored and sent.
    pub key: String,
    /// What the rider sees.
    pub name: String,
}

/// One question a category asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AttributeDef {
    /// Stable code, the key in `Report::attributes`.
    pub code: String,
    /// Label for the form.
    pub description: String,
    /// Which kind of value it takes.
    pub datatype: Datatype,
    /// Whether a report without it is refused.
    #[serde(default)]
    pub required: bool,
    /// Allowed values for list datatypes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<AllowedValue>,
    /// Smallest allowed number (number datatype only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest allowed number (number datatype only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A category of a kind, e.g. `pothole` under `road_damage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CategoryDef {
    /// Stable code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Chinese name, as riders and supervisors see it.
    #[serde(default)]
    pub name_zh: String,
    /// The GB/T 30428 class it belongs to, where one fits (see docs/catalog.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gbt30428: Option<String>,
    /// Questions this category asks.
    #[serde(default)]
    pub attributes: Vec<AttributeDef>,
    /// Hours a department has to handle a dispatched ticket of this category (处置时限),
    /// counted from dispatch; `None`: no deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling_hours: Option<i64>,
    /// A resolved ticket of this category waits for a rider's on-the-spot verification (核查)
    /// before it can close.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requires_verification: bool,
}

/// A report kind and its categories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct KindDef {
    /// The kind.
    pub code: ReportKind,
    /// English name.
    pub name: String,
    /// Chinese name.
    #[serde(default)]
    pub name_zh: String,
    /// Its categories.
    pub categories: Vec<CategoryDef>,
}

/// The whole catalog, identified by its version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Catalog {
    /// Opaque version string; a different string means different content.
    pub version: String,
    /// Kinds in display order.
    pub kinds: Vec<KindDef>,
}

const BUILTIN_JSON: &str = include_str!("../catalog/builtin.json");

impl Catalog {
    /// The catalog compiled into every build, used until the server publishes another.
    pub fn builtin() -> Catalog {
        // The file is part of the source tree and checked by `builtin_catalog_is_well_formed`.
        serde_json::from_str(BUILTIN_JSON).expect("built-in catalog is valid JSON")
    }

    /// Parses and checks a catalog received from outside (the server, a file).
    pub fn from_json(json: &str) -> Result<Catalog, FieldError> {
        let catalog: Catalog = serde_json::from_str(json)
            .map_err(|e| FieldError::new("catalog", format!("is not valid: {e}")))?;
        catalog.check()?;
        Ok(catalog)
    }

    /// Checks the catalog's own consistency: unique codes, list attributes with values.
    pub fn check(&self) -> Result<(), FieldError> {
        check_text("catalog.version", &self.version, MAX_ID_CHARS, false)?;
        if self.version.is_empty() {
            return Err(FieldError::new("catalog.version", "must not be empty"));
        }
        let mut kinds = std::collections::BTreeSet::new();
        for (ki, kind) in self.kinds.iter().enumerate() {
            if !kinds.insert(kind.code) {
                return Err(FieldError::new(
                    format!("catalog.kinds.{ki}"),
                    "duplicate kind",
                ));
            }
            let mut cats = std::collections::BTreeSet::new();
            for (ci, cat) in kind.categories.iter().enumerate() {
                let field = format!("catalog.kinds.{ki}.categories.{ci}");
                if cat.code.is_empty() || !cats.insert(cat.code.as_str()) {
                    return Err(FieldError::new(field, "category code is empty or repeated"));
                }
                if cat
                    .handling_hours
                    .is_some_and(|h| !(1..=MAX_HANDLING_HOURS).contains(&h))
                {
                    return Err(FieldError::new(
                        format!("{field}.handling_hours"),
                        format!("must be between 1 and {MAX_HANDLING_HOURS}"),
                    ));
                }
                if kind.code == ReportKind::Verification
                    && (cat.requires_verification || cat.handling_hours.is_some())
                {
                    return Err(FieldError::new(
                        field,
                        "a verification is not itself verified or given a deadline",
                    ));
                }
                let mut attrs = std::collections::BTreeSet::new();
                for (ai, attr) in cat.attributes.iter().enumerate() {
                    let field = format!("{field}.attributes.{ai}");
                    if attr.code.is_empty() || !attrs.insert(attr.code.as_str()) {
                        return Err(FieldError::new(
                            field,
                            "attribute code is empty or repeated",
                        ));
                    }
                    let is_list = matches!(
                        attr.datatype,
                        Datatype::Singlevaluelist | Datatype::Multivaluelist
                    );
                    if is_list == attr.values.is_empty() {
                        return Err(FieldError::new(
                            field,
                            "list attributes need values; others take none",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The definition of `kind`, if the catalog has it.
    pub fn kind(&self, kind: ReportKind) -> Option<&KindDef> {
        self.kinds.iter().find(|k| k.code == kind)
    }

    /// The definition of category `code` under `kind`.
    pub fn category(&self, kind: ReportKind, code: &str) -> Option<&CategoryDef> {
        self.kind(kind)?.categories.iter().find(|c| c.code == code)
    }

    /// Checks a report against this catalog, after `Report::validate_shape`.
    pub fn validate_report(&self, report: &Report) -> Result<(), FieldError> {
        report.validate_shape()?;
        let kind = self.kind(report.kind).ok_or_else(|| {
            FieldError::new(
                "kind",
                format!(
                    "{} is not in catalog {}",
                    report.kind.as_str(),
                    self.version
                ),
            )
        })?;
        let category = kind
            .categories
            .iter()
            .find(|c| c.code == report.category)
            .ok_or_else(|| {
                FieldError::new(
                    "category",
                    format!(
                        "{:?} is not a category of {}",
                        report.category,
                        kind.code.as_str()
                    ),
                )
            })?;
        validate_attributes(category, &report.attributes)
    }
}

/// Checks attribute values against a category's definitions: required ones present,
/// no unknown codes, each value of the right datatype and within its allowed values.
pub fn validate_attributes(
    category: &CategoryDef,
    attributes: &BTreeMap<String, AttrValue>,
) -> Result<(), FieldError> {
    for code in attributes.keys() {
        if !category.attributes.iter().any(|a| &a.code == code) {
            let shown: String = code.chars().take(40).collect();
            return Err(FieldError::new(
                format!("attributes.{shown}"),
                format!("is not an attribute of category {}", category.code),
            ));
        }
    }
    for def in &category.attributes {
        let field = format!("attributes.{}", def.code);
        match attributes.get(&def.code) {
            None if def.required => return Err(FieldError::new(field, "is required")),
            None => {}
            Some(value) => validate_value(def, &field, value)?,
        }
    }
    Ok(())
}

fn validate_value(def: &AttributeDef, field: &str, value: &AttrValue) -> Result<(), FieldError> {
    let wrong = |expected: &str| FieldError::new(field, format!("must be {expected}"));
    let allowed = |key: &str| def.values.iter().any(|v| v.key == key);
    match (def.datatype, value) {
        (Datatype::String, AttrValue::Text(t)) => {
            check_text(field, t, MAX_STRING_ATTR_CHARS, false)
        }
        (Datatype::Text, AttrValue::Text(t)) => check_text(field, t, MAX_NOTE_CHARS, true),
        (Datatype::Number, AttrValue::Number(n)) => {
            if !n.is_finite() {
                return Err(wrong("a finite number"));
            }
            if def.min.is_some_and(|min| *n < min) || def.max.is_some_and(|max| *n > max) {
                return Err(FieldError::new(
                    field,
                    format!(
                        "must be between {} and {}",
                        fmt_bound(def.min),
                        fmt_bound(def.max)
                    ),
                ));
            }
            Ok(())
        }
        (Datatype::Datetime, AttrValue::Text(t)) => match Timestamp::parse_rfc3339(t) {
            Some(at) => crate::report::check_time(field, at),
            None => Err(wrong("an RFC 3339 date-time")),
        },
        (Datatype::Singlevaluelist, AttrValue::Text(t)) => {
            if allowed(t) {
                Ok(())
            } else {
                Err(not_allowed(def, field, t))
            }
        }
        (Datatype::Multivaluelist, AttrValue::List(items)) => {
            if items.is_empty() {
                return Err(wrong("at least one value"));
            }
            let mut seen = std::collections::BTreeSet::new();
            for item in items {
                if !allowed(item) {
                    return Err(not_allowed(def, field, item));
                }
                if !seen.insert(item) {
                    return Err(FieldError::new(field, format!("lists {item:?} twice")));
                }
            }
            Ok(())
        }
        (Datatype::Number, _) => Err(wrong("a number")),
        (Datatype::Multivaluelist, _) => Err(wrong("a list of values")),
        (_, _) => Err(wrong("text")),
    }
}

fn not_allowed(def: &AttributeDef, field: &str, got: &str) -> FieldError {
    let keys: Vec<&str> = def.values.iter().map(|v| v.key.as_str()).collect();
    let shown: String = got.chars().take(40).collect();
    FieldError::new(
        field,
        format!("{shown:?} is not one of {}", keys.join(", ")),
    )
}

fn fmt_bound(b: Option<f64>) -> String {
    b.map_or_else(|| "any".to_string(), |v| v.to_string())
}

impl AttrValue {
    /// Reads a value typed as text (a CLI flag, a form field) according to its datatype:
    /// numbers are parsed, multi-value lists split on commas.
    pub fn parse_for(datatype: Datatype, raw: &str) -> Result<AttrValue, String> {
        match datatype {
            Datatype::Number => raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(AttrValue::Number)
                .ok_or_else(|| format!("{raw:?} is not a number")),
            Datatype::Multivaluelist => Ok(AttrValue::List(
                raw.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            )),
            _ => Ok(AttrValue::Text(raw.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
