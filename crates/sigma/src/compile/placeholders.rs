//! `%name%` placeholders of `|expand` values, expanded into alternatives.

use super::CompileOptions;

/// The most alternatives the placeholders of one value may expand to (the product of their
/// value counts); past it the rule is refused rather than compiled into a huge matcher.
pub const MAX_PLACEHOLDER_ALTERNATIVES: usize = 4096;

/// One piece of a `|expand` value: text (in the value's own wildcard syntax) or a placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceholderPart {
    /// Text between placeholders, escapes of `%` resolved and wildcard escapes (`\\`) kept for
    /// the wildcard parser.
    Text(String),
    /// `%name%`: the name, without the percent signs.
    Placeholder(String),
}

/// Splits a `|expand` value into text and `%name%` placeholders. A name is one or more
/// characters other than `%` and whitespace: the specification puts no limit on names, and
/// pySigma accepts names such as `%admin-accounts%` and `%jump.servers%`; a `%` whose next `%`
/// is not preceded by such a name (`100% %unit%`) is a plain percent sign. Escapes follow the
/// value's own escape table: `\\` is an escaped backslash that is kept for the wildcard parser
/// (so `\\%name%` is a backslash and then a placeholder), and `\%` is a plain percent sign (the
/// backslash is dropped).
pub fn placeholder_parts(text: &str) -> Vec<PlaceholderPart> {
    let mut parts = Vec::new();
    let mut pending = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\\', '%']) {
        pending.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if rest[at..].starts_with('\\') {
            match after.chars().next() {
                Some('\\') => {
                    pending.push_str("\\\\");
                    rest = &after[1..];
                }
                Some('%') => {
                    pending.push('%');
                    rest = &after[1..];
                }
                _ => {
                    pending.push('\\');
                    rest = after;
                }
            }
            continue;
        }
        let name_len = after
            .find(|c: char| c == '%' || c.is_whitespace())
            .filter(|&len| len > 0 && after[len..].starts_with('%'));
        let Some(name_len) = name_len else {
            pending.push('%');
            rest = after;
            continue;
        };
        if !pending.is_empty() {
            parts.push(PlaceholderPart::Text(std::mem::take(&mut pending)));
        }
        parts.push(PlaceholderPart::Placeholder(after[..name_len].to_owned()));
        rest = &after[name_len + 1..];
    }
    pending.push_str(rest);
    if !pending.is_empty() {
        parts.push(PlaceholderPart::Text(pending));
    }
    parts
}

/// Expands `%name%` placeholders (read by [`placeholder_parts`]) into every combination of
/// their values.
///
/// Every `%name%` must have values: a placeholder under `|expand` is never kept as literal
/// text.
pub(super) fn expand_placeholders(
    text: &str,
    options: &CompileOptions,
) -> Result<Vec<String>, String> {
    let mut results = vec![String::new()];
    for part in placeholder_parts(text) {
        let name = match part {
            PlaceholderPart::Text(text) => {
                for r in &mut results {
                    r.push_str(&text);
                }
                continue;
            }
            PlaceholderPart::Placeholder(name) => name,
        };
        let Some(values) = options
            .placeholders
            .as_ref()
            .and_then(|p| p.get(&name))
            .filter(|v| !v.is_empty())
        else {
            return Err(format!(
                "the placeholder `%{name}%` has no values; supply them with a placeholder values file"
            ));
        };
        if results.len().saturating_mul(values.len()) > MAX_PLACEHOLDER_ALTERNATIVES {
            return Err(format!(
                "the placeholders expand to more than {MAX_PLACEHOLDER_ALTERNATIVES} values"
            ));
        }
        results = results
            .iter()
            .flat_map(|r| values.iter().map(move |v| format!("{r}{v}")))
            .collect();
    }
    Ok(results)
}
