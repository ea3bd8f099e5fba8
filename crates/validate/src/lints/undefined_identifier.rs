//! RP104 undefined-identifier: the condition names a search identifier that does not exist.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP104",
    name: "undefined-identifier",
    default_severity: Severity::Error,
    what: "The condition names an identifier that the detection does not define, or a `1 of pattern*` whose pattern matches no identifier.",
    why: "The rule cannot be evaluated; usually an identifier was renamed in one place only.",
    example: "detection:\n    selection_img:\n        Image|endswith: '\\\\rundll32.exe'\n    condition: selection   # selection_img was meant",
};
