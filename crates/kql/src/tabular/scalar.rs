//! Typed values and the scalar expressions of tabular operators (`extend`, `project`, `where`,
//! `summarize … by`), parsed once and evaluated per row.
//!
//! Kusto's semantics, each from Microsoft's page:
//!
//! - **Types and null** (<https://learn.microsoft.com/kusto/query/scalar-data-types/null-values>):
//!   every type but `string` has a null; `==` between a null and a value is `false` and `!=`
//!   `true`; `<`, `<=`, `>`, `>=` and arithmetic with a null are null; `and`/`or` are Kleene's
//!   (<https://learn.microsoft.com/kusto/query/logical-operators>).
//! - **Strings** compare with `==`/`!=` exactly (case-sensitive); `=~` is not needed here
//!   (<https://learn.microsoft.com/kusto/query/datatypes-string-operators>).
//! - **Datetime arithmetic**: `datetime - timespan` is a datetime, comparisons of datetimes are
//!   by instant (<https://learn.microsoft.com/kusto/query/datetime-timespan-arithmetic>).
//! - **Functions**: `tostring()` (null → `""`,
//!   <https://learn.microsoft.com/kusto/query/tostring-function>), `tolower()`
//!   (<https://learn.microsoft.com/kusto/query/tolower-function>; each character lowercased on
//!   its own, as .NET's `ToLowerInvariant` does), `todouble()` (null for text that is no number,
//!   <https://learn.microsoft.com/kusto/query/todouble-function>), `strcat()`
//!   (<https://learn.microsoft.com/kusto/query/strcat-function>), `isnull()`/`isnotnull()`
//!   (<https://learn.microsoft.com/kusto/query/isnull-function>), `isempty()`/`isnotempty()`
//!   (<https://learn.microsoft.com/kusto/query/isempty-function>), `row_number()` (1-based over
//!   a serialized row set, <https://learn.microsoft.com/kusto/query/row-number-function>).
//! - **Arithmetic** `+`, `-`, `*`, `/` (<https://learn.microsoft.com/kusto/query/numerical-operators>):
//!   two longs give a long (`/` an integer division, a null on division by zero), a real
//!   operand makes the result a real; `*` and `/` bind tighter than `+` and `-`.
//! - **Arrays** (`dynamic`, <https://learn.microsoft.com/kusto/query/scalar-data-types/dynamic>):
//!   `a[i]` is the element at the 0-based index `i`, null past the end (the converter emits no
//!   negative index); `array_length()` (null for a non-array,
//!   <https://learn.microsoft.com/kusto/query/array-length-function>), `array_sort_asc()` (nulls
//!   last, <https://learn.microsoft.com/kusto/query/array-sort-asc-function>).
//! - **`iff(p, a, b)`**: `a` when `p` is `true`, else `b`
//!   (<https://learn.microsoft.com/kusto/query/iff-function>).
//! - **Rounding**: `ceiling()` (<https://learn.microsoft.com/kusto/query/ceiling-function>),
//!   `tolong()` (a real truncated toward zero, null for text that is no number,
//!   <https://learn.microsoft.com/kusto/query/tolong-function>).

use std::cmp::Ordering;
use std::ops::Range;

use ruleproof_sigma::correlation::{format_timestamp, parse_timestamp};
use serde_json::Value;

use crate::error::KqlError;
use crate::lexer::{Tok, Token};
use crate::parser::describe;

/// One typed value of a row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    Str(String),
    /// Milliseconds since the Unix epoch.
    DateTime(i64),
    /// Milliseconds.
    Timespan(i64),
    /// A `dynamic` array.
    Array(Vec<Val>),
}

