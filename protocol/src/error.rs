//! The one validation error shape shared by device and server: which field, and why.

use serde::{Deserialize, Serialize};

/// A value that breaks a rule: `field` is a dotted path (`location.lat`, `attributes.depth_cm`),
/// `reason` a short sentence a rider or integrator can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// Dotted path of the offending field.
    pub field: String,
    /// Human-readable cause.
    pub reason: String,
}

impl FieldError {
    /// Builds an error for `field` with `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
