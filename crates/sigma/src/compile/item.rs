//! Detection items: the key, the modifier chain checked, and every value lowered and compiled.

use super::{
    Build, CompileOptions, CompiledItem, CompiledValue, LoweredItem, LoweredValue, ValueMatcher,
    check_combinations, compile_tests, lower_value,
};
use crate::detection::Item;
use crate::error::{ErrorKind, SigmaError};
use crate::event::FieldPath;
use crate::modifier::Modifier;

/// Lowers and compiles one detection item, pushing its errors; `None` when it has any.
pub(super) fn compile_item(
    item: &Item,
    options: &CompileOptions,
    build: Build,
    errors: &mut Vec<SigmaError>,
) -> Option<(LoweredItem, CompiledItem)> {
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
    let mut lowered = Vec::new();
    for value in &item.values {
        let tests = match lower_value(item, value, cased, options) {
            Ok(tests) => tests,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match compile_tests(&tests, cased, value.span, build) {
            Ok(alternatives) => values.push(CompiledValue {
                display: value.value.text(),
                alternatives,
            }),
            Err(e) => errors.push(e),
        }
        lowered.push(LoweredValue {
            written: value.value.clone(),
            span: value.span,
            tests,
        });
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
    let all = has(Modifier::All);
    let compiled = CompiledItem {
        field: item.field.as_deref().map(FieldPath::new),
        key: key.clone(),
        all,
        negate: has(Modifier::Neq),
        fold_once: !all && folds_often(&values),
        values,
    };
    let lowered = LoweredItem {
        field: item.field.clone(),
        key,
        all: compiled.all,
        negated: compiled.negate,
        cased,
        values: lowered,
    };
    Some((lowered, compiled))
}

/// Whether an item's matchers all test scalars and at least two of them fold the value: then
/// "some value matches some matcher" can be answered value by value, folding each value once.
fn folds_often(values: &[CompiledValue]) -> bool {
    let matchers = || values.iter().flat_map(|v| &v.alternatives);
    matchers().all(|m| !matches!(m, ValueMatcher::Null | ValueMatcher::Exists(_)))
        && matchers()
            .filter(|m| matches!(m, ValueMatcher::Str { cased: false, .. }))
            .count()
            >= 2
}
