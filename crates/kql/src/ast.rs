//! The compiled predicate tree and the semantics of every operator on one record's values.
//!
//! Decisions, following Microsoft's "String operators" page where it speaks:
//!
//! - **Terms.** A term is a maximal run of ASCII letters and digits. `has "foo"` holds when
//!   `foo` occurs in the value with both of its ends on term boundaries; an end of the needle
//!   that is not alphanumeric is a boundary by itself. So `"North America" has "america"` and
//!   `"a -enc b" has "-enc"` hold, `"KustoExplorerQueryRun" has "Explorer"` does not, and a
//!   needle with punctuation inside, such as `"c:\\windows"`, matches as a phrase. `hasprefix`
//!   and `hassuffix` only check the start or the end boundary. An empty needle matches any
//!   value. Characters outside ASCII never join terms.
//! - **Case.** `==`, `in`, `matches regex` and every `_cs` operator compare exactly; `=~`,
//!   `in~`, `has`, `has_any`, `has_all`, `contains`, `startswith`, `endswith`, `hasprefix` and
//!   `hassuffix` compare after folding both sides with the product's one case folding
//!   (`ruleproof_sigma::fold`: Unicode lowercasing, final `ς` as `σ`). Kusto's
//!   case-insensitive operators compare like .NET's ordinal case-insensitive comparison, under
//!   which `ΣΟΣ`, `σοσ` and `σος` are equal; folding the same way keeps a converted rule and
//!   the Sigma engine in agreement.
//! - **Sparse records.** A field that is absent or JSON `null` reads as the empty string for
//!   string operators (Kusto string columns hold `""`, never null), and as no number for
//!   numeric ones. So `Field == "x"` is false and `Field != "x"` is true when `Field` is
//!   missing, and `Field > 1` is null. A pipeline with a typed schema fills every column of
//!   the table before evaluation (`TableSchema::typed_row`), so records look like Kusto rows.
//! - **Null.** Evaluation is three-valued, as Kusto's is (`None` is `bool(null)`), following
//!   <https://learn.microsoft.com/kusto/query/scalar-data-types/null-values>: `==` and `!=`
//!   between a null and a literal are `false` and `true`; `<`, `<=`, `>`, `>=` and `between`
//!   on a null (or a value that is no number, as `todouble()` gives null for it,
//!   <https://learn.microsoft.com/kusto/query/todouble-function>) are null;
//!   `ipv4_is_in_range` of a value that is not an IPv4 address, and `ipv6_is_in_range` of one
//!   that is no address, are null (<https://learn.microsoft.com/kusto/query/ipv4-is-in-range-function>,
//!   <https://learn.microsoft.com/kusto/query/ipv6-is-in-range-function>); `not(null)` is null,
//!   `and`/`or` follow Kleene's logic (`null or true` is `true`, `null and false` is `false`,
//!   <https://learn.microsoft.com/kusto/query/logical-operators>), and `where` keeps a row
//!   only when its predicate is `true` (<https://learn.microsoft.com/kusto/query/where-operator>).
//!   String operators never see a null: a string column holds `""` for a missing value.
//!   `coalesce(p, false)` is `p` where it is not null, else `false`
//!   (<https://learn.microsoft.com/kusto/query/coalesce-function>).
//! - **Negation.** Every negated operator (`!=`, `!has`, `!in~`, `!between`, `isnotempty`, …)
//!   is exactly `not` of its positive form, null staying null.
//! - **Types.** Records are JSON, which behaves like Kusto's `dynamic`. String operators see a
//!   non-string value through its text form (`443`, `true`, compact JSON for arrays and
//!   objects), as `tostring()` would give. Comparisons with a number literal accept a JSON
//!   number or a string that parses entirely as a number, because test events often carry
//!   ports and ids as strings; anything else is no number (see **Null**). `== true` accepts a JSON boolean
//!   or the strings `true` and `false` in any case.
//! - **All columns.** `*` as the left operand (`* contains "x"`, `* matches regex "…"`, the
//!   `where` forms of Kusto's `search`) holds when the test holds for any present value of the
//!   record; a negated operator on `*` holds when the positive form holds for none.
//! - **Conversions.** `todouble(Field)` on the left of a comparison reads the field as a number,
//!   which comparisons with a number literal already do for numeric strings.
//! - **IP ranges.** `ipv4_is_in_range` holds when the value is an IPv4 address inside the
//!   range (a CIDR block, or a single address meaning exactly that address). `ipv6_is_in_range`
//!   also accepts IPv4 on either side, as IPv4-mapped IPv6 addresses.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::net::IpAddr;
use std::ops::Range;

