//! RP113 placeholder: a rule uses `|expand` placeholders and no values are supplied.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP113",
    name: "placeholder",
    default_severity: Severity::Error,
    what: "A value uses `|expand` with a `%placeholder%` and no values were supplied for it.",
    why: "Placeholder rules are templates: the specification requires a tool to reject them until a deployment supplies the values. Such rules are valid Sigma, but no command can evaluate or convert them as they stand, so they load nowhere (`match`, `test`, `convert`…) and `validate` reports the same error; give the values with `--placeholders FILE`.",
    example: "selection:\n    SourceWorkstation|expand: '%DomainControllers%'",
};
