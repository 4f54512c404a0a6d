//! Gridline core.

pub mod geo;
