//! RP203 tag-format: a tag that is not `namespace.name` in a namespace the specification defines.

use ruleproof_sigma::yaml::Node;

use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP203",
    name: "tag-format",
    default_severity: Severity::Warning,
    what: "A tag is not of the form `namespace.name` (lowercase namespace, no spaces), or its namespace is not one of the tags appendix: attack, car, cve, d3fend, detection, stp, tlp.",
    why: "Coverage tooling (ATT&CK navigators, SigmaHQ's own reports) reads tags by namespace; a malformed tag is invisible to it.",
    example: "tags:\n    - attack.T1059   # namespace names are lowercase: attack.t1059\n    - mitre.t1059    # unknown namespace",
};

const NAMESPACES: [&str; 7] = ["attack", "car", "cve", "d3fend", "detection", "stp", "tlp"];

/// Adds a finding to `out` for each occurrence in the document.
pub fn check(root: &Node, out: &mut Vec<Finding>) {
    let Some(tags) = root.get("tags").and_then(Node::as_seq) else {
        return;
    };
    for tag in tags {
        let Some(text) = tag.as_str() else {
            continue;
        };
        let Some((namespace, name)) = text.split_once('.') else {
            out.push(Finding::new(
                &LINT,
                tag.span,
                format!("tag `{text}` has no namespace (`namespace.name`)"),
            ));
            continue;
        };
        let well_formed = !namespace.is_empty()
            && namespace
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && !name.is_empty()
            && !name.chars().any(char::is_whitespace);
        if !well_formed {
            out.push(Finding::new(
                &LINT,
                tag.span,
                format!("tag `{text}` is not of the form `namespace.name`"),
            ));
        } else if !NAMESPACES.contains(&namespace) {
            out.push(Finding::new(
                &LINT,
                tag.span,
                format!(
                    "tag namespace `{namespace}` is not one of {}",
                    NAMESPACES.join(", ")
                ),
            ));
        } else if namespace == "attack" && name.chars().any(|c| c.is_ascii_uppercase()) {
            out.push(Finding::new(
                &LINT,
                tag.span,
                format!(
                    "ATT&CK tags are lowercase: `attack.{}`",
                    name.to_ascii_lowercase()
                ),
            ));
        }
    }
}
