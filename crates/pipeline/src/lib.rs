//! pySigma processing pipelines: the YAML files that adapt Sigma rules to a deployment (field
//! names mapped to its schema, conditions added, values changed), read with source positions
//! and applied to parsed rules before they compile.
//!
//! [`Pipeline::load`] reads one file; [`Pipelines::resolve`] orders several by `priority` (the
//! lowest first, as pySigma's `ProcessingPipelineResolver` does) into one chain of processing
//! items with merged `vars`; [`Pipelines`] implements the engine's
//! [`ruleproof_sigma::RuleProcessing`], so `Collection::load_processed` applies it on the one
//! loading path. Semantics follow pySigma (`sigma/processing/`); the readings an evaluator
//! needs are in `docs/pipelines.md`.

#![deny(missing_docs)]

mod apply;
mod condition;
mod event;
mod read;
mod transformation;
mod value;

pub use apply::{Pipelines, Processed};
pub use event::EventError;
pub use read::{Pipeline, PipelineError};
pub use ruleproof_sigma::JoinedColumns;
