//! RP002 duplicate-key: a mapping holds the same key twice.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP002",
    name: "duplicate-key",
    default_severity: Severity::Error,
    what: "A YAML mapping repeats a key.",
    why: "YAML parsers disagree on which value wins (pySigma's PyYAML keeps the last one silently), so a duplicated selection or field quietly drops half of the detection.",
    example: "selection:\n    Image|endswith: '\\\\cmd.exe'\n    Image|endswith: '\\\\powershell.exe'   # the first value is lost",
};
