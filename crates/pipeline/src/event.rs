//! Fixture events through a pipeline: an event written in the rule's schema (Sysmon's `Image`,
//! `Hashes`, `Initiated`) becomes the row the deployment's table holds, through the same
//! processing items that changed the rule, so a converted query and its fixtures meet in one
//! schema. This is how KQL parity and replay scripts map fixtures (`docs/pipelines.md`, "Fixture
//! events through a pipeline").
//!
//! Each field of the event is read as a detection item `field: value` (an exact string, number,
//! boolean or null) and goes through the processing items whose rule conditions held for the
//! rule, in order, with the same code that changes the rule's items: field name mappings rename
//! it (to the first name of a one-to-many mapping), value transformations change its value,
//! `hashes_fields` splits `ALGO=value,…` into one field per algorithm, `ruleproof_joined_columns`
//! splits a path into its two columns (a key, and a value name when the event names one).
//! Detection item and field
//! name conditions select fields as they select detection items; the pipeline state they read is
//! the one processing the rule left.

use std::collections::BTreeSet;

use ruleproof_sigma::Span;
use ruleproof_sigma::detection::{Item, RuleValue, Scalar};
use ruleproof_sigma::pattern::{Part, display_parts, literal_parts, parse_sigma_string};
use serde_json::{Map, Number, Value};

use crate::apply::{
    ItemState, Pipelines, Processed, Replacement, RuleState, WorkItem, change_values, hashes,
};
use crate::read::ProcessingItem;
use crate::transformation::{Transformation, ValueChange};

/// An event that cannot be mapped through a processing item.
#[derive(Debug, thiserror::Error)]
#[error("{location}: processing item `{id}` cannot map the event's `{field}`: {message}")]
pub struct EventError {
    /// `path:line:col` of the processing item.
    pub location: String,
    /// The processing item's id.
    pub id: String,
    /// The event's field.
    pub field: String,
    /// Why.
    pub message: String,
}

/// One field of the event being mapped, with the ids of the items that produced its name.
struct Field {
    name: String,
    value: Value,
    applied: BTreeSet<String>,
}

impl Pipelines {
    /// `event` (a fixture in the rule's schema) as the deployment holds it, through the
    /// processing items that applied to the rule (`processed`, from
    /// [`Pipelines::process_rule`]). When several fields end with one name, a field a processing
    /// item renamed wins over one that had the name already, and among equals the first in the
    /// event's order wins.
    ///
    /// # Errors
    /// A value transformation refuses a field's value (`convert_type` of a value that is no
    /// number), naming the processing item and the field.
    pub fn map_event(
        &self,
        processed: &Processed,
        event: &Map<String, Value>,
    ) -> Result<Map<String, Value>, EventError> {
        let mut state = RuleState::default();
        state.state = processed.state.clone();
        let mut fields: Vec<Field> = event
            .iter()
            .map(|(name, value)| Field {
                name: name.clone(),
                value: value.clone(),
                applied: BTreeSet::new(),
            })
            .collect();
        for &(p, i) in &processed.applied {
            let item = &self.pipelines()[p].items[i];
            fields = self.map_fields(item, fields, &mut state)?;
        }
        let mut mapped = Map::new();
        for renamed in [true, false] {
            for field in &fields {
                if field.applied.is_empty() != renamed && !mapped.contains_key(&field.name) {
                    mapped.insert(field.name.clone(), field.value.clone());
                }
            }
        }
        Ok(mapped)
    }

