//! Gridline core.
