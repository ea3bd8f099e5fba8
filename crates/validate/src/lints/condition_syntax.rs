//! RP105 condition-syntax: the condition does not parse.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP105",
    name: "condition-syntax",
    default_severity: Severity::Error,
    what: "The condition has unbalanced parentheses, a dangling operator, a quantifier without `of`, or a character that is not part of the condition language.",
    why: "The rule cannot be evaluated or converted.",
    example: "condition: selection and (filter or",
};
