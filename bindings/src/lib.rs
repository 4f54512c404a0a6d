//! uniffi surface of the Gridline core. Built out in its own issue.
