//! RP302 duplicate-name: two documents share a `name`.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP302",
    name: "duplicate-name",
    default_severity: Severity::Error,
    what: "Two documents in the validated tree have the same `name`.",
    why: "Correlation rules and filters may reference rules by name; a shared name makes the reference ambiguous. The later document (in file order) loads in no command; references go to the first.",
    example: "# two rules with\nname: failed_logon",
};
