//! Gridline core.

pub mod photo;
