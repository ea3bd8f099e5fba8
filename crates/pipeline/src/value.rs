//! Detection item values as pySigma's transformations see them. pySigma applies a rule's value
//! modifiers when it parses the rule, so a transformation sees `Image|endswith: '\cmd.exe'` as
//! the string `*\cmd.exe`, a `re` value as a regular expression (not a string), and a
//! `fieldref` value as a field reference. [`PyValue::of_item`] builds that view from the rule as
//! written; [`write_values`] writes a changed view back, spelling positional modifiers out as
//! wildcards. Source: pySigma `sigma/types.py` (`SigmaString.to_plain`), `sigma/modifiers.py`.

use regex::Regex;
use ruleproof_sigma::detection::{Item, RuleValue, Scalar};
use ruleproof_sigma::modifier::Modifier;
use ruleproof_sigma::pattern::{
    Part, parse_sigma_string, parse_wildcards, wrap_contains, wrap_endswith, wrap_startswith,
};

/// One value as pySigma types it after the modifiers are applied.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PyValue {
    /// `SigmaString`: literals and wildcards.
    Str(Vec<Part>),
    /// `SigmaNumber`, as written (integer or float).
    Num(Scalar),
    /// `SigmaBool`.
    Bool(bool),
    /// `SigmaNull`.
    Null,
    /// Another type (`SigmaRegularExpression`, `SigmaCIDRExpression`, `SigmaFieldReference`,
    /// comparisons, `exists`, encodings): string transformations pass it through.
    Other(Scalar),
}

/// Modifiers after which a string value is still a `SigmaString` in pySigma.
const STRING_MODIFIERS: [Modifier; 7] = [
    Modifier::Contains,
    Modifier::StartsWith,
    Modifier::EndsWith,
    Modifier::All,
    Modifier::Cased,
    Modifier::Expand,
    Modifier::Neq,
];

fn has(item: &Item, m: Modifier) -> bool {
    item.modifiers.iter().any(|(x, _)| *x == m)
}

/// Whether the item's values are plain Sigma values in pySigma (strings, numbers, booleans,
/// null), so value transformations apply to them.
pub(crate) fn is_plain(item: &Item) -> bool {
    item.modifiers
        .iter()
        .all(|(m, _)| STRING_MODIFIERS.contains(m))
}

impl PyValue {
    /// Each value of an item as pySigma sees it.
    pub fn of_item(item: &Item) -> Vec<PyValue> {
        item.values
            .iter()
            .map(|v| PyValue::of_value(item, &v.value))
            .collect()
    }

    fn of_value(item: &Item, value: &Scalar) -> PyValue {
        if !is_plain(item) {
            return PyValue::Other(value.clone());
        }
        match value {
            Scalar::String(s) => {
                let mut parts = parse_sigma_string(s);
                if has(item, Modifier::Contains) {
                    parts = wrap_contains(parts);
                } else if has(item, Modifier::StartsWith) {
                    parts = wrap_startswith(parts);
                } else if has(item, Modifier::EndsWith) {
                    parts = wrap_endswith(parts);
                }
                PyValue::Str(parts)
            }
            Scalar::Int(_) | Scalar::Float(_) => PyValue::Num(value.clone()),
            Scalar::Bool(b) => PyValue::Bool(*b),
            Scalar::Null => PyValue::Null,
        }
    }

    /// pySigma `sigma_type(value)` for a value written in a pipeline (strings parsed with
    /// wildcards).
    pub fn from_condition(value: &Scalar) -> PyValue {
        match value {
            Scalar::String(s) => PyValue::Str(parse_sigma_string(s)),
            Scalar::Int(_) | Scalar::Float(_) => PyValue::Num(value.clone()),
            Scalar::Bool(b) => PyValue::Bool(*b),
            Scalar::Null => PyValue::Null,
        }
    }

    /// Equality of two values of the same pySigma type (numbers numerically); values of
    /// different types are unequal, as pySigma's `__eq__` raising `NotImplementedError` is.
    pub fn same_type_eq(&self, other: &PyValue) -> bool {
        match (self, other) {
            (PyValue::Str(a), PyValue::Str(b)) => a == b,
            (PyValue::Num(a), PyValue::Num(b)) => number(a) == number(b),
            (PyValue::Bool(a), PyValue::Bool(b)) => a == b,
            (PyValue::Null, PyValue::Null) => true,
            _ => false,
        }
    }

