//! RP101 unknown-modifier: a `|modifier` that Sigma 2.1 does not define.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP101",
    name: "unknown-modifier",
    default_severity: Severity::Error,
    what: "A detection key names a modifier that is not in the Sigma 2.1 modifiers appendix (for example a typo such as `|contain` or `|startwith`).",
    why: "Backends reject unknown modifiers, and a tool that ignored one would evaluate a different rule than the author wrote.",
    example: "selection:\n    CommandLine|contain: 'mimikatz'",
};
