//! Validation diagnostics: a lint code, a severity, a message and the span it points at.

use std::fmt;

use ruleproof_sigma::{LineCol, SourceFile, Span};

/// How serious a finding is. `Off` only appears in configuration, to disable a lint.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails validation (exit code 1).
    Error,
    /// Reported; fails validation only with `--deny-warnings`.
    Warning,
    /// Reported for information; never fails validation.
    Info,
    /// Not reported.
    Off,
}

impl Severity {
    /// `error`, `warning`, `info` or `off`, as written in `ruleproof.yml` and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Off => "off",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lint's identity and documentation. Codes are stable: they appear in configuration files,
/// SARIF rules and CI logs, so a code is never reused for another check.
#[derive(Debug)]
pub struct Lint {
    /// The stable code (`RP107`).
    pub code: &'static str,
    /// The stable name (`all-of-them`).
    pub name: &'static str,
    /// The severity unless `ruleproof.yml` says otherwise.
    pub default_severity: Severity,
    /// What the lint finds.
    pub what: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// A small example that triggers it.
    pub example: &'static str,
}

/// One finding, positioned by a byte span in its file.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// The lint that reported it.
    pub lint: &'static Lint,
    /// Its severity after configuration.
    pub severity: Severity,
    /// What was found, naming the construct.
    pub message: String,
    /// The file it was found in.
    pub file: SourceFile,
    /// Where in the file.
    pub span: Span,
    /// The id of the rule the finding is about, for per-rule exclusions.
    pub rule_id: Option<String>,
}

impl Diagnostic {
    /// The 1-based line and column where the diagnostic starts.
    pub fn line_col(&self) -> LineCol {
        self.file.line_col(self.span.start)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}[{}]: {}",
            self.file.location(self.span),
            self.severity,
            self.lint.code,
            self.message
        )
    }
}

/// A finding before configuration decides its severity.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The lint that reported it.
    pub lint: &'static Lint,
    /// Where in the file being checked.
    pub span: Span,
    /// What was found, naming the construct.
    pub message: String,
}

impl Finding {
    /// A finding of `lint` at `span`.
    pub fn new(lint: &'static Lint, span: Span, message: impl Into<String>) -> Finding {
        Finding {
            lint,
            span,
            message: message.into(),
        }
    }
}
