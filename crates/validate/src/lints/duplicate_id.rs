//! RP301 duplicate-id: two documents share an `id`.

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP301",
    name: "duplicate-id",
    default_severity: Severity::Error,
    what: "Two rules, filters or correlations in the validated tree have the same `id`.",
    why: "Ids are how filters, correlations, test cases, `related` links and SIEM deployments name a rule. With two owners, each of those silently picks one. The later document (in file order) loads in no command; references go to the first.",
    example: "# rules/a.yml and rules/b.yml both say\nid: 0e95725d-7320-415d-80f7-004da920fc11",
};
