//! RP402 test-case-reference: a test-case file names a rule, scenario, identifier or filter that does not exist.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP402",
    name: "test-case-reference",
    default_severity: Severity::Error,
    what: "A test-case file's `rule` matches no rule, a case's `scenario` is not declared, a scenario's `falsepositive` quotes no entry of the rule, a `reason` names no search identifier, or `with_filters` names no meta-filter.",
    why: "A dangling reference means the fixture tests nothing, or tests the wrong thing, while the report says it is covered.",
    example: "rule: a46c93b7-55ed-4d27-a41b-c259456c4747   # one digit off",
};
