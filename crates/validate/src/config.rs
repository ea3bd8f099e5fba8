//! The `lints:` section of the repository's `ruleproof.yml`: re-grading, disabling and
//! per-rule exclusions, in the spirit of SigmaHQ's validation configuration. A lint that is an
//! error by default can only be kept an error: what it reports loads in no command.
//!
//! ```yaml
//! lints:
//!   severity:            # a lint's code or name → error | warning | info | off
//!     RP107: off
//!     missing-test-case: error
//!   exclude:             # a lint's code or name → rule ids, or path globs relative to the
//!                        # repository root, it does not apply to
//!     RP106:
//!       - 5f1b3d6e-0000-4000-8000-000000000000
//!       - rules/windows/**
//! ```

use std::collections::HashMap;
use std::path::Path;

use ruleproof_sigma::SourceFile;
use ruleproof_sigma::yaml::{Limits, Node, Value, parse_documents};

use crate::diagnostic::{Lint, Severity};
use crate::lints;

/// Lint settings; the default applies every lint at its default severity.
#[derive(Clone, Debug, Default)]
pub struct LintConfig {
    severity: HashMap<&'static str, Severity>,
    exclude: HashMap<&'static str, Vec<Exclusion>>,
}

#[derive(Clone, Debug)]
enum Exclusion {
    RuleId(String),
    Path(glob::Pattern),
}

/// A problem in the configuration file, at its position.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ConfigError {
    /// `path:line:col` of the offending key or value in `ruleproof.yml`.
    pub location: String,
    /// What is wrong with it.
    pub message: String,
}

impl LintConfig {
    /// Reads the `lints:` key of a configuration file; other top-level keys belong to other
    /// parts of ruleproof and are left to them.
    pub fn from_source(source: &SourceFile) -> Result<LintConfig, ConfigError> {
        let error = |span, message: String| ConfigError {
            location: source.location(span),
            message,
        };
        let docs =
            parse_documents(source, &Limits::default()).map_err(|e| error(e.span, e.message))?;
        let mut config = LintConfig::default();
        let Some(lints_node) = docs.first().and_then(|d| d.get("lints")) else {
            return Ok(config);
        };
        let Some(entries) = lints_node.as_map() else {
            return Err(error(lints_node.span, "`lints` must be a mapping".into()));
        };
        for (key, value) in entries {
            match key.as_str() {
                Some("severity") => {
                    for (lint_key, level) in value.as_map().ok_or_else(|| {
                        error(
                            value.span,
                            "`lints.severity` must map lint codes to severities".into(),
                        )
                    })? {
                        let lint = find_lint(lint_key)
                            .ok_or_else(|| error(lint_key.span, unknown_lint(lint_key)))?;
                        let severity = match severity_text(source, level) {
                            Some("error") => Severity::Error,
                            Some("warning") => Severity::Warning,
                            Some("info") => Severity::Info,
                            Some("off") => Severity::Off,
                            _ => {
                                return Err(error(
                                    level.span,
                                    "a severity is one of error, warning, info, off".into(),
                                ));
                            }
                        };
                        if lint.default_severity == Severity::Error && severity != Severity::Error {
                            return Err(error(level.span, refuses_loading(lint)));
                        }
                        config.severity.insert(lint.code, severity);
                    }
                }
                Some("exclude") => {
                    for (lint_key, list) in value.as_map().ok_or_else(|| {
                        error(
                            value.span,
                            "`lints.exclude` must map lint codes to lists".into(),
                        )
                    })? {
                        let lint = find_lint(lint_key)
                            .ok_or_else(|| error(lint_key.span, unknown_lint(lint_key)))?;
                        if lint.default_severity == Severity::Error {
                            return Err(error(lint_key.span, refuses_loading(lint)));
                        }
                        let items = list.as_seq().ok_or_else(|| {
                            error(
                                list.span,
                                "exclusions are a list of rule ids or path globs".into(),
                            )
                        })?;
                        let mut exclusions = Vec::new();
                        for item in items {
                            let text = item.as_str().ok_or_else(|| {
                                error(item.span, "an exclusion is a string".into())
                            })?;
                            let exclusion =
                                if looks_like_uuid(text) {
                                    Exclusion::RuleId(text.to_owned())
                                } else {
                                    Exclusion::Path(glob::Pattern::new(text).map_err(|e| {
                                        error(item.span, format!("bad path glob: {e}"))
                                    })?)
                                };
                            exclusions.push(exclusion);
                        }
                        config
                            .exclude
                            .entry(lint.code)
                            .or_default()
                            .extend(exclusions);
                    }
                }
                _ => {
                    return Err(error(
                        key.span,
                        format!(
                            "unknown key `{}` in `lints` (expected severity, exclude)",
                            key.scalar_text().unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        Ok(config)
    }

    /// Reads `ruleproof.yml` at a repository root; a missing file means the defaults.
    pub fn load(root: &Path) -> Result<LintConfig, ConfigError> {
        let path = root.join("ruleproof.yml");
        if !path.exists() {
            return Ok(LintConfig::default());
        }
        let source = ruleproof_sigma::source::read_source(&path, Limits::default().max_file_bytes)
            .map_err(|e| ConfigError {
                location: path.display().to_string(),
                message: e.to_string(),
            })?;
        LintConfig::from_source(&source)
    }

    /// The severity the configuration gives the lint: its override, or the lint's default.
    pub fn severity(&self, lint: &Lint) -> Severity {
        self.severity
            .get(lint.code)
            .copied()
            .unwrap_or(lint.default_severity)
    }

    /// Whether a finding of `lint` on the rule `rule_id` in `path` is excluded.
    pub fn is_excluded(&self, lint: &Lint, rule_id: Option<&str>, path: &Path) -> bool {
        self.exclude.get(lint.code).is_some_and(|list| {
            list.iter().any(|e| match e {
                Exclusion::RuleId(id) => rule_id == Some(id.as_str()),
                Exclusion::Path(pattern) => pattern.matches_path(path),
            })
        })
    }
}

/// The text a severity is written as. The YAML reader follows YAML 1.1 and reads a bare `off`
/// as the boolean false, so for a boolean the written text is taken from the source; otherwise
/// `RP107: off`, the documented way to disable a lint, would be rejected.
fn severity_text<'a>(source: &'a SourceFile, level: &'a Node) -> Option<&'a str> {
    match &level.value {
        Value::String(text) => Some(text),
        Value::Bool(_) => source
            .text()
            .get(level.span.start as usize..level.span.end as usize)
            .map(str::trim),
        _ => None,
    }
}

fn find_lint(key: &Node) -> Option<&'static Lint> {
    let text = key.scalar_text()?;
    lints::ALL
        .iter()
        .copied()
        .find(|l| l.code == text || l.name == text)
}

/// Why an error lint cannot be lowered or excluded: what it finds loads in no command, which
/// read no configuration, so `validate` would pass a document nothing else can use
/// (`docs/semantics.md`, "Which documents load").
fn refuses_loading(lint: &Lint) -> String {
    format!(
        "`{}` ({}) cannot be lowered or excluded: the documents it reports load in no command",
        lint.code, lint.name
    )
}

fn unknown_lint(key: &Node) -> String {
    format!(
        "`{}` is not a lint code or name",
        key.scalar_text().unwrap_or_default()
    )
}

fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}