impl Val {
    /// The value as JSON, as the filtering subset's predicates read records: a datetime as
    /// its RFC 3339 text, a string as itself (`""` for a missing one), null as JSON `null`.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Long(i) => Value::from(*i),
            Val::Real(r) => Value::from(*r),
            Val::Str(s) => Value::String(s.clone()),
            Val::DateTime(t) => Value::String(format_timestamp(*t)),
            Val::Timespan(t) => Value::from(*t),
            Val::Array(items) => Value::Array(items.iter().map(Val::to_json).collect()),
        }
    }

    /// A JSON value of a column whose type is known only from the value itself.
    pub(crate) fn from_json(value: &Value) -> Val {
        match value {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => n
                .as_i64()
                .map(Val::Long)
                .or_else(|| n.as_f64().map(Val::Real))
                .unwrap_or(Val::Null),
            Value::String(s) => Val::Str(s.clone()),
            other => Val::Str(other.to_string()),
        }
    }

    /// A JSON value of a `datetime` column: RFC 3339 or the other forms events carry.
    pub(crate) fn datetime_from_json(value: &Value) -> Val {
        parse_timestamp(value).map_or(Val::Null, Val::DateTime)
    }

    /// `tostring()`: null is `""`.
    pub(crate) fn text(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Str(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
            Val::Long(i) => i.to_string(),
            Val::Real(r) => r.to_string(),
            Val::DateTime(t) => format_timestamp(*t),
            Val::Timespan(t) => t.to_string(),
            Val::Array(_) => self.to_json().to_string(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Val::Long(i) => Some(*i as f64),
            Val::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The order of two values of comparable types; `None` when either is null or the types
    /// do not compare.
    pub(crate) fn compare(&self, other: &Val) -> Option<Ordering> {
        match (self, other) {
            (Val::Long(a), Val::Long(b)) => Some(a.cmp(b)),
            (Val::DateTime(a), Val::DateTime(b)) | (Val::Timespan(a), Val::Timespan(b)) => {
                Some(a.cmp(b))
            }
            (Val::Str(a), Val::Str(b)) => Some(a.cmp(b)),
            (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
            (a, b) => a.number()?.partial_cmp(&b.number()?),
        }
    }

    /// A key for grouping and joining: equal values, equal keys (`None` for null, which
    /// matches nothing in a join).
    pub(crate) fn key(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Str(s) => Some(format!("s{s}")),
            Val::Long(i) => Some(format!("n{}", *i as f64)),
            Val::Real(r) => Some(format!("n{r}")),
            Val::Bool(b) => Some(format!("b{b}")),
            Val::DateTime(t) => Some(format!("d{t}")),
            Val::Timespan(t) => Some(format!("t{t}")),
            Val::Array(_) => Some(format!("a{}", self.text())),
        }
    }
}

/// A scalar expression over one row's columns.
#[derive(Clone, Debug)]
pub(crate) enum Scalar {
    Column(String),
    Literal(Val),
    Call {
        function: Function,
        args: Vec<Scalar>,
    },
    Compare {
        op: CompareOp,
        left: Box<Scalar>,
        right: Box<Scalar>,
    },
    Arithmetic {
        op: ArithmeticOp,
        left: Box<Scalar>,
        right: Box<Scalar>,
    },
    /// `array[index]`.
    Index(Box<Scalar>, Box<Scalar>),
    And(Vec<Scalar>),
    Or(Vec<Scalar>),
    Not(Box<Scalar>),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithmeticOp {
    Add,
    Subtract,
    Multiply,
    Divide,
}

/// A scalar function the evaluator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Function {
    ToString,
    ToLower,
    ToDouble,
    StrCat,
    IsNull,
    IsNotNull,
    IsEmpty,
    IsNotEmpty,
    RowNumber,
    ArrayLength,
    ArraySortAsc,
    Ceiling,
    ToLong,
    Iff,
}

impl Function {
    fn named(name: &str) -> Option<Function> {
        Some(match name {
            "tostring" => Function::ToString,
            "tolower" => Function::ToLower,
            "todouble" | "toreal" => Function::ToDouble,
            "strcat" => Function::StrCat,
            "isnull" => Function::IsNull,
            "isnotnull" => Function::IsNotNull,
            "isempty" => Function::IsEmpty,
            "isnotempty" => Function::IsNotEmpty,
            "row_number" => Function::RowNumber,
            "array_length" => Function::ArrayLength,
            "array_sort_asc" => Function::ArraySortAsc,
            "ceiling" => Function::Ceiling,
            "tolong" => Function::ToLong,
            "iff" => Function::Iff,
            _ => return None,
        })
    }
}

/// What a scalar expression reads from outside the row.
pub(crate) struct Context {
    /// The 1-based position of the row in a serialized row set, for `row_number()`.
    pub row_number: i64,
}

impl Scalar {
    /// Whether the expression calls `row_number()`, which needs a serialized row set.
    pub(crate) fn uses_row_number(&self) -> bool {
        match self {
            Scalar::Call { function, args } => {
                *function == Function::RowNumber || args.iter().any(Scalar::uses_row_number)
            }
            Scalar::Compare { left, right, .. }
            | Scalar::Arithmetic { left, right, .. }
            | Scalar::Index(left, right) => left.uses_row_number() || right.uses_row_number(),
            Scalar::And(items) | Scalar::Or(items) => items.iter().any(Scalar::uses_row_number),
            Scalar::Not(inner) => inner.uses_row_number(),
            Scalar::Column(_) | Scalar::Literal(_) => false,
        }
    }

    /// The expression's value on a row; `column` gives a column's index by name.
    pub(crate) fn evaluate(&self, row: &[Val], columns: &[String], context: &Context) -> Val {
        match self {
            Scalar::Column(name) => columns
                .iter()
                .position(|c| c == name)
                .map_or(Val::Null, |i| row[i].clone()),
            Scalar::Literal(value) => value.clone(),
            Scalar::Call { function, args } => {
                let mut values = args.iter().map(|a| a.evaluate(row, columns, context));
                let mut first = || values.next().unwrap_or(Val::Null);
                match function {
                    Function::ToString => Val::Str(first().text()),
                    Function::ToLower => Val::Str(
                        first()
                            .text()
                            .chars()
                            .flat_map(char::to_lowercase)
                            .collect(),
                    ),
                    Function::ToDouble => match first() {
                        Val::Long(i) => Val::Real(i as f64),
                        Val::Real(r) => Val::Real(r),
                        Val::Bool(b) => Val::Real(f64::from(u8::from(b))),
                        Val::Str(s) => s
                            .trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite())
                            .map_or(Val::Null, Val::Real),
                        _ => Val::Null,
                    },
                    Function::StrCat => {
                        let mut text = first().text();
                        for value in values {
                            text.push_str(&value.text());
                        }
                        Val::Str(text)
                    }
                    Function::IsNull => Val::Bool(first() == Val::Null),
                    Function::IsNotNull => Val::Bool(first() != Val::Null),
                    Function::IsEmpty => Val::Bool(first().text().is_empty()),
                    Function::IsNotEmpty => Val::Bool(!first().text().is_empty()),
                    Function::RowNumber => Val::Long(context.row_number),
                    Function::ArrayLength => match first() {
                        Val::Array(items) => Val::Long(items.len() as i64),
                        _ => Val::Null,
                    },
                    Function::ArraySortAsc => match first() {
                        Val::Array(mut items) => {
                            // Nulls last; values of one type by their order (reals totally, so
                            // that the sort is deterministic).
                            items.sort_by(|a, b| match (a, b) {
                                (Val::Null, Val::Null) => Ordering::Equal,
                                (Val::Null, _) => Ordering::Greater,
                                (_, Val::Null) => Ordering::Less,
                                (Val::Real(a), Val::Real(b)) => a.total_cmp(b),
                                (a, b) => a.compare(b).unwrap_or(Ordering::Equal),
                            });
                            Val::Array(items)
                        }
                        _ => Val::Null,
                    },
                    Function::Ceiling => match first() {
                        Val::Long(i) => Val::Long(i),
                        Val::Real(r) => Val::Real(r.ceil()),
                        _ => Val::Null,
                    },
                    Function::Iff => {
                        let predicate = first();
                        let if_true = first();
                        let if_false = first();
                        if predicate == Val::Bool(true) {
                            if_true
                        } else {
                            if_false
                        }
                    }
                    Function::ToLong => match first() {
                        Val::Long(i) => Val::Long(i),
                        Val::Real(r) if r.is_finite() => Val::Long(r.trunc() as i64),
                        Val::Bool(b) => Val::Long(i64::from(b)),
                        Val::Str(s) => s.trim().parse::<i64>().map_or(Val::Null, Val::Long),
                        _ => Val::Null,
                    },
                }
            }
            Scalar::Compare { op, left, right } => {
                let left = left.evaluate(row, columns, context);
                let right = right.evaluate(row, columns, context);
                compare(*op, &left, &right)
            }
            Scalar::Arithmetic { op, left, right } => arithmetic(
                *op,
                left.evaluate(row, columns, context),
                right.evaluate(row, columns, context),
            ),
            Scalar::Index(array, index) => match (
                array.evaluate(row, columns, context),
                index.evaluate(row, columns, context),
            ) {
                (Val::Array(items), Val::Long(i)) => usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i).cloned())
                    .unwrap_or(Val::Null),
                _ => Val::Null,
            },
            Scalar::And(items) => kleene(items, row, columns, context, false),
            Scalar::Or(items) => kleene(items, row, columns, context, true),
            Scalar::Not(inner) => match inner.evaluate(row, columns, context) {
                Val::Bool(b) => Val::Bool(!b),
                _ => Val::Null,
            },
        }
    }
}

