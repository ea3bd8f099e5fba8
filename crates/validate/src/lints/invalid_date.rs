//! RP201 invalid-date: a `date` or `modified` that is not a real calendar day.

use chrono::NaiveDate;
use ruleproof_sigma::yaml::Node;

use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP201",
    name: "invalid-date",
    default_severity: Severity::Error,
    what: "`date` or `modified` is written as YYYY-MM-DD but names a day that does not exist (2024-02-30, 2023-13-01).",
    why: "Rule lifecycle tooling sorts and ages rules by these dates; an impossible date breaks it, and usually means the day and month were swapped.",
    example: "date: 2024-02-30",
};

/// Parses a date attribute that has the right shape; other shapes are the schema's business.
pub fn parse(node: &Node) -> Option<Result<NaiveDate, ()>> {
    let text = node.scalar_text()?;
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped.then(|| NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| ()))
}

/// Adds a finding to `out` for each occurrence in the document.
pub fn check(root: &Node, out: &mut Vec<Finding>) {
    for key in ["date", "modified"] {
        if let Some(node) = root.get(key)
            && let Some(Err(())) = parse(node)
        {
            out.push(Finding::new(
                &LINT,
                node.span,
                format!("`{key}` is not a real calendar day"),
            ));
        }
    }
}
