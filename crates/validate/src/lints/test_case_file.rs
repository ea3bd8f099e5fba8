//! RP401 test-case-file: a test-case file that does not follow the format.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP401",
    name: "test-case-file",
    default_severity: Severity::Error,
    what: "A file under `test-cases/` breaks the test-case format (docs/test-case-format.md): an unknown key, a missing `expect`, both or neither of `event` and `event_file`, an unknown matrix variable, a duplicate case name, an event file that does not load.",
    why: "The runner cannot assert what the file meant to assert, so the rule it covers is less tested than it looks.",
    example: "cases:\n  - name: xmrig\n    expected: match   # the key is `expect`",
};
