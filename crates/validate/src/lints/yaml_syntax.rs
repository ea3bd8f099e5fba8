//! RP001 yaml-syntax: the file is not valid YAML or breaks a resource limit.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP001",
    name: "yaml-syntax",
    default_severity: Severity::Error,
    what: "The file does not parse as YAML, or parsing it exceeds a resource limit (nesting deeper than 64 levels, more than 250,000 nodes after alias expansion, a file over 16 MiB, invalid UTF-8).",
    why: "Nothing in the file can be checked or evaluated, and a SIEM converter would reject it too. The limits stop alias bombs and absurd nesting from exhausting memory or stack.",
    example: "detection:\n  selection:\n    Image: [a, b\n  condition: selection   # the flow list is never closed",
};
