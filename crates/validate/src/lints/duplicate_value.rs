//! RP111 duplicate-value: the same value twice in one list.

use std::collections::HashSet;

use ruleproof_sigma::detection::Item;
use ruleproof_sigma::fold::fold_case;
use ruleproof_sigma::modifier::Modifier;

use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP111",
    name: "duplicate-value",
    default_severity: Severity::Warning,
    what: "A value list holds the same value twice (compared without regard to case, unless the item is `cased`, a regular expression or base64-encoded).",
    why: "The duplicate adds nothing, and it often hides a copy-paste slip where a different value was meant.",
    example: "DestinationHostname:\n    - 'xmr.f2pool.com'\n    - 'XMR.f2pool.com'",
};

/// Adds a finding to `out` for each occurrence in the detection item.
pub fn check(item: &Item, out: &mut Vec<Finding>) {
    if item.values.len() < 2 {
        return;
    }
    // Values are compared as the engine tells them apart. Strings match without case unless
    // `cased`; but a regular expression is case-sensitive (and folding it would change `\w` into
    // `\W`), and base64 encodes `IEX` and `iex` to different text, so rules list both on purpose.
    let cased = item.modifiers.iter().any(|(m, _)| {
        matches!(
            m,
            Modifier::Cased | Modifier::Re | Modifier::Base64 | Modifier::Base64Offset
        )
    });
    // A set, not a list: SigmaHQ has value lists of several hundred entries.
    let mut seen: HashSet<String> = HashSet::with_capacity(item.values.len());
    for value in &item.values {
        let text = value.value.text();
        let key = if cased {
            text.clone()
        } else {
            fold_case(&text)
        };
        if !seen.insert(key) {
            out.push(Finding::new(
                &LINT,
                value.span,
                format!("`{text}` is already in this list"),
            ));
        }
    }
}
