//! RP103 invalid-regex: a `|re` value that does not compile.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP103",
    name: "invalid-regex",
    default_severity: Severity::Error,
    what: "A regular expression under `|re` does not compile, or uses a construct outside the flavour the specification allows (look-around and backreferences are not part of it and the engine does not support them). The message gives the reason.",
    why: "A broken regex fails at query time in the SIEM, or worse, is silently dropped by a converter.",
    example: "selection:\n    CommandLine|re: '(?<!\\\\)\\.exe'   # look-behind",
};
