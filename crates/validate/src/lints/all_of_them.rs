//! RP107 all-of-them: a condition of `all of them`.

use ruleproof_sigma::condition::{CondExpr, Quantifier};
use ruleproof_sigma::detection::Detection;

use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP107",
    name: "all-of-them",
    default_severity: Severity::Warning,
    what: "A condition uses `all of them`.",
    why: "`all of them` ANDs every identifier, so adding a filter later (`filter_x`) silently turns it into a requirement instead of an exclusion. Naming the identifiers, or `all of selection_*`, keeps the intent explicit. It is a warning because the construct is valid Sigma.",
    example: "condition: all of them",
};

/// Adds a finding to `out` for each occurrence in the detection.
pub fn check(detection: &Detection, out: &mut Vec<Finding>) {
    for condition in &detection.conditions {
        if let Ok(expr) = &condition.parsed {
            find(expr, out);
        }
    }
}

fn find(expr: &CondExpr, out: &mut Vec<Finding>) {
    match expr {
        CondExpr::Quantified {
            quantifier: Quantifier::All,
            target,
            span,
        } if target.is_them() => out.push(Finding::new(
            &LINT,
            *span,
            "`all of them` requires every identifier, including any filter added later",
        )),
        CondExpr::Not(inner) => find(inner, out),
        CondExpr::And(items) | CondExpr::Or(items) => items.iter().for_each(|e| find(e, out)),
        _ => {}
    }
}
