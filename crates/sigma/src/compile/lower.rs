//! The lowered form of a rule: its detection read once, with the condition resolved to search
//! indices and every value's modifiers turned into typed tests, placeholders expanded.
//!
//! The engine builds its matchers from this form (`item.rs`, `value.rs`) and the KQL converter
//! renders it, so the two cannot read a modifier chain differently and `%name%` placeholders are
//! expanded once per consumer of a rule, not once per reading.

use ipnet::IpNet;

use super::{Build, CompileOptions, Cond, NumOp, Position, TimePart, compile_detection};
use crate::detection::Scalar;
use crate::document::Rule;
use crate::error::SigmaError;
use crate::pattern::Part;
use crate::source::Span;

/// A rule's detection lowered: what [`CompiledRule::compile`](crate::CompiledRule::compile)
/// compiles into matchers, for consumers that render a rule rather than evaluate it.
#[derive(Clone, Debug)]
pub struct LoweredRule {
    /// The search identifiers in the order written.
    pub searches: Vec<LoweredSearch>,
    /// The rule's conditions resolved to indices into `searches`; several conditions are ORed.
    pub condition: Cond,
}

/// One search identifier of a lowered rule.
#[derive(Clone, Debug)]
pub struct LoweredSearch {
    /// The search identifier as written.
    pub name: String,
    /// Whether it is a keyword search (one item with no field).
    pub keywords: bool,
    /// Its maps (ORed), each a list of detection items (ANDed). A keyword search has one map
    /// of one item.
    pub maps: Vec<Vec<LoweredItem>>,
}

/// One detection item: its field and the item-wide modifiers, and each value's tests.
#[derive(Clone, Debug)]
pub struct LoweredItem {
    /// The field name as written, `None` for keywords.
    pub field: Option<String>,
    /// The key as written, with its modifier chain (`CommandLine|contains|all`, or
    /// `keywords|…` for keywords), for messages.
    pub key: String,
    /// `all`: every value must match, instead of any.
    pub all: bool,
    /// `neq`: the item matches when no value does.
    pub negated: bool,
    /// `cased`: string tests compare case-sensitively.
    pub cased: bool,
    /// The values in the order written.
    pub values: Vec<LoweredValue>,
}

/// One value of a detection item and the tests it stands for.
#[derive(Clone, Debug)]
pub struct LoweredValue {
    /// The value as written in the rule, before any modifier.
    pub written: Scalar,
    /// Where the value is written.
    pub span: Span,
    /// The alternative tests (ORed) the value stands for: several when `base64offset` or a
    /// placeholder expands it, otherwise one.
    pub tests: Vec<ValueTest>,
}

/// The typed test one value of a detection item makes, its modifiers applied.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueTest {
    /// `exists`: the field is present (`true`) or absent (`false`).
    Exists(bool),
    /// `fieldref`: the field's value compared with another field's value at a position.
    FieldRef {
        /// The other field's name as written.
        other: String,
        /// Where the other field's value must occur in this field's value.
        position: Position,
        /// Whether the comparison is case-sensitive.
        cased: bool,
    },
    /// `re` with its flags (`re|i`, `re|m`, `re|s`); the pattern is checked to compile.
    Regex {
        /// The pattern as written.
        pattern: String,
        /// `i`: ignore case.
        insensitive: bool,
        /// `m`: `^` and `$` match at line breaks.
        multiline: bool,
        /// `s`: `.` matches line breaks.
        dot_all: bool,
    },
    /// `cidr`: the address is in the range, already truncated to its network
    /// (`10.1.2.3/8` is `10.0.0.0/8`).
    Cidr(IpNet),
    /// `lt`, `lte`, `gt`, `gte`: the field read as a number compared with this one.
    Number(NumOp, f64),
    /// A time-part modifier (`minute` … `year`), optionally with a comparison.
    TimePart(TimePart, NumOp, f64),
    /// A number or boolean written without string modifiers on a field: it equals the event's
    /// value written as the same text (`4688` matches `4688` and `"4688"`).
    Equals(Scalar),
    /// `null`: the field is absent or null.
    Null,
    /// A string pattern (literals and wildcards) matched against the whole value, with
    /// `contains`, `startswith`, `endswith`, `windash` and the encodings already applied.
    Pattern(Vec<Part>),
}

impl LoweredRule {
    /// Lowers a rule, checked exactly as [`CompiledRule::compile`](crate::CompiledRule::compile)
    /// checks it (the matchers whose build can fail are built to find every error, then
    /// dropped).
    ///
    /// # Errors
    ///
    /// Every error of the rule, in the order `compile` reports them.
    pub fn lower(rule: &Rule, options: &CompileOptions) -> Result<LoweredRule, Vec<SigmaError>> {
        let (lowered, _, _) = compile_detection(&rule.detection, options, None, Build::ErrorsOnly)?;
        Ok(lowered)
    }
}