    /// `match_value`'s comparison (same as [`PyValue::same_type_eq`]).
    pub fn loose_eq(&self, other: &PyValue) -> bool {
        self.same_type_eq(other)
    }

    /// The value as a rule writes it, for notes.
    pub fn display(&self) -> String {
        match self {
            PyValue::Str(parts) => sigma_text(parts),
            PyValue::Num(s) | PyValue::Other(s) => s.text(),
            PyValue::Bool(b) => b.to_string(),
            PyValue::Null => "null".to_owned(),
        }
    }

    fn into_scalar(self) -> Scalar {
        match self {
            PyValue::Str(parts) => Scalar::String(sigma_text(&parts)),
            PyValue::Num(s) | PyValue::Other(s) => s,
            PyValue::Bool(b) => Scalar::Bool(b),
            PyValue::Null => Scalar::Null,
        }
    }
}

fn number(s: &Scalar) -> Option<f64> {
    match s {
        Scalar::Int(i) => Some(*i as f64),
        Scalar::Float(f) => Some(*f),
        _ => None,
    }
}

/// Parts written as a rule's string value with the fewest escapes: `*` and `?` as literals are
/// escaped, a literal backslash only where the next character would otherwise be read as an
/// escape (Sigma specification, "Escaping").
pub(crate) fn sigma_text(parts: &[Part]) -> String {
    let mut out = String::new();
    let mut pending_backslash = false;
    let flush = |out: &mut String, pending: &mut bool, next_special: bool| {
        if *pending {
            out.push_str(if next_special { "\\\\" } else { "\\" });
            *pending = false;
        }
    };
    for part in parts {
        match part {
            Part::Literal(s) => {
                for c in s.chars() {
                    flush(
                        &mut out,
                        &mut pending_backslash,
                        matches!(c, '*' | '?' | '\\'),
                    );
                    match c {
                        '\\' => pending_backslash = true,
                        '*' | '?' => {
                            out.push('\\');
                            out.push(c);
                        }
                        c => out.push(c),
                    }
                }
            }
            Part::AnyRun | Part::AnyChar => {
                flush(&mut out, &mut pending_backslash, true);
                out.push(if *part == Part::AnyRun { '*' } else { '?' });
            }
            Part::Dash => {
                flush(&mut out, &mut pending_backslash, false);
                out.push('-');
            }
        }
    }
    flush(&mut out, &mut pending_backslash, false);
    out
}

/// pySigma `SigmaString.to_plain()`: literal `*` and `?` escaped, backslashes as they are,
/// wildcards as `*` and `?`.
pub(crate) fn py_plain(parts: &[Part]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(s) => {
                for c in s.chars() {
                    if matches!(c, '*' | '?') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Part::AnyRun => out.push('*'),
            Part::AnyChar => out.push('?'),
            Part::Dash => out.push('-'),
        }
    }
    out
}

/// The inverse of [`py_plain`], as pySigma reads a replaced string back: a backslash before `*`
/// or `?` escapes it, any other backslash is literal (pySigma doubles those before parsing).
pub(crate) fn parse_py_plain(text: &str) -> Vec<Part> {
    parse_wildcards(text, |c| matches!(c, '*' | '?'))
}

/// Replaces an item's values with a changed view: each value keeps the span of the value it
/// came from, and positional modifiers (`contains`, `startswith`, `endswith`) are dropped
/// because the view already holds their wildcards.
pub(crate) fn write_values(item: &mut Item, values: Vec<(PyValue, ruleproof_sigma::Span)>) {
    item.modifiers.retain(|(m, _)| {
        !matches!(
            m,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
        )
    });
    item.is_list = item.is_list || values.len() > 1;
    item.values = values
        .into_iter()
        .map(|(v, span)| RuleValue {
            value: v.into_scalar(),
            span,
        })
        .collect();
}

/// The fields a `fieldref` item names.
pub(crate) fn field_references(item: &Item) -> Vec<String> {
    if !has(item, Modifier::FieldRef) {
        return Vec::new();
    }
    item.values.iter().map(|v| v.value.text()).collect()
}

/// A Python `re` pattern in the `regex` crate: the syntax pipelines use (`(?P<name>…)`,
/// classes, escapes) reads the same; `at_start` anchors it at the start only, as `re.match`.
pub(crate) fn pysigma_regex(pattern: &str, at_start: bool) -> Result<Regex, regex::Error> {
    if at_start {
        Regex::new(&format!(r"\A(?:{pattern})"))
    } else {
        Regex::new(pattern)
    }
}
