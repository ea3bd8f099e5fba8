//! Which modifier chains have a meaning; the others are rejected at the modifier that breaks them.

use crate::detection::Item;
use crate::error::{ErrorKind, SigmaError};
use crate::modifier::Modifier;
use crate::source::Span;

/// Rejects modifier chains that have no meaning, pointing at the modifier that breaks them.
pub(super) fn check_combinations(item: &Item, errors: &mut Vec<SigmaError>) {
    let mut seen: Vec<Modifier> = Vec::new();
    let mut error = |span: Span, message: String| {
        errors.push(SigmaError::new(ErrorKind::InvalidModifier, span, message));
    };
    let all: Vec<Modifier> = item.modifiers.iter().map(|(m, _)| *m).collect();
    let count = |pred: fn(Modifier) -> bool| all.iter().filter(|m| pred(**m)).count();
    for (modifier, span) in &item.modifiers {
        let modifier = *modifier;
        if seen.contains(&modifier) {
            error(*span, format!("`{modifier}` is given twice"));
            continue;
        }
        seen.push(modifier);
        let needs_field = matches!(
            modifier,
            Modifier::Exists
                | Modifier::FieldRef
                | Modifier::Cidr
                | Modifier::Lt
                | Modifier::Lte
                | Modifier::Gt
                | Modifier::Gte
        ) || modifier.is_time_part();
        if needs_field && item.field.is_none() {
            error(*span, format!("`{modifier}` needs a field name before it"));
        }
        if modifier.is_position() && count(Modifier::is_position) > 1 {
            error(
                *span,
                "only one of `contains`, `startswith` and `endswith` can be used".to_owned(),
            );
        }
        if modifier.is_regex_flag() && !all.contains(&Modifier::Re) {
            error(
                *span,
                format!("the regular-expression flag `{modifier}` needs `re` before it"),
            );
        }
        if modifier == Modifier::Exists && all.len() > 1 {
            error(
                *span,
                "`exists` cannot be combined with other modifiers".to_owned(),
            );
        }
        if modifier == Modifier::Re {
            let conflicting = all.iter().find(|m| {
                !(m.is_regex_flag() || matches!(m, Modifier::Re | Modifier::All | Modifier::Neq))
            });
            if let Some(other) = conflicting {
                error(*span, format!("`re` cannot be combined with `{other}`"));
            }
        }
        if modifier == Modifier::Cidr {
            let conflicting = all
                .iter()
                .find(|m| !matches!(m, Modifier::Cidr | Modifier::All | Modifier::Neq));
            if let Some(other) = conflicting {
                error(*span, format!("`cidr` cannot be combined with `{other}`"));
            }
        }
        if modifier.is_numeric_comparison() {
            if count(Modifier::is_numeric_comparison) > 1 {
                error(
                    *span,
                    "only one of `lt`, `lte`, `gt` and `gte` can be used".to_owned(),
                );
            }
            let conflicting = all.iter().find(|m| {
                !(m.is_numeric_comparison() || m.is_time_part() || matches!(m, Modifier::All))
            });
            if let Some(other) = conflicting {
                error(
                    *span,
                    format!("`{modifier}` cannot be combined with `{other}`"),
                );
            }
        }
        if modifier.is_time_part() && count(Modifier::is_time_part) > 1 {
            error(
                *span,
                "only one time part (`minute`, `hour`…) can be used".to_owned(),
            );
        }
        if modifier == Modifier::Base64 && all.contains(&Modifier::Base64Offset) {
            error(
                *span,
                "`base64` and `base64offset` exclude each other".to_owned(),
            );
        }
        if modifier.is_encoding() && count(Modifier::is_encoding) > 1 {
            error(
                *span,
                "only one text encoding (`utf16le`, `wide`…) can be used".to_owned(),
            );
        }
        if modifier == Modifier::FieldRef {
            let conflicting = all.iter().find(|m| {
                !(m.is_position()
                    || matches!(
                        m,
                        Modifier::FieldRef | Modifier::Neq | Modifier::Cased | Modifier::All
                    ))
            });
            if let Some(other) = conflicting {
                error(
                    *span,
                    format!("`fieldref` cannot be combined with `{other}`"),
                );
            }
        }
        if modifier == Modifier::Cased && all.iter().any(|m| m.is_numeric_comparison()) {
            error(*span, "`cased` does not apply to numbers".to_owned());
        }
    }
}
