//! Sigma correlation rules (specification: `sigma-correlation-rules-specification.md`):
//! reading the `correlation:` section ([`definition`]), event timestamps ([`timestamp`]),
//! compiling correlations against the rules they name ([`set`]), and evaluating them over a
//! stream of events with sliding windows ([`engine`], [`window`]).
//!
//! The detection engine decides which rules an event matches; the correlation engine gets those
//! matches with the event and keeps, per correlation and group, the observations inside the
//! timespan. Semantics are written down in `docs/semantics.md`, "Correlations".

pub mod definition;
pub mod engine;
pub mod set;
pub mod timestamp;
mod window;

pub use definition::{
    Aliases, ConditionOp, CorrelationCondition, CorrelationType, Timespan, number_text,
};
pub use engine::{
    CorrelationEngine, DEFAULT_LATENESS_MS, EngineOptions, Evaluation, Realert, Skipped,
};
pub use set::{CompiledCorrelation, CorrelationSet, CorrelationSetError, Source};
pub use timestamp::{DEFAULT_TIMESTAMP_FIELDS, TimestampFields, format_timestamp, parse_timestamp};
