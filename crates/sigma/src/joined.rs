//! Sigma fields that a deployment holds in two columns, such as Sysmon's `TargetObject` (the
//! registry key and, on value events, the value name) held by ASIM's `RegistryKey` and
//! `RegistryValue`. A processing pipeline (`ruleproof_joined_columns`, `docs/pipelines.md`)
//! renames a rule's detection items to [`JoinedColumns::name`] and records the columns in the
//! processed [`Detection`](crate::detection::Detection), so the engine reads such a field as
//! the two columns joined, the way the KQL converter writes it:
//! `iff(isempty(value), key, strcat(key, separator, value))`
//! (<https://learn.microsoft.com/kusto/query/iff-function>,
//! <https://learn.microsoft.com/kusto/query/isempty-function>,
//! <https://learn.microsoft.com/kusto/query/strcat-function>).

use std::fmt::Write;

use serde_json::Value;

use crate::event::{Event, FieldPath};

/// Two columns that hold one Sigma field together: the field is `key` alone when `value` is
/// empty, else `key`, the separator and `value` (Sysmon's `TargetObject` is ASIM's
/// `RegistryKey` and `RegistryValue`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinedColumns {
    /// The column that always holds the first part (the registry key).
    pub key: String,
    /// The column that holds the last part when there is one (the value name), else `""`.
    pub value: String,
    /// What joins them (`\`).
    pub separator: String,
}

impl JoinedColumns {
    /// The name a rule's detection item gets in place of the Sigma field: `key`, separator,
    /// `value` (`RegistryKey\RegistryValue`), which no table has as a column: the engine reads
    /// the join ([`JoinedColumns::join_into`]), a converter renders it.
    pub fn name(&self) -> String {
        format!("{}{}{}", self.key, self.separator, self.value)
    }

    /// A value of the Sigma field as the two columns hold it: split at the last separator when
    /// `split` (an event that names a value, such as Sysmon's `SetValue`), else all in `key`.
    /// A value with no separator, or nothing on one side of the last one, stays in `key`, as
    /// ASIM's parser (`extract_all(@"^(.+)\\(.+)$", Key)`) leaves it.
    pub fn split<'v>(&self, text: &'v str, split: bool) -> (&'v str, &'v str) {
        if split
            && let Some(at) = text.rfind(self.separator.as_str())
            && at > 0
            && at + self.separator.len() < text.len()
        {
            return (&text[..at], &text[at + self.separator.len()..]);
        }
        (text, "")
    }

    /// The field's value on an event whose key column holds `key` and value column `value`,
    /// written into `out` (its allocation reused): the key's text, the separator and the
    /// value's text when the value column is present and not empty (an absent key is `""`
    /// then, as Kusto reads an absent string column), else the key's text alone. `false`, and
    /// `out` untouched, when neither gives a value (key absent or `null`, value absent, `null`
    /// or `""`): the field is absent. Numbers and booleans are their JSON text, as in
    /// [`crate::event::with_scalar_text`]; a list or object its JSON text, as Kusto's
    /// `strcat` renders a `dynamic` value.
    pub fn join_into(&self, out: &mut String, key: Option<&Value>, value: Option<&Value>) -> bool {
        let key = key.filter(|k| !k.is_null());
        let value = value.filter(|v| !v.is_null() && v.as_str() != Some(""));
        if key.is_none() && value.is_none() {
            return false;
        }
        out.clear();
        if let Some(key) = key {
            push_text(out, key);
        }
        if let Some(value) = value {
            out.push_str(&self.separator);
            push_text(out, value);
        }
        true
    }
}

fn push_text(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        // Writing into a `String` cannot fail.
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// An event as a rule with joined fields reads it: each joined field the rule names is read
/// once, when the view is made, and found by its path; every other field is the event's. The
/// indexed path ([`crate::ruleset::RuleSetIndex`]) joins into a per-thread scratch instead.
pub(crate) struct WithJoins<'a, E: ?Sized> {
    event: &'a E,
    joins: &'a [FieldPath],
    values: Vec<Option<Value>>,
}

impl<'a, E: Event + ?Sized> WithJoins<'a, E> {
    /// Reads `joins` (paths made by [`FieldPath::joined`]) on `event`.
    pub fn new(event: &'a E, joins: &'a [FieldPath]) -> WithJoins<'a, E> {
        let values = joins
            .iter()
            .map(|path| {
                let join = path.join()?;
                let mut text = String::new();
                join.columns
                    .join_into(&mut text, event.field(&join.key), event.field(&join.value))
                    .then_some(Value::String(text))
            })
            .collect();
        WithJoins {
            event,
            joins,
            values,
        }
    }
}

impl<E: Event + ?Sized> Event for WithJoins<'_, E> {
    fn field(&self, path: &FieldPath) -> Option<&Value> {
        if path.join().is_none() {
            return self.event.field(path);
        }
        let at = self.joins.iter().position(|j| j == path)?;
        self.values[at].as_ref()
    }

    fn any_scalar(&self, visit: &mut dyn FnMut(&Value) -> bool) -> bool {
        self.event.any_scalar(visit)
    }
}
