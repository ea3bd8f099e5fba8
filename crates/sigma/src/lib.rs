//! The Sigma language: loading documents with source positions, compiling rules once, and
//! evaluating them against events with an explanation of every verdict.
//!
//! The pipeline is `load_file` → [`Document`] → [`CompiledRule::compile`] →
//! [`CompiledRule::matches`] / [`CompiledRule::explain`]. Positions are byte [`Span`]s into a
//! [`SourceFile`], turned into `line:col` only when printed.

#![deny(missing_docs)]

pub mod collection;
pub mod condition;
pub mod correlation;
pub mod detection;
pub mod document;
pub mod error;
pub mod event;
pub mod explain;
pub mod fold;
pub mod joined;
pub mod lazy_regex;
pub mod modifier;
pub mod pattern;
pub mod references;
pub mod ruleset;
pub mod source;
pub mod yaml;

mod compile;
mod eval;

pub use collection::{
    Collection, DocumentCheck, LoadError, Loaded, ProcessingNote, RuleProcessing,
};
pub use compile::{
    CompileOptions, CompiledFilter, CompiledRule, Cond, ItemOutline, LoweredItem, LoweredRule,
    LoweredSearch, LoweredValue, NumOp, PlaceholderPart, Position, SearchOutline, TimePart,
    ValueTest, placeholder_parts, value_patterns,
};
pub use document::{
    Correlation, Document, DocumentBody, DocumentKind, Filter, LoadedFile, LogSource, Metadata,
    Rule, load_file, load_source,
};
pub use error::{ErrorKind, ReadError, SigmaError};
pub use event::{Event, FieldPath};
pub use explain::{Decisive, Explanation, SearchRole};
pub use joined::JoinedColumns;
pub use source::{LineCol, SourceFile, Span};
pub use yaml::Limits;
