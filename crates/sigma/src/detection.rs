//! The detection section as written: search identifiers, their items and modifiers, and conditions.

use crate::condition::{CondExpr, parse_condition};
use crate::error::{ErrorKind, SigmaError};
use crate::joined::JoinedColumns;
use crate::modifier::Modifier;
use crate::source::{SourceFile, Span};
use crate::yaml::{Node, Value};

/// A parsed `detection:` (or a filter's `filter:`) section.
#[derive(Clone, Debug)]
pub struct Detection {
    /// The search identifiers, in the order written.
    pub searches: Vec<Search>,
    /// The `condition:` strings; a list of several means any of them (Sigma 1 style).
    pub conditions: Vec<ConditionText>,
    /// The whole section.
    pub span: Span,
    /// Field names a processing pipeline gave to fields two columns hold together
    /// ([`JoinedColumns::name`]): items naming one read the columns joined. Empty for a rule as
    /// written.
    pub joined: Vec<JoinedColumns>,
}

/// One condition string, where it was written, and its parse: the condition is read once, here,
/// and every consumer (compilation, conversion, lints) uses [`ConditionText::parsed`].
#[derive(Clone, Debug)]
pub struct ConditionText {
    /// The condition as written, without quotes.
    pub text: String,
    /// The scalar, quotes included.
    pub span: Span,
    /// The parsed condition, its positions inside the text; or why it does not parse (reported
    /// when the rule compiles).
    pub parsed: Result<CondExpr, SigmaError>,
}

/// A search identifier such as `selection` and what it searches for.
#[derive(Clone, Debug)]
pub struct Search {
    /// The identifier, e.g. `selection`, that conditions refer to.
    pub name: String,
    /// Where the identifier is written, for errors about it.
    pub name_span: Span,
    /// What it searches for.
    pub body: SearchBody,
}

#[derive(Clone, Debug)]
/// The two shapes a search identifier's value can take (Sigma spec, "Detection").
pub enum SearchBody {
    /// A map, or a list of maps that are ORed together; each map ANDs its items.
    Maps(Vec<ItemMap>),
    /// A list of plain values searched for anywhere in the event, written as one field-less item.
    Keywords(Item),
}

#[derive(Clone, Debug)]
/// One map of a search: its items must all match.
pub struct ItemMap {
    /// The `key: value` items, in the order written.
    pub items: Vec<Item>,
    /// The mapping in the file.
    pub span: Span,
}

/// `Field|mod1|mod2: value-or-list`.
#[derive(Clone, Debug)]
pub struct Item {
    /// `None` for keyword searches, which look at every value of the event.
    pub field: Option<String>,
    /// The key as written, field and modifiers.
    pub key_span: Span,
    /// The modifiers in the order written, each with its own span.
    pub modifiers: Vec<(Modifier, Span)>,
    /// The values; an item matches when any matches (or every one, with `all`).
    pub values: Vec<RuleValue>,
    /// Whether the values were written as a list (one value written as a list is still a list).
    pub is_list: bool,
    /// The value or list of values.
    pub value_span: Span,
}

impl Item {
    /// The key as a rule writes it: `Field|mod1|mod2`, or `keywords` for a keyword search (the
    /// field-less list of Sigma specification 2.1, "Keywords").
    pub fn key_text(&self) -> String {
        let mut key = self.field.clone().unwrap_or_else(|| "keywords".to_owned());
        for (modifier, _) in &self.modifiers {
            key.push('|');
            key.push_str(modifier.name());
        }
        key
    }
}

/// A scalar value as written in a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleValue {
    /// The scalar.
    pub value: Scalar,
    /// Where it is written.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
/// The scalar shapes a rule value can take (lists and maps are errors).
pub enum Scalar {
    /// `null`: matches an absent or null field.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// A string, with Sigma wildcards and escapes still in it.
    String(String),
}

impl Scalar {
    /// The value as text, the way a rule author wrote it.
    pub fn text(&self) -> String {
        match self {
            Scalar::Null => "null".to_owned(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::String(s) => s.clone(),
        }
    }
}

/// Keys of a detection section that are not search identifiers.
const RESERVED_KEYS: [&str; 2] = ["condition", "timeframe"];

impl Detection {
    /// Parses a detection mapping. Errors are collected so that one bad item does not hide the next.
    pub fn parse(
        node: &Node,
        source: &SourceFile,
        errors: &mut Vec<SigmaError>,
    ) -> Option<Detection> {
        let Some(entries) = node.as_map() else {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                node.span,
                format!("the detection must be a mapping, not {}", node.kind_name()),
            ));
            return None;
        };
        let mut searches = Vec::new();
        let mut conditions = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                errors.push(SigmaError::new(
                    ErrorKind::Structure,
                    key.span,
                    "a search identifier must be a string",
                ));
                continue;
            };
            if name == "condition" {
                parse_conditions(value, source, &mut conditions, errors);
                continue;
            }
            if RESERVED_KEYS.contains(&name) {
                continue;
            }
            if let Some(body) = parse_search_body(value, source, errors) {
                searches.push(Search {
                    name: name.to_owned(),
                    name_span: key.span,
                    body,
                });
            }
        }
        if conditions.is_empty() && node.get("condition").is_none() {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                node.span,
                "the detection has no `condition`",
            ));
        }
        Some(Detection {
            searches,
            conditions,
            span: node.span,
            joined: Vec::new(),
        })
    }

    /// The search identifier named `name`, if the detection defines it.
    pub fn search(&self, name: &str) -> Option<&Search> {
        self.searches.iter().find(|s| s.name == name)
    }
}

