//! RP403 missing-test-case: a rule of the repository has no test-case file.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP403",
    name: "missing-test-case",
    default_severity: Severity::Warning,
    what: "A rule under the repository's `rules/` has no test-case file naming it.",
    why: "ruleproof's promise is that every rule proves what it claims with fixtures. The default is a warning so a repository can adopt ruleproof gradually; set it to `error` in `ruleproof.yml` to require fixtures for every rule (rules outside `rules/`, such as a corpus being validated, are not checked).",
    example: "rules/linux/new_rule.yml exists, test-cases/linux/new_rule.yml does not",
};
