//! RP112 removed-construct: syntax that Sigma 2 removed (aggregations, rule collections).

use crate::diagnostic::{Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP112",
    name: "removed-construct",
    default_severity: Severity::Error,
    what: "The rule uses a construct that Sigma 2 removed: aggregations in the condition (`| count() by x > 5`, `near`) or rule collections (documents that continue the first one, `action: global`).",
    why: "Sigma 2 tools do not evaluate these. Aggregations are now correlation rules; collections are separate rules.",
    example: "condition: selection | count() by SourceIp > 10",
};