/// `left op right` for numbers, datetimes and timespans; null for other operands.
fn arithmetic(op: ArithmeticOp, left: Val, right: Val) -> Val {
    match (op, left, right) {
        (ArithmeticOp::Subtract, Val::DateTime(a), Val::Timespan(b)) => {
            a.checked_sub(b).map_or(Val::Null, Val::DateTime)
        }
        (ArithmeticOp::Add, Val::DateTime(a), Val::Timespan(b)) => {
            a.checked_add(b).map_or(Val::Null, Val::DateTime)
        }
        (ArithmeticOp::Subtract, Val::DateTime(a), Val::DateTime(b))
        | (ArithmeticOp::Subtract, Val::Timespan(a), Val::Timespan(b)) => {
            a.checked_sub(b).map_or(Val::Null, Val::Timespan)
        }
        (op, Val::Long(a), Val::Long(b)) => match op {
            ArithmeticOp::Add => a.checked_add(b),
            ArithmeticOp::Subtract => a.checked_sub(b),
            ArithmeticOp::Multiply => a.checked_mul(b),
            ArithmeticOp::Divide => a.checked_div(b),
        }
        .map_or(Val::Null, Val::Long),
        (op, a, b) => match (a.number(), b.number()) {
            (Some(a), Some(b)) => Val::Real(match op {
                ArithmeticOp::Add => a + b,
                ArithmeticOp::Subtract => a - b,
                ArithmeticOp::Multiply => a * b,
                ArithmeticOp::Divide => a / b,
            }),
            _ => Val::Null,
        },
    }
}

