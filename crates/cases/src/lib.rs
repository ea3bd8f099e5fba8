//! Test cases for Sigma rules: the YAML fixture format, the runner that asserts every verdict
//! and its reason, and the scaffolding commands that write fixture files.

#![deny(missing_docs)]

pub mod coverage;
pub mod diagnostic;
pub mod format;
pub mod policy;
pub mod ruleset;
pub mod run;
pub mod scaffold;
pub mod sequence;

pub use diagnostic::Diagnostic;
pub use format::{Case, Scenario, TestCaseFile, Verdict};
pub use ruleset::{LoadedCorrelation, LoadedFilter, LoadedRule, RuleSet};
pub use run::{
    CaseResult, Check, FileResult, KqlAlert, KqlCheck, KqlParity, KqlVerdict, Layout, Outcome,
    PreparedCorrelationKql, PreparedKql, RuleSummary, RunReport, Totals, run, run_file,
};
pub use sequence::{SequenceAlert, SequenceKqlCheck, SequenceResult};
