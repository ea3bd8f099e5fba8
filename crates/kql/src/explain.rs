//! Explanations: every predicate of a query with its source text, its verdict on one record,
//! and the field values it read, printable as an indented tree.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use crate::ast::{Expr, and, or};

/// One node of an explanation: the whole query, an `and`/`or`/`not` group, or one predicate.
///
/// Every operand is evaluated, even after the verdict is known, so that the tree shows all the
/// values a reader may want to check; the verdicts are the same as [`crate::Query::evaluate`]'s.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The query text this node stands for (the table name at the root).
    pub source: String,
    /// Whether the node is true on the record (at the root: whether the record passes).
    pub result: bool,
    /// The node's three-valued value: `None` is Kusto's `bool(null)`, which `where` drops.
    pub value: Option<bool>,
    /// The fields a predicate read, with their values (`None` when absent or null).
    pub fields: Vec<FieldValue>,
    /// The verdicts of its operands (for `and`, `or`, `not` and the stages).
    pub children: Vec<Explanation>,
}

/// A field a predicate read, and the value it found.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldValue {
    /// The column name.
    pub name: String,
    /// The record's value of the column; `None` when it is absent or null.
    pub value: Option<Value>,
}

impl Explanation {
    pub(crate) fn of_query(
        table: &str,
        text: &str,
        stages: &[Expr],
        record: &Map<String, Value>,
    ) -> Explanation {
        let children: Vec<Explanation> = stages
            .iter()
            .map(|stage| explain(stage, text, record))
            .collect();
        // Each stage keeps only rows whose predicate is true.
        let passes = children.iter().all(|c| c.result);
        Explanation {
            source: table.to_owned(),
            result: passes,
            value: Some(passes),
            fields: Vec::new(),
            children,
        }
    }
}

fn explain(expr: &Expr, text: &str, record: &Map<String, Value>) -> Explanation {
    let source = text.get(expr.span()).unwrap_or_default().to_owned();
    let (value, fields, children) = match expr {
        Expr::And { items, .. } => {
            let children: Vec<_> = items.iter().map(|e| explain(e, text, record)).collect();
            (and(children.iter().map(|c| c.value)), Vec::new(), children)
        }
        Expr::Or { items, .. } => {
            let children: Vec<_> = items.iter().map(|e| explain(e, text, record)).collect();
            (or(children.iter().map(|c| c.value)), Vec::new(), children)
        }
        Expr::Not { inner, .. } => {
            let child = explain(inner, text, record);
            (child.value.map(|b| !b), Vec::new(), vec![child])
        }
        Expr::Coalesce { inner, default, .. } => {
            let child = explain(inner, text, record);
            (child.value.or(Some(*default)), Vec::new(), vec![child])
        }
        Expr::Pred(pred) => {
            let field = FieldValue {
                name: pred.field.name(),
                value: pred.field.read(record).map(Cow::into_owned),
            };
            (pred.evaluate(record), vec![field], Vec::new())
        }
    };
    Explanation {
        source,
        result: value == Some(true),
        value,
        fields,
        children,
    }
}

/// Source text longer than this many characters is shortened when printed.
const MAX_SOURCE_CHARS: usize = 120;

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_node(f, 0)
    }
}

impl Explanation {
    fn write_node(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let verdict = match self.value {
            Some(true) => "true",
            Some(false) => "false",
            None => "null",
        };
        write!(
            f,
            "{:indent$}{verdict:<5}  {}",
            "",
            one_line(&self.source),
            indent = depth * 2
        )?;
        for field in &self.fields {
            match &field.value {
                Some(value) => write!(f, "  [{} = {value}]", field.name)?,
                None => write!(f, "  [{} is missing]", field.name)?,
            }
        }
        writeln!(f)?;
        for child in &self.children {
            child.write_node(f, depth + 1)?;
        }
        Ok(())
    }
}

/// The source on one line, with runs of whitespace collapsed and long text shortened.
fn one_line(source: &str) -> String {
    let collapsed = source.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= MAX_SOURCE_CHARS {
        return collapsed;
    }
    let mut short: String = collapsed.chars().take(MAX_SOURCE_CHARS - 1).collect();
    short.push('…');
    short
}
