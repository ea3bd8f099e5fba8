//! RP303 unknown-related: a `related` id that no validated document has.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP303",
    name: "unknown-related",
    default_severity: Severity::Warning,
    what: "A rule's `related:` entry names an id that is not among the validated documents.",
    why: "`related` links are how a rule's history (derived, obsolete, merged, renamed) is followed. A dangling link is usually a typo. It is a warning because the related rule may live in another repository (SigmaHQ rules often point at deprecated rules kept elsewhere).",
    example: "related:\n    - id: 00000000-0000-4000-8000-000000000000\n      type: derived",
};
