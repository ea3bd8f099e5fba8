//! RP004 invalid-document: the document cannot be read as a Sigma rule, filter or correlation.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP004",
    name: "invalid-document",
    default_severity: Severity::Error,
    what: "The engine cannot read the document: it has no `detection`, `filter` or `correlation`, a detection item holds a mapping where values belong, a search identifier is an empty list, or the condition is missing; or the file holds no document at all (it is empty or only comments).",
    why: "The rule cannot be evaluated at all, so every fixture and every conversion of it would be meaningless. An empty rule file is usually one cut short by a bad merge; loading it as \"no rules\" would let CI pass on a rule that is gone.",
    example: "detection:\n    selection: []\n    condition: selection   # an empty list matches nothing",
};