use ipnet::IpNet;
use memchr::memmem::Finder;
use regex::Regex;
use ruleproof_sigma::fold::{fold_case, is_folded};
use serde_json::{Map, Value};

/// A boolean expression. `And` and `Or` keep all their operands in one list, so that long
/// chains do not nest and cannot exhaust the stack.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    And {
        span: Range<usize>,
        items: Vec<Expr>,
    },
    Or {
        span: Range<usize>,
        items: Vec<Expr>,
    },
    Not {
        span: Range<usize>,
        inner: Box<Expr>,
    },
    /// `coalesce(inner, default)`: the inner value, or the boolean literal where it is null.
    Coalesce {
        span: Range<usize>,
        inner: Box<Expr>,
        default: bool,
    },
    Pred(Box<Pred>),
}

impl Expr {
    pub fn span(&self) -> Range<usize> {
        match self {
            Expr::And { span, .. }
            | Expr::Or { span, .. }
            | Expr::Not { span, .. }
            | Expr::Coalesce { span, .. } => span.clone(),
            Expr::Pred(pred) => pred.span.clone(),
        }
    }

    /// Widens the span, so that a parenthesised group's source text keeps its parentheses.
    pub fn set_span(&mut self, new: Range<usize>) {
        match self {
            Expr::And { span, .. }
            | Expr::Or { span, .. }
            | Expr::Not { span, .. }
            | Expr::Coalesce { span, .. } => *span = new,
            Expr::Pred(pred) => pred.span = new,
        }
    }

    /// The expression's value on `record`: `None` is Kusto's `bool(null)`.
    pub fn evaluate(&self, record: &Map<String, Value>) -> Option<bool> {
        match self {
            Expr::And { items, .. } => and(items.iter().map(|e| e.evaluate(record))),
            Expr::Or { items, .. } => or(items.iter().map(|e| e.evaluate(record))),
            Expr::Not { inner, .. } => inner.evaluate(record).map(|b| !b),
            Expr::Coalesce { inner, default, .. } => inner.evaluate(record).or(Some(*default)),
            Expr::Pred(pred) => pred.evaluate(record),
        }
    }
}

/// Kleene's `and`: false if any operand is false, else null if any is null, else true.
pub(crate) fn and(values: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut result = Some(true);
    for value in values {
        match value {
            Some(false) => return Some(false),
            None => result = None,
            Some(true) => {}
        }
    }
    result
}

/// Kleene's `or`: true if any operand is true, else null if any is null, else false.
pub(crate) fn or(values: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut result = Some(false);
    for value in values {
        match value {
            Some(true) => return Some(true),
            None => result = None,
            Some(false) => {}
        }
    }
    result
}

/// What a predicate reads: a column, or two string columns joined as the converter writes a
/// Sigma field two columns hold together (`ruleproof_joined_columns`):
/// `iff(isempty(value), key, strcat(key, "sep", value))`
/// (<https://learn.microsoft.com/kusto/query/iff-function>,
/// <https://learn.microsoft.com/kusto/query/isempty-function>,
/// <https://learn.microsoft.com/kusto/query/strcat-function>).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    Column(String),
    Joined {
        key: String,
        value: String,
        separator: String,
    },
}

impl Operand {
    /// The operand's value on `record`, JSON `null` read as absent. A joined operand is text:
    /// the key's alone when the value column is empty (an absent string column is `""`).
    pub fn read<'a>(&self, record: &'a Map<String, Value>) -> Option<Cow<'a, Value>> {
        match self {
            Operand::Column(name) => lookup(record, name).map(Cow::Borrowed),
            Operand::Joined {
                key,
                value,
                separator,
            } => {
                let second = text_of(lookup(record, value));
                if second.is_empty() {
                    return Some(Cow::Owned(Value::String(
                        text_of(lookup(record, key)).into_owned(),
                    )));
                }
                let first = text_of(lookup(record, key));
                Some(Cow::Owned(Value::String(format!(
                    "{first}{separator}{second}"
                ))))
            }
        }
    }

    /// A short name for explanations: the column, or `key<sep>value`.
    pub fn name(&self) -> String {
        match self {
            Operand::Column(name) => name.clone(),
            Operand::Joined {
                key,
                value,
                separator,
            } => format!("{key}{separator}{value}"),
        }
    }
}

