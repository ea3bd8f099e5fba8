//! RP305 reference-cycle: correlations that name one another in a cycle.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP305",
    name: "reference-cycle",
    default_severity: Severity::Error,
    what: "A correlation reaches itself through the correlations its `correlation.rules` names (a chain that loops).",
    why: "Each correlation of the loop waits for the alerts of the next, so none can ever fire. Such a correlation loads in no command (`match` used to refuse the whole set of correlations, without a position).",
    example: "# a.yml\ncorrelation:\n    rules: [b]   # b's rules: [a]",
};