/// Kleene's `and` (`decisive` false) or `or` (`decisive` true): the decisive value wins, else
/// null if any operand is null (or not a boolean).
fn kleene(
    items: &[Scalar],
    row: &[Val],
    columns: &[String],
    context: &Context,
    decisive: bool,
) -> Val {
    let mut unknown = false;
    for item in items {
        match item.evaluate(row, columns, context) {
            Val::Bool(b) if b == decisive => return Val::Bool(decisive),
            Val::Bool(_) => {}
            _ => unknown = true,
        }
    }
    if unknown {
        Val::Null
    } else {
        Val::Bool(!decisive)
    }
}

fn compare(op: CompareOp, left: &Val, right: &Val) -> Val {
    let either_null = *left == Val::Null || *right == Val::Null;
    match op {
        // Equality with a null is decided, never null (the null-values page).
        CompareOp::Eq | CompareOp::Ne if either_null => {
            Val::Bool((op == CompareOp::Ne) != (left == right))
        }
        CompareOp::Eq => Val::Bool(left.compare(right) == Some(Ordering::Equal)),
        CompareOp::Ne => Val::Bool(left.compare(right) != Some(Ordering::Equal)),
        _ => match left.compare(right) {
            None => Val::Null,
            Some(o) => Val::Bool(match op {
                CompareOp::Lt => o == Ordering::Less,
                CompareOp::Le => o != Ordering::Greater,
                CompareOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }),
        },
    }
}

