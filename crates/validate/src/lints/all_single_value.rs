//! RP109 all-single-value: `|all` with only one value.

use ruleproof_sigma::detection::Item;
use ruleproof_sigma::modifier::Modifier;

use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP109",
    name: "all-single-value",
    default_severity: Severity::Warning,
    what: "An item has the `all` modifier but a single value.",
    why: "The modifiers appendix says single values must not carry `all`, because some backends cannot express it; with one value it changes nothing anyway.",
    example: "selection:\n    CommandLine|contains|all: 'vssadmin'",
};

/// Adds a finding to `out` for each occurrence in the detection item.
pub fn check(item: &Item, out: &mut Vec<Finding>) {
    if item.values.len() == 1
        && let Some((_, span)) = item.modifiers.iter().find(|(m, _)| *m == Modifier::All)
    {
        out.push(Finding::new(
            &LINT,
            *span,
            "`all` with a single value has no effect",
        ));
    }
}