/// A test on one field, possibly negated.
#[derive(Clone, Debug)]
pub(crate) struct Pred {
    pub span: Range<usize>,
    /// What is read; ignored when [`Pred::any_column`] is set.
    pub field: Operand,
    /// Whether the left operand is `*`: every column of the record.
    pub any_column: bool,
    pub negated: bool,
    pub test: Test,
}

impl Pred {
    /// The predicate's value on `record`; `None` is null.
    pub fn evaluate(&self, record: &Map<String, Value>) -> Option<bool> {
        if self.any_column {
            // `search`-style: a column where the test is null simply does not match.
            let any = record
                .values()
                .filter(|v| !v.is_null())
                .any(|v| self.test.holds(Some(v)) == Some(true));
            return Some(any != self.negated);
        }
        let value = self.field.read(record);
        self.test.holds(value.as_deref()).map(|b| b != self.negated)
    }
}

/// A field's value, with JSON `null` read as absent.
pub(crate) fn lookup<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    record.get(field).filter(|v| !v.is_null())
}

/// The positive form of an operator with its compiled right-hand side.
#[derive(Clone, Debug)]
pub(crate) enum Test {
    Text(Box<TextTest>),
    Compare(Ordering, bool, Number),
    Bool(bool),
    In(InSet),
    Terms { needles: Vec<TextTest>, all: bool },
    Regex(Regex),
    Between(Number, Number),
    Empty,
    Null,
    IpRange(IpNet),
}

impl Test {
    /// The positive test's value; `None` where Kusto gives null (see the module's **Null**).
    fn holds(&self, value: Option<&Value>) -> Option<bool> {
        Some(match self {
            Test::Text(test) => test.matches(&text_of(value)),
            // `==` between a null and a value is false (and `!=` true), never null.
            Test::Compare(Ordering::Equal, false, rhs) => number_of(value)
                .and_then(|n| n.compare(*rhs))
                .is_some_and(|o| o == Ordering::Equal),
            Test::Compare(ordering, or_equal, rhs) => {
                let o = number_of(value)?.compare(*rhs)?;
                o == *ordering || (*or_equal && o == Ordering::Equal)
            }
            Test::Bool(expected) => bool_of(value) == Some(*expected),
            Test::In(set) => set.contains(value),
            Test::Terms { needles, all } => {
                let text = text_of(value);
                let lowered = folded(&text);
                if *all {
                    needles.iter().all(|n| n.matches_prepared(&lowered))
                } else {
                    needles.iter().any(|n| n.matches_prepared(&lowered))
                }
            }
            Test::Regex(regex) => regex.is_match(&text_of(value)),
            Test::Between(low, high) => {
                let n = number_of(value)?;
                n.compare(*low)? != Ordering::Less && n.compare(*high)? != Ordering::Greater
            }
            Test::Empty => text_of(value).is_empty(),
            Test::Null => value.is_none(),
            Test::IpRange(net) => return ip_in_range(value, net),
        })
    }
}

/// How a [`TextTest`] relates its needle to the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextKind {
    Equals,
    Has,
    HasPrefix,
    HasSuffix,
    Contains,
    StartsWith,
    EndsWith,
}

/// A string comparison whose needle is folded at parse time when it ignores case.
#[derive(Clone, Debug)]
pub(crate) struct TextTest {
    kind: TextKind,
    case_sensitive: bool,
    needle: String,
    finder: Finder<'static>,
}

impl TextTest {
    pub fn new(kind: TextKind, case_sensitive: bool, needle: &str) -> TextTest {
        let needle = if case_sensitive {
            needle.to_owned()
        } else {
            fold_case(needle)
        };
        let finder = Finder::new(needle.as_bytes()).into_owned();
        TextTest {
            kind,
            case_sensitive,
            needle,
            finder,
        }
    }

    fn matches(&self, value: &str) -> bool {
        if self.case_sensitive {
            self.matches_prepared(value)
        } else {
            self.matches_prepared(&folded(value))
        }
    }

    /// Matches a value that is already folded when this test ignores case.
    fn matches_prepared(&self, value: &str) -> bool {
        let needle = self.needle.as_bytes();
        let hay = value.as_bytes();
        match self.kind {
            TextKind::Equals => hay == needle,
            TextKind::Contains => self.finder.find(hay).is_some(),
            TextKind::StartsWith => hay.starts_with(needle),
            TextKind::EndsWith => hay.ends_with(needle),
            TextKind::Has => self.find_on_boundaries(hay, true, true),
            TextKind::HasPrefix => self.find_on_boundaries(hay, true, false),
            TextKind::HasSuffix => self.find_on_boundaries(hay, false, true),
        }
    }