    /// Every field of the event through one processing item.
    fn map_fields(
        &self,
        item: &ProcessingItem,
        fields: Vec<Field>,
        state: &mut RuleState,
    ) -> Result<Vec<Field>, EventError> {
        // Whether the event names a value (Sysmon's `EventType: SetValue`), read before the
        // loop since the deciding field may come after the one split.
        let split = match &item.transformation {
            Transformation::JoinedColumns(join) => match &join.split_when {
                None => true,
                Some((name, values)) => fields.iter().any(|f| {
                    f.name == *name
                        && f.value
                            .as_str()
                            .is_some_and(|v| values.iter().any(|want| want.eq_ignore_ascii_case(v)))
                }),
            },
            _ => false,
        };
        let mut out = Vec::with_capacity(fields.len());
        for field in fields {
            let Some(scalar) = scalar(&field.value) else {
                // Lists and objects are no detection item value; only their name can change.
                out.push(self.rename(item, field, None, state));
                continue;
            };
            let w = WorkItem {
                item: detection_item(&field.name, vec![scalar]),
                state: ItemState {
                    applied: field.applied.clone(),
                },
            };
            if !selects(item, &w, state) {
                out.push(field);
                continue;
            }
            let error = |message: String| EventError {
                location: item.location.clone(),
                id: item.id.clone(),
                field: field.name.clone(),
                message,
            };
            match &item.transformation {
                Transformation::FieldNames(_) => {
                    out.push(self.rename(item, field, Some(&w), state));
                }
                Transformation::JoinedColumns(join) if field.name == join.field => {
                    let Value::String(text) = &field.value else {
                        out.push(field);
                        continue;
                    };
                    let (key, value) = join.columns.split(text, split);
                    for (name, value) in [(&join.columns.key, key), (&join.columns.value, value)] {
                        out.push(Field {
                            name: name.clone(),
                            value: Value::String(value.to_owned()),
                            applied: BTreeSet::from([item.id.clone()]),
                        });
                    }
                }
                // These change how a rule writes a value (as a regular expression, with
                // placeholders expanded), not what an event holds.
                Transformation::Values(
                    ValueChange::Regex(_) | ValueChange::Placeholders { .. },
                ) => {
                    out.push(field);
                }
                Transformation::Values(change) => {
                    let value = match change_values(&w, change, self.vars()).map_err(error)? {
                        (Replacement::Any(items), _) => items
                            .first()
                            .and_then(|w| w.item.values.first())
                            .map_or(field.value.clone(), |v| json(&v.value)),
                        _ => field.value.clone(),
                    };
                    out.push(Field { value, ..field });
                }
                Transformation::HashesFields {
                    algorithms,
                    prefix,
                    drop_algo_prefix,
                    fields: names,
                } => {
                    let Value::String(text) = &field.value else {
                        out.push(field);
                        continue;
                    };
                    // An event holds every algorithm in one value, `SHA1=…,MD5=…`; each pair is
                    // a value of the rule's item.
                    let pairs = text
                        .split(',')
                        .map(|pair| Scalar::String(display_parts(&literal_parts(pair.trim()))))
                        .collect();
                    let w = WorkItem {
                        item: detection_item(&field.name, pairs),
                        state: w.state,
                    };
                    // An event with no algorithm the table has keeps none of its hashes, as a
                    // row of that table has none.
                    if let Ok((Replacement::Any(items), _)) =
                        hashes(&w, algorithms, prefix, *drop_algo_prefix, names)
                    {
                        for hash in items {
                            for value in &hash.item.values {
                                out.push(Field {
                                    name: hash.item.field.clone().unwrap_or_default(),
                                    value: json(&value.value),
                                    applied: BTreeSet::from([item.id.clone()]),
                                });
                            }
                        }
                    } else if !names.contains(&field.name) {
                        out.push(field);
                    }
                }
                // The rest act on the rule as a whole (its conditions, log source, state,
                // `fields` list) or refuse it; an event has nothing they change.
                Transformation::DropDetectionItem
                | Transformation::AddCondition { .. }
                | Transformation::ChangeLogsource(_)
                | Transformation::Fields(..)
                | Transformation::SetState { .. }
                | Transformation::RuleFailure(_)
                | Transformation::DetectionItemFailure(_)
                | Transformation::JoinedColumns(_) => out.push(field),
            }
        }
        Ok(out)
    }

    /// A field renamed by a field name mapping (to the first of several names), when the
    /// processing item's conditions select it.
    fn rename(
        &self,
        item: &ProcessingItem,
        mut field: Field,
        w: Option<&WorkItem>,
        state: &mut RuleState,
    ) -> Field {
        let Transformation::FieldNames(names) = &item.transformation else {
            return field;
        };
        let selected = match w {
            Some(w) => selects(item, w, state),
            None => item
                .field_name_conditions
                .hold(|c| c.holds_for_name(Some(&field.name), state)),
        };
        if let Some(first) = names
            .map(Some(&field.name))
            .filter(|_| selected)
            .and_then(|to| to.into_iter().next())
        {
            state
                .field_applied
                .entry(first.clone())
                .or_default()
                .insert(item.id.clone());
            field.name = first;
            field.applied.insert(item.id.clone());
        }
        field
    }
}

/// Whether a processing item's detection item and field name conditions select the item.
fn selects(item: &ProcessingItem, w: &WorkItem, state: &RuleState) -> bool {
    item.detection_item_conditions
        .hold(|c| c.holds(&w.item, &w.state, state))
        && item
            .field_name_conditions
            .hold(|c| c.holds_for_item(&w.item, &w.state, state))
}

/// An event's field as a detection item of exact values.
fn detection_item(field: &str, values: Vec<Scalar>) -> Item {
    Item {
        field: Some(field.to_owned()),
        key_span: Span::default(),
        modifiers: Vec::new(),
        is_list: values.len() > 1,
        values: values
            .into_iter()
            .map(|value| RuleValue {
                value,
                span: Span::default(),
            })
            .collect(),
        value_span: Span::default(),
    }
}

/// A JSON value as a rule's value: strings escaped so that every character is literal.
fn scalar(value: &Value) -> Option<Scalar> {
    Some(match value {
        Value::String(s) => Scalar::String(display_parts(&literal_parts(s))),
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Null => Scalar::Null,
        Value::Number(n) => match n.as_i64() {
            Some(i) => Scalar::Int(i),
            None => Scalar::Float(n.as_f64()?),
        },
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// A rule's value back as JSON; a wildcard a transformation wrote is kept as its character.
fn json(value: &Scalar) -> Value {
    match value {
        Scalar::String(s) => Value::String(
            parse_sigma_string(s)
                .iter()
                .map(|p| match p {
                    Part::Literal(s) => s.as_str(),
                    Part::AnyRun => "*",
                    Part::AnyChar => "?",
                    Part::Dash => "-",
                })
                .collect(),
        ),
        Scalar::Bool(b) => Value::Bool(*b),
        Scalar::Int(i) => Value::Number((*i).into()),
        Scalar::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Scalar::Null => Value::Null,
    }
}
