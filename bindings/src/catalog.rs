//! The catalog of kinds, categories and their attributes, for building report forms.

use gridline_protocol as p;

use crate::report::ReportKind;

/// Attribute datatypes (Open311 service-definition style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AttrDatatype {
    /// One line of text.
    String,
    /// A number.
    Number,
    /// An RFC 3339 date-time.
    Datetime,
    /// Several lines of text.
    Text,
    /// One key of `values`.
    Singlevaluelist,
    /// One or more keys of `values`.
    Multivaluelist,
}

/// One allowed value of a list attribute.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AllowedValue {
    /// Stored and sent.
    pub key: String,
    /// Shown.
    pub name: String,
}

/// One question a category asks.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CatalogAttribute {
    /// Key in `Report.attributes`.
    pub code: String,
    /// Label.
    pub description: String,
    /// Kind of value.
    pub datatype: AttrDatatype,
    /// Refused at submit when missing.
    pub required: bool,
    /// Allowed values for lists.
    pub values: Vec<AllowedValue>,
    /// Smallest number allowed.
    pub min: Option<f64>,
    /// Largest number allowed.
    pub max: Option<f64>,
}

/// A category of a kind.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CatalogCategory {
    /// Stable code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Its questions.
    pub attributes: Vec<CatalogAttribute>,
}

/// A kind and its categories.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CatalogKind {
    /// The kind.
    pub code: ReportKind,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Categories in display order.
    pub categories: Vec<CatalogCategory>,
}

/// The catalog reports are validated against.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Catalog {
    /// Version string.
    pub version: String,
    /// Kinds in display order.
    pub kinds: Vec<CatalogKind>,
}

fn datatype(d: p::Datatype) -> AttrDatatype {
    match d {
        p::Datatype::String => AttrDatatype::String,
        p::Datatype::Number => AttrDatatype::Number,
        p::Datatype::Datetime => AttrDatatype::Datetime,
        p::Datatype::Text => AttrDatatype::Text,
        p::Datatype::Singlevaluelist => AttrDatatype::Singlevaluelist,
        p::Datatype::Multivaluelist => AttrDatatype::Multivaluelist,
    }
}

impl From<&p::Catalog> for Catalog {
    fn from(c: &p::Catalog) -> Self {
        Catalog {
            version: c.version.clone(),
            kinds: c
                .kinds
                .iter()
                .map(|k| CatalogKind {
                    code: k.code.into(),
                    name: k.name.clone(),
                    name_zh: k.name_zh.clone(),
                    categories: k
                        .categories
                        .iter()
                        .map(|cat| CatalogCategory {
                            code: cat.code.clone(),
                            name: cat.name.clone(),
                            name_zh: cat.name_zh.clone(),
                            attributes: cat
                                .attributes
                                .iter()
                                .map(|a| CatalogAttribute {
                                    code: a.code.clone(),
                                    description: a.description.clone(),
                                    datatype: datatype(a.datatype),
                                    required: a.required,
                                    values: a
                                        .values
                                        .iter()
                                        .map(|v| AllowedValue {
                                            key: v.key.clone(),
                                            name: v.name.clone(),
                                        })
                                        .collect(),
                                    min: a.min,
                                    max: a.max,
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
