//! RP003 schema: the document breaks its JSON Schema (`schemas/`).

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP003",
    name: "schema",
    default_severity: Severity::Error,
    what: "A rule, meta-filter, correlation or test-case file breaks the JSON Schema for its kind: a missing required key, a value of the wrong type or format (an `id` that is not a UUID, a `level` outside the five levels, a `date` that is not YYYY-MM-DD), or an unknown key where none is allowed.",
    why: "The schemas encode what the Sigma specification makes normative. Tools that consume rules (converters, SIEM importers, SigmaHQ's own CI) rely on it.",
    example: "title: Example\nlevel: severe   # not one of informational, low, medium, high, critical",
};
