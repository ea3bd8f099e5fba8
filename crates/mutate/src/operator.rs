//! The mutation operators: each a small change a rule author could plausibly get wrong, with a
//! stable name that output, tests and `docs/mutation.md` share.

use std::fmt;

/// One kind of change made to a rule's detection. The names returned by [`Operator::name`] are
/// part of the JSON output (`ruleproof.mutation/1`) and never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operator {
    /// Remove one value from an item's list of values.
    DropValue,
    /// Remove one item (field and its values) from a search map that has several.
    DropItem,
    /// Remove one map from a search identifier that is a list of maps (ORed alternatives).
    DropMap,
    /// Remove one operand (a selection, a filter, a group) of an `and` or `or` in the condition.
    DropSearch,
    /// `a and b` becomes `a or b`.
    AndToOr,
    /// `a or b` becomes `a and b`.
    OrToAnd,
    /// `1 of x*` becomes `all of x*`.
    OneOfToAllOf,
    /// `all of x*` becomes `1 of x*`.
    AllOfToOneOf,
    /// `not x` becomes `x`.
    RemoveNot,
    /// The string position modifier changes: exact, `contains`, `startswith`, `endswith`.
    ChangeStringModifier,
    /// `|all` is dropped: any value matches instead of every value.
    DropAll,
    /// `|cased` is added: values match in the case written only.
    AddCased,
    /// `|cased` is dropped: values match in any case.
    DropCased,
    /// A value gets a leading or trailing `*`.
    WidenValue,
    /// A value loses its leading or trailing `*`.
    NarrowValue,
    /// The bound of `gt`, `gte`, `lt` or `lte` moves by one.
    ShiftBound,
    /// A `cidr` range loses one bit of its prefix (becomes twice as wide).
    DropCidrBit,
    /// A meta-filter that a case applies is not applied: its condition no longer suppresses.
    DropMetaFilter,
}

impl Operator {
    /// Every operator, in the order `docs/mutation.md` lists them.
    pub const ALL: [Operator; 18] = [
        Operator::DropValue,
        Operator::DropItem,
        Operator::DropMap,
        Operator::DropSearch,
        Operator::AndToOr,
        Operator::OrToAnd,
        Operator::OneOfToAllOf,
        Operator::AllOfToOneOf,
        Operator::RemoveNot,
        Operator::ChangeStringModifier,
        Operator::DropAll,
        Operator::AddCased,
        Operator::DropCased,
        Operator::WidenValue,
        Operator::NarrowValue,
        Operator::ShiftBound,
        Operator::DropCidrBit,
        Operator::DropMetaFilter,
    ];

    /// The stable name, as in output and `docs/mutation.md`.
    pub fn name(self) -> &'static str {
        match self {
            Operator::DropValue => "drop-value",
            Operator::DropItem => "drop-item",
            Operator::DropMap => "drop-map",
            Operator::DropSearch => "drop-search",
            Operator::AndToOr => "and-to-or",
            Operator::OrToAnd => "or-to-and",
            Operator::OneOfToAllOf => "one-of-to-all-of",
            Operator::AllOfToOneOf => "all-of-to-one-of",
            Operator::RemoveNot => "remove-not",
            Operator::ChangeStringModifier => "change-string-modifier",
            Operator::DropAll => "drop-all",
            Operator::AddCased => "add-cased",
            Operator::DropCased => "drop-cased",
            Operator::WidenValue => "widen-value",
            Operator::NarrowValue => "narrow-value",
            Operator::ShiftBound => "shift-bound",
            Operator::DropCidrBit => "drop-cidr-bit",
            Operator::DropMetaFilter => "drop-meta-filter",
        }
    }

    /// The operator of a stable name.
    pub fn parse(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|o| o.name() == name)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
