//! Validation of Sigma documents and ruleproof test-case files: JSON Schemas for rules,
//! meta-filters, correlation rules and test cases, compiled once, with readable violations; and
//! lints with stable codes, each in its own file with a What / Why / Example doc.
//!
//! The schemas live in the repository's `schemas/` directory, where editors that run the YAML
//! language server find them too; they are embedded here so the tool needs no files at run time.
//! A [`SchemaViolation`] carries the JSON pointer of the offending value, which [`validate`]
//! maps back to a position in the YAML source.

#![deny(missing_docs)]

pub mod config;
pub mod diagnostic;
pub mod lints;
mod run;
mod schema;

pub use config::{ConfigError, LintConfig};
pub use diagnostic::{Diagnostic, Lint, Severity};
pub use run::{Layout, LoadCheck, Validation, validate};
pub use schema::{DocumentKind, SchemaViolation, Schemas};