/// A recursive-descent parser of scalar expressions over a token slice.
pub(crate) struct ScalarParser<'t> {
    pub tokens: &'t [Token],
    pub pos: usize,
}

impl ScalarParser<'_> {
    pub(crate) fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    pub(crate) fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    pub(crate) fn is_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w == word)
    }

    pub(crate) fn is_punct(&self, punct: &str) -> bool {
        self.peek().tok
            == Tok::Punct(match punct {
                "(" => "(",
                ")" => ")",
                "[" => "[",
                "]" => "]",
                "," => ",",
                "=" => "=",
                "|" => "|",
                ";" => ";",
                _ => return false,
            })
    }

    pub(crate) fn expect_punct(&mut self, punct: &str) -> Result<(), KqlError> {
        if self.is_punct(punct) {
            self.bump();
            Ok(())
        } else {
            let token = self.peek().clone();
            Err(KqlError::new(
                token.span,
                format!("expected '{punct}', found {}", describe(&token.tok)),
            ))
        }
    }

    /// A column name: an identifier or `["name"]`.
    pub(crate) fn name(&mut self) -> Result<(String, Range<usize>), KqlError> {
        let token = self.bump();
        match token.tok {
            Tok::Word(w) if !matches!(w.as_str(), "and" | "or" | "by" | "on") => {
                Ok((w, token.span))
            }
            Tok::Punct("[") => {
                let inner = self.bump();
                let Tok::Str(name) = inner.tok else {
                    return Err(KqlError::new(inner.span, "expected a quoted column name"));
                };
                self.expect_bracket()?;
                Ok((name, token.span.start..inner.span.end + 1))
            }
            other => Err(KqlError::new(
                token.span,
                format!("expected a column name, found {}", describe(&other)),
            )),
        }
    }

    fn expect_bracket(&mut self) -> Result<(), KqlError> {
        let token = self.bump();
        if token.tok == Tok::Punct("]") {
            Ok(())
        } else {
            Err(KqlError::new(
                token.span,
                format!("expected ']', found {}", describe(&token.tok)),
            ))
        }
    }

    pub(crate) fn expr(&mut self) -> Result<Scalar, KqlError> {
        let first = self.and_expr()?;
        if !self.is_word("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_word("or") {
            self.bump();
            items.push(self.and_expr()?);
        }
        Ok(Scalar::Or(items))
    }

    fn and_expr(&mut self) -> Result<Scalar, KqlError> {
        let first = self.comparison()?;
        if !self.is_word("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_word("and") {
            self.bump();
            items.push(self.comparison()?);
        }
        Ok(Scalar::And(items))
    }

    fn comparison(&mut self) -> Result<Scalar, KqlError> {
        let left = self.additive()?;
        let op = match &self.peek().tok {
            Tok::Punct("==") => CompareOp::Eq,
            Tok::Punct("!=") => CompareOp::Ne,
            Tok::Punct("<") => CompareOp::Lt,
            Tok::Punct("<=") => CompareOp::Le,
            Tok::Punct(">") => CompareOp::Gt,
            Tok::Punct(">=") => CompareOp::Ge,
            _ => return Ok(left),
        };
        self.bump();
        let right = self.additive()?;
        Ok(Scalar::Compare {
            op,
            left: Box::new(left),
            right: Box::new(right),
        })
    }

    fn additive(&mut self) -> Result<Scalar, KqlError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek().tok {
                Tok::Punct("+") => ArithmeticOp::Add,
                Tok::Punct("-") => ArithmeticOp::Subtract,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.multiplicative()?;
            left = Scalar::Arithmetic {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    fn multiplicative(&mut self) -> Result<Scalar, KqlError> {
        let mut left = self.postfix()?;
        loop {
            let op = match self.peek().tok {
                Tok::Punct("*") => ArithmeticOp::Multiply,
                Tok::Punct("/") => ArithmeticOp::Divide,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.postfix()?;
            left = Scalar::Arithmetic {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    /// A primary followed by any `[index]`es.
    fn postfix(&mut self) -> Result<Scalar, KqlError> {
        let mut value = self.primary()?;
        while self.is_punct("[") {
            self.bump();
            let index = self.expr()?;
            self.expect_punct("]")?;
            value = Scalar::Index(Box::new(value), Box::new(index));
        }
        Ok(value)
    }

    fn primary(&mut self) -> Result<Scalar, KqlError> {
        let token = self.peek().clone();
        match &token.tok {
            Tok::Punct("(") => {
                self.bump();
                let inner = self.expr()?;
                self.expect_punct(")")?;
                Ok(inner)
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Scalar::Literal(Val::Str(s.clone())))
            }
            Tok::Int(i) => {
                self.bump();
                Ok(Scalar::Literal(Val::Long(*i)))
            }
            Tok::Real(r) => {
                self.bump();
                Ok(Scalar::Literal(Val::Real(*r)))
            }
            Tok::Timespan(ms) => {
                self.bump();
                Ok(Scalar::Literal(Val::Timespan(*ms)))
            }
            Tok::Word(w) if w == "true" || w == "false" => {
                self.bump();
                Ok(Scalar::Literal(Val::Bool(w == "true")))
            }
            Tok::Word(w)
                if w == "not"
                    && self
                        .tokens
                        .get(self.pos + 1)
                        .is_some_and(|t| t.tok == Tok::Punct("(")) =>
            {
                self.bump();
                self.bump();
                let inner = self.expr()?;
                self.expect_punct(")")?;
                Ok(Scalar::Not(Box::new(inner)))
            }
            Tok::Word(w)
                if self
                    .tokens
                    .get(self.pos + 1)
                    .is_some_and(|t| t.tok == Tok::Punct("(")) =>
            {
                let function = Function::named(w)
                    .ok_or_else(|| KqlError::unsupported(token.span.clone(), w))?;
                self.bump();
                self.bump();
                let mut args = Vec::new();
                if !self.is_punct(")") {
                    args.push(self.expr()?);
                    while self.is_punct(",") {
                        self.bump();
                        args.push(self.expr()?);
                    }
                }
                self.expect_punct(")")?;
                let expected = match function {
                    Function::RowNumber => 0..=0,
                    Function::StrCat => 1..=64,
                    Function::Iff => 3..=3,
                    _ => 1..=1,
                };
                if !expected.contains(&args.len()) {
                    return Err(KqlError::new(
                        token.span,
                        format!(
                            "'{w}' takes {} argument(s), not {}",
                            expected.start(),
                            args.len()
                        ),
                    ));
                }
                Ok(Scalar::Call { function, args })
            }
            Tok::Word(_) | Tok::Punct("[") => {
                let (name, _) = self.name()?;
                Ok(Scalar::Column(name))
            }
            other => Err(KqlError::new(
                token.span.clone(),
                format!("expected an expression, found {}", describe(other)),
            )),
        }
    }
}
