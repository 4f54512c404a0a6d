//! The reference city grid server (wire protocol v1). Built out in its own issue.