    /// Whether the needle occurs with its start (and/or end) on a term boundary. Every
    /// occurrence is tried, overlapping ones included, since an early one may fail the
    /// boundary check where a later one passes.
    fn find_on_boundaries(&self, hay: &[u8], check_start: bool, check_end: bool) -> bool {
        let needle = self.needle.as_bytes();
        let (Some(&first), Some(&last)) = (needle.first(), needle.last()) else {
            return true;
        };
        let mut from = 0;
        while let Some(found) = hay.get(from..).and_then(|rest| self.finder.find(rest)) {
            let start = from + found;
            let end = start + needle.len();
            let start_ok = !check_start
                || start == 0
                || !(is_term_byte(hay[start - 1]) && is_term_byte(first));
            let end_ok =
                !check_end || end == hay.len() || !(is_term_byte(hay[end]) && is_term_byte(last));
            if start_ok && end_ok {
                return true;
            }
            from = start + 1;
        }
        false
    }
}

fn is_term_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// The right-hand side of `in` or `in~`, split by literal type.
#[derive(Clone, Debug)]
pub(crate) struct InSet {
    pub case_sensitive: bool,
    pub strings: HashSet<String>,
    pub numbers: Vec<Number>,
    pub bools: Vec<bool>,
}

impl InSet {
    fn contains(&self, value: Option<&Value>) -> bool {
        if !self.strings.is_empty() {
            let text = text_of(value);
            let found = if self.case_sensitive {
                self.strings.contains(text.as_ref())
            } else {
                self.strings.contains(folded(&text).as_ref())
            };
            if found {
                return true;
            }
        }
        if !self.numbers.is_empty()
            && let Some(n) = number_of(value)
            && self
                .numbers
                .iter()
                .any(|m| n.compare(*m) == Some(Ordering::Equal))
        {
            return true;
        }
        !self.bools.is_empty() && bool_of(value).is_some_and(|b| self.bools.contains(&b))
    }
}

/// A numeric literal or value. Integers compare exactly; a real on either side compares both
/// as `f64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Real(f64),
}

impl Number {
    fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    // Precision loss above 2^53 is accepted: such comparisons only arise when one side is a
    // real, and Kusto converts to real there too.
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Real(r) => r,
        }
    }

    fn parse(text: &str) -> Option<Number> {
        text.parse::<i64>()
            .map(Number::Int)
            .ok()
            .or_else(|| text.parse::<f64>().ok().map(Number::Real))
    }
}

/// The text form of a value, as `tostring()` gives it; absent values read as `""`.
pub(crate) fn text_of(value: Option<&Value>) -> Cow<'_, str> {
    match value {
        None | Some(Value::Null) => Cow::Borrowed(""),
        Some(Value::String(s)) => Cow::Borrowed(s),
        Some(Value::Bool(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(other) => Cow::Owned(other.to_string()),
    }
}

fn number_of(value: Option<&Value>) -> Option<Number> {
    match value? {
        Value::Number(n) => n
            .as_i64()
            .map(Number::Int)
            .or_else(|| n.as_f64().map(Number::Real)),
        Value::String(s) => Number::parse(s),
        _ => None,
    }
}

fn bool_of(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Folds case as every case-insensitive comparison of the product does ([`fold_case`]),
/// without allocating when there is nothing to fold.
fn folded(text: &str) -> Cow<'_, str> {
    if is_folded(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(fold_case(text))
    }
}

/// Whether an address is in the range; null when the value is not an address the function
/// reads (any non-IPv4 text for `ipv4_is_in_range`: an IPv6 address, `""`, `-`).
fn ip_in_range(value: Option<&Value>, net: &IpNet) -> Option<bool> {
    let addr = value.and_then(Value::as_str)?.parse::<IpAddr>().ok()?;
    match (net, addr) {
        (IpNet::V4(net), IpAddr::V4(addr)) => Some(net.contains(&addr)),
        (IpNet::V6(net), IpAddr::V6(addr)) => Some(net.contains(&addr)),
        (IpNet::V6(net), IpAddr::V4(addr)) => Some(net.contains(&addr.to_ipv6_mapped())),
        (IpNet::V4(_), IpAddr::V6(_)) => None,
    }
}
