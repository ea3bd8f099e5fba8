//! Detection items: the key, the modifier chain checked, and every value compiled.

use super::{CompileOptions, CompiledItem, CompiledValue, check_combinations, compile_value};
use crate::detection::Item;
use crate::error::{ErrorKind, SigmaError};
use crate::event::FieldPath;
use crate::modifier::Modifier;

/// Compiles one detection item, pushing its errors; `None` when it has any.
pub(super) fn compile_item(
    item: &Item,
    options: &CompileOptions,
    errors: &mut Vec<SigmaError>,
) -> Option<CompiledItem> {
    let before = errors.len();
    let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    let span_of = |m: Modifier| {
        item.modifiers
            .iter()
            .find(|(x, _)| *x == m)
            .map_or(item.key_span, |(_, s)| *s)
    };
    check_combinations(item, errors);
    if errors.len() > before {
        return None;
    }
    let cased = has(Modifier::Cased);
    let key = match &item.field {
        Some(field) => {
            let mods: Vec<&str> = item.modifiers.iter().map(|(m, _)| m.name()).collect();
            if mods.is_empty() {
                field.clone()
            } else {
                format!("{field}|{}", mods.join("|"))
            }
        }
        None => {
            let mods: Vec<&str> = item.modifiers.iter().map(|(m, _)| m.name()).collect();
            if mods.is_empty() {
                "keywords".to_owned()
            } else {
                format!("keywords|{}", mods.join("|"))
            }
        }
    };
    let mut values = Vec::new();
    for value in &item.values {
        let display = value.value.text();
        match compile_value(item, value, cased, options) {
            Ok(alternatives) => values.push(CompiledValue {
                display,
                alternatives,
            }),
            Err(e) => errors.push(e),
        }
    }
    if errors.len() > before {
        return None;
    }
    if has(Modifier::All) && item.field.is_none() && !item.is_list {
        errors.push(SigmaError::new(
            ErrorKind::InvalidModifier,
            span_of(Modifier::All),
            "`all` needs a list of values",
        ));
        return None;
    }
    Some(CompiledItem {
        field: item.field.as_deref().map(FieldPath::new),
        key,
        all: has(Modifier::All),
        negate: has(Modifier::Neq),
        values,
    })
}
