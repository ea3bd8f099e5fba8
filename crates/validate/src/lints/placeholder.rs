//! RP113 placeholder: a rule uses `|expand` placeholders and no values are supplied.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP113",
    name: "placeholder",
    default_severity: Severity::Warning,
    what: "A value uses `|expand` with a `%placeholder%` and no values were supplied for it.",
    why: "Placeholder rules are templates: the specification requires a tool to reject them until a deployment supplies the values. It is a warning because such rules are valid Sigma; they just cannot be evaluated or converted as they stand.",
    example: "selection:\n    SourceWorkstation|expand: '%DomainControllers%'",
};
