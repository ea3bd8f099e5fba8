//! RP304 unknown-rule-reference: a filter or correlation names a rule that does not exist.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP304",
    name: "unknown-rule-reference",
    default_severity: Severity::Error,
    what: "A meta-filter's `filter.rules` or a correlation's `correlation.rules` names an id or name that no rule given with it has (a meta-filter: no detection rule), or a correlation names a rule or correlation that does not load.",
    why: "The filter then tunes nothing and the correlation never fires; both fail silently in production. Such a filter or correlation loads in no command (`match`, `backtest`, `test`…), as the one loading path resolves references the same way.",
    example: "filter:\n    rules:\n        - 6f3e2987-db24-4c78-a860-b4f4095a7095   # no such rule\n    selection:\n        User|startswith: 'adm_'\n    condition: not selection",
};
