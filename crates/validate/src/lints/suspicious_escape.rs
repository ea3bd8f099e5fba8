//! RP110 suspicious-escape: `\*` or `\?` in a Windows path, where a wildcard was likely meant.

use ruleproof_sigma::detection::{Item, Scalar};
use ruleproof_sigma::modifier::Modifier;

use crate::diagnostic::{Finding, Lint, Severity};

/// The lint: its stable code, name, default severity and documentation.
pub static LINT: Lint = Lint {
    code: "RP110",
    name: "suspicious-escape",
    default_severity: Severity::Warning,
    what: "A value written like a Windows path has a backslash directly before `*` or `?` (`C:\\Users\\*\\AppData`).",
    why: "Per the specification's escape table, `\\*` is a literal asterisk, not a backslash followed by a wildcard: the value only matches a path that really contains `*`. A backslash before a wildcard is written `\\\\*`. Escapes after a space or other punctuation (`select \\*`) are usually deliberate and not reported.",
    example: "TargetFilename|startswith: 'C:\\Users\\*\\AppData\\'   # write C:\\Users\\\\*\\AppData\\",
};

/// Adds a finding to `out` for each occurrence in the detection item.
pub fn check(item: &Item, out: &mut Vec<Finding>) {
    if item.modifiers.iter().any(|(m, _)| *m == Modifier::Re) {
        return;
    }
    for value in &item.values {
        let Scalar::String(text) = &value.value else {
            continue;
        };
        // Every finding is a backslash right before `*` or `?`; most values have none, and
        // looking for the pair is far cheaper than the walk over characters below.
        if !text.contains("\\*") && !text.contains("\\?") {
            continue;
        }
        let chars: Vec<char> = text.chars().collect();
        let path_like = chars
            .windows(2)
            .any(|w| w[0] == '\\' && w[1].is_alphabetic());
        let mut i = 0;
        while i + 1 < chars.len() {
            if chars[i] == '\\' {
                let next = chars[i + 1];
                let before = i.checked_sub(1).map(|b| chars[b]);
                let escaped_backslash = before == Some('\\');
                if matches!(next, '*' | '?')
                    && !escaped_backslash
                    && path_like
                    && before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    out.push(Finding::new(
                        &LINT,
                        value.span,
                        format!(
                            "`\\{next}` is a literal `{next}`; for a backslash followed by a wildcard write `\\\\{next}`"
                        ),
                    ));
                    break;
                }
                // An escape pair is consumed whole, so `\\*` is not read as `\` + `\*`.
                i += 2;
                continue;
            }
            i += 1;
        }
    }
}
