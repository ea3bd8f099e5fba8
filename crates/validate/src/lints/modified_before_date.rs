//! RP202 modified-before-date: `modified` is earlier than `date`.

use ruleproof_sigma::yaml::Node;

use super::invalid_date;
use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP202",
    name: "modified-before-date",
    default_severity: Severity::Error,
    what: "The rule's `modified` date is earlier than its creation `date`.",
    why: "A rule cannot be modified before it exists; one of the two dates is wrong, and tooling that reports rule age or recent changes gets it wrong too.",
    example: "date: 2024-05-01\nmodified: 2024-04-01",
};

/// Adds a finding to `out` for each occurrence in the document.
pub fn check(root: &Node, out: &mut Vec<Finding>) {
    let (Some(date), Some(modified)) = (root.get("date"), root.get("modified")) else {
        return;
    };
    if let (Some(Ok(created)), Some(Ok(changed))) =
        (invalid_date::parse(date), invalid_date::parse(modified))
        && changed < created
    {
        out.push(Finding::new(
            &LINT,
            modified.span,
            format!("`modified` ({changed}) is before `date` ({created})"),
        ));
    }
}
