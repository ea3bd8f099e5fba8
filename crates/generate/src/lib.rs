//! Fixture generation for Sigma rules: for each way a rule's condition can be true, an event
//! that satisfies every modifier of the searches it needs (wildcards, `contains|all`, `re`,
//! `base64`/`base64offset` with `utf16*`/`wide`, `windash`, `cidr`, numeric comparisons,
//! `exists`, `fieldref`, `cased`, keywords), and near misses one step outside. The engine
//! confirms every event before it is returned; a branch no event satisfies is reported with the
//! reason.
//!
//! The pipeline is [`branch::ways`] (the condition in disjunctive normal form) →
//! [`generate`] (field requirements per way → values from [`sample`] → engine check).

#![deny(missing_docs)]

pub mod branch;
pub mod build;
pub mod perturb;
pub mod sample;

pub use build::{
    GeneratedEvent, Kind, RuleEvents, Unsatisfied, ValueAt, event_for_value, generate,
};
pub use perturb::candidates;
