//! Mutation testing of Sigma rules: small changes to a rule's detection (drop a value, swap
//! `and` for `or`, `contains` for `startswith`…) run against the rule's test cases. A change
//! that no case notices is a gap in the fixtures. Operators are listed in `docs/mutation.md`.
//!
//! The pipeline is [`mutate`] → [`MutationReport`]: the cases runner gives each case's verdict on
//! the rule as written, [`generate::mutants`] makes every mutant from the parsed detection and
//! condition, and each mutant is compiled once and evaluated on the same events, in parallel.

#![deny(missing_docs)]

pub mod generate;
pub mod operator;
pub mod policy;
pub mod run;
pub mod suggest;

pub use generate::{Mutant, mutants};
pub use operator::Operator;
pub use run::{MutantResult, MutationReport, RuleMutation, Status, mutate};
