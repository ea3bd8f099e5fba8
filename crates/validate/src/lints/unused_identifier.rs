//! RP106 unused-identifier: a search identifier that no condition uses.

use ruleproof_sigma::condition::CondExpr;
use ruleproof_sigma::detection::Detection;

use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP106",
    name: "unused-identifier",
    default_severity: Severity::Warning,
    what: "The detection defines a search identifier that no condition names, directly or through a `1 of`/`all of` pattern or `them`.",
    why: "A filter that is defined but never used does not filter anything: the rule fires on the very activity the author meant to exclude. It is a warning because some rules keep an identifier for documentation.",
    example: "detection:\n    selection:\n        Image|endswith: '\\\\certutil.exe'\n    filter_legit:\n        ParentImage|endswith: '\\\\msiexec.exe'\n    condition: selection   # filter_legit is never applied",
};

/// Adds a finding to `out` for each occurrence in the detection.
pub fn check(detection: &Detection, out: &mut Vec<Finding>) {
    let mut exprs = Vec::new();
    for condition in &detection.conditions {
        match &condition.parsed {
            Ok(expr) => exprs.push(expr),
            // A condition that does not parse is reported by RP105; nothing is known to be unused.
            Err(_) => return,
        }
    }
    for search in &detection.searches {
        if !exprs.iter().any(|e| uses(e, &search.name)) {
            out.push(Finding::new(
                &LINT,
                search.name_span,
                format!("`{}` is defined but no condition uses it", search.name),
            ));
        }
    }
}

fn uses(expr: &CondExpr, name: &str) -> bool {
    match expr {
        CondExpr::Ident { name: n, .. } => n == name,
        CondExpr::Not(inner) => uses(inner, name),
        CondExpr::And(items) | CondExpr::Or(items) => items.iter().any(|e| uses(e, name)),
        CondExpr::Quantified { target, .. } => target.matches(name),
    }
}