fn parse_conditions(
    value: &Node,
    source: &SourceFile,
    out: &mut Vec<ConditionText>,
    errors: &mut Vec<SigmaError>,
) {
    match &value.value {
        Value::String(text) => out.push(ConditionText {
            text: text.clone(),
            span: value.span,
            parsed: parse_condition(text, scalar_content_span(source, value.span)),
        }),
        Value::Seq(items) if !items.is_empty() => {
            for item in items {
                parse_conditions(item, source, out, errors);
            }
        }
        _ => errors.push(SigmaError::new(
            ErrorKind::Structure,
            value.span,
            format!(
                "the condition must be a string or a list of strings, not {}",
                value.kind_name()
            ),
        )),
    }
}

/// Where a scalar's text starts: one byte in for a quoted scalar, so positions inside it line up.
pub fn scalar_content_span(source: &SourceFile, span: Span) -> Span {
    match source.text().as_bytes().get(span.start as usize) {
        Some(b'\'' | b'"') => Span::new(span.start as usize + 1, span.end as usize),
        _ => span,
    }
}

fn parse_search_body(
    value: &Node,
    source: &SourceFile,
    errors: &mut Vec<SigmaError>,
) -> Option<SearchBody> {
    match &value.value {
        Value::Map(_) => parse_item_map(value, source, errors).map(|m| SearchBody::Maps(vec![m])),
        Value::Seq(items) if items.is_empty() => {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                value.span,
                "a search identifier cannot be an empty list",
            ));
            None
        }
        Value::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => {
            let maps: Vec<ItemMap> = items
                .iter()
                .filter_map(|i| parse_item_map(i, source, errors))
                .collect();
            (maps.len() == items.len()).then_some(SearchBody::Maps(maps))
        }
        Value::Seq(items) => {
            let values = scalar_values(items, errors)?;
            Some(SearchBody::Keywords(Item {
                field: None,
                key_span: value.span,
                modifiers: Vec::new(),
                values,
                is_list: true,
                value_span: value.span,
            }))
        }
        _ => {
            let values = scalar_values(std::slice::from_ref(value), errors)?;
            Some(SearchBody::Keywords(Item {
                field: None,
                key_span: value.span,
                modifiers: Vec::new(),
                values,
                is_list: false,
                value_span: value.span,
            }))
        }
    }
}

fn parse_item_map(
    node: &Node,
    source: &SourceFile,
    errors: &mut Vec<SigmaError>,
) -> Option<ItemMap> {
    let entries = node.as_map()?;
    if entries.is_empty() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            "a search map cannot be empty",
        ));
        return None;
    }
    let mut items = Vec::new();
    let mut ok = true;
    for (key, value) in entries {
        match parse_item(key, value, source, errors) {
            Some(item) => items.push(item),
            None => ok = false,
        }
    }
    ok.then_some(ItemMap {
        items,
        span: node.span,
    })
}

fn parse_item(
    key: &Node,
    value: &Node,
    source: &SourceFile,
    errors: &mut Vec<SigmaError>,
) -> Option<Item> {
    let Some(key_text) = key.scalar_text() else {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            key.span,
            "a field name must be a string",
        ));
        return None;
    };
    // A quoted key starts one byte after its span; modifier positions are reported inside it.
    let quote = usize::from(matches!(
        source.text().as_bytes().get(key.span.start as usize),
        Some(b'\'' | b'"')
    ));
    let mut parts = key_text.split('|');
    let field = parts.next().unwrap_or_default();
    let mut offset = field.len() + 1;
    let mut modifiers = Vec::new();
    let mut ok = true;
    for name in parts {
        let span = key.span.sub(quote + offset, name.len());
        offset += name.len() + 1;
        match Modifier::parse(name) {
            Some(m) => modifiers.push((m, span)),
            None => {
                ok = false;
                errors.push(SigmaError::new(
                    ErrorKind::UnknownModifier,
                    span,
                    if name.is_empty() {
                        "an empty modifier (`||`) is not allowed".to_owned()
                    } else {
                        format!("unknown modifier `{name}`")
                    },
                ));
            }
        }
    }
    let (values, is_list) = match &value.value {
        Value::Seq(items) => (scalar_values(items, errors)?, true),
        Value::Map(_) => {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                value.span,
                "a field's value must be a scalar or a list of scalars, not a mapping",
            ));
            return None;
        }
        _ => (scalar_values(std::slice::from_ref(value), errors)?, false),
    };
    if values.is_empty() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            value.span,
            "a field's value list cannot be empty",
        ));
        return None;
    }
    ok.then(|| Item {
        field: (!field.is_empty()).then(|| field.to_owned()),
        key_span: key.span,
        modifiers,
        values,
        is_list,
        value_span: value.span,
    })
}

fn scalar_values(items: &[Node], errors: &mut Vec<SigmaError>) -> Option<Vec<RuleValue>> {
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let value = match &item.value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Int(i) => Scalar::Int(*i),
            Value::Float(f) => Scalar::Float(*f),
            Value::String(s) => Scalar::String(s.clone()),
            Value::Seq(_) | Value::Map(_) => {
                errors.push(SigmaError::new(
                    ErrorKind::Structure,
                    item.span,
                    format!("expected a plain value here, not {}", item.kind_name()),
                ));
                return None;
            }
        };
        values.push(RuleValue {
            value,
            span: item.span,
        });
    }
    Some(values)
}
