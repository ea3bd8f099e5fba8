//! RP102 invalid-modifier: modifiers that cannot be combined, or a value they cannot apply to.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP102",
    name: "invalid-modifier",
    default_severity: Severity::Error,
    what: "A modifier chain has no meaning: two of `contains`/`startswith`/`endswith`, `re` with a string modifier, `exists` with anything else, a regex flag without `re`, a numeric comparison on text, `cidr` with a value that is not a range, an encoding applied to a wildcard, or a modifier given twice.",
    why: "The specification defines no result for these chains; converters either fail or silently produce a different query.",
    example: "selection:\n    CommandLine|contains|startswith: 'cmd'",
};
