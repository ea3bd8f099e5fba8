//! RP108 null-in-list: `null` among other values of a list.

use ruleproof_sigma::detection::{Item, Scalar};

use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP108",
    name: "null-in-list",
    default_severity: Severity::Warning,
    what: "A value list mixes `null` with other values.",
    why: "`null` means \"the field is absent\", so the list matches events that lack the field altogether, which is rarely what a list of values is for; and several backends cannot express it inside an `in` list. Write a separate identifier for the absent case if it is meant.",
    example: "selection:\n    OriginalFileName:\n        - 'psexec.c'\n        - null",
};

/// Adds a finding to `out` for each occurrence in the detection item.
pub fn check(item: &Item, out: &mut Vec<Finding>) {
    if item.values.len() < 2 {
        return;
    }
    for value in &item.values {
        if value.value == Scalar::Null {
            out.push(Finding::new(
                &LINT,
                value.span,
                "`null` in a value list also matches events that lack the field",
            ));
        }
    }
}
