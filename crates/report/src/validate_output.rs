//! Output of `ruleproof validate`: rustc-style text, versioned JSON, SARIF 2.1.0 and GitHub
//! Actions annotations.

use std::fmt::Write;

use ruleproof_validate::{Diagnostic, Severity, Validation, lints};
use serde_json::json;

use crate::display_path;
use crate::github::annotation;

/// The version of the JSON shape.
pub const JSON_FORMAT: &str = "ruleproof.validate/1";

/// rustc-style: `error[RP104]: message`, ` --> file:line:col`, the source line and a caret.
pub fn human(validation: &Validation) -> String {
    let mut out = String::new();
    for d in &validation.diagnostics {
        let at = d.line_col();
        let _ = writeln!(out, "{}[{}]: {}", d.severity, d.lint.code, d.message);
        let _ = writeln!(
            out,
            "  --> {}:{}:{}",
            display_path(d.file.path()),
            at.line,
            at.col
        );
        let line = d.file.line_text(at.line);
        if !line.is_empty() {
            let gutter = at.line.to_string().len();
            let width = caret_width(d, line, at.col);
            let _ = writeln!(out, "{:gutter$} |", "");
            let _ = writeln!(out, "{} | {line}", at.line);
            let _ = writeln!(
                out,
                "{:gutter$} | {}{} {}",
                "",
                " ".repeat(at.col.saturating_sub(1) as usize),
                "^".repeat(width),
                d.lint.name
            );
        }
        out.push('\n');
    }
    out.push_str(&summary(validation));
    out
}

/// How many characters of the line the span covers (at least one, at most to the line's end).
fn caret_width(d: &Diagnostic, line: &str, col: u32) -> usize {
    let span_chars = d
        .file
        .text()
        .get(d.span.start as usize..d.span.end as usize)
        .map_or(1, |s| s.lines().next().unwrap_or_default().chars().count());
    let remaining = line
        .chars()
        .count()
        .saturating_sub(col.saturating_sub(1) as usize);
    span_chars.clamp(1, remaining.max(1))
}

/// The one-line summary: `validate: N files, N documents: N errors, N warnings, N notes`.
pub fn summary(validation: &Validation) -> String {
    format!(
        "validate: {} files, {} documents: {} errors, {} warnings, {} notes\n",
        validation.files,
        validation.documents,
        validation.count(Severity::Error),
        validation.count(Severity::Warning),
        validation.count(Severity::Info)
    )
}

fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    let at = d.line_col();
    let end = d.file.line_col(d.span.end);
    json!({
        "code": d.lint.code,
        "lint": d.lint.name,
        "severity": d.severity,
        "message": d.message,
        "file": display_path(d.file.path()),
        "line": at.line,
        "column": at.col,
        "end_line": end.line,
        "end_column": end.col,
        "rule_id": d.rule_id,
    })
}

/// The JSON document (shape documented in `docs/output-formats.md`).
pub fn json(validation: &Validation) -> serde_json::Value {
    json!({
        "format": JSON_FORMAT,
        "files": validation.files,
        "documents": validation.documents,
        "errors": validation.count(Severity::Error),
        "warnings": validation.count(Severity::Warning),
        "diagnostics": validation.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

/// SARIF 2.1.0, for code-scanning uploads: one run, every lint as a reporting descriptor.
pub fn sarif(validation: &Validation) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = lints::ALL
        .iter()
        .map(|lint| {
            json!({
                "id": lint.code,
                "name": lint.name,
                "shortDescription": {"text": lint.what},
                "fullDescription": {"text": format!("{} {}", lint.what, lint.why)},
                "help": {"text": format!("{}\n\nWhy: {}\n\nExample:\n{}", lint.what, lint.why, lint.example)},
                "defaultConfiguration": {"level": sarif_level(lint.default_severity)},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = validation
        .diagnostics
        .iter()
        .map(|d| {
            let at = d.line_col();
            let end = d.file.line_col(d.span.end.max(d.span.start));
            json!({
                "ruleId": d.lint.code,
                "ruleIndex": lints::ALL.iter().position(|l| l.code == d.lint.code),
                "level": sarif_level(d.severity),
                "message": {"text": d.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": display_path(d.file.path()).replace('\\', "/")},
                        "region": {
                            "startLine": at.line,
                            "startColumn": at.col,
                            "endLine": end.line.max(at.line),
                            "endColumn": if end.line > at.line { end.col } else { end.col.max(at.col + 1) },
                        }
                    }
                }],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ruleproof",
                "informationUri": "https://example.invalid/ruleproof",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Off => "note",
    }
}

/// GitHub Actions annotations, one per diagnostic.
pub fn github(validation: &Validation) -> String {
    let mut out = String::new();
    for d in &validation.diagnostics {
        let at = d.line_col();
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info | Severity::Off => "notice",
        };
        out.push_str(&annotation(
            level,
            &display_path(d.file.path()),
            at.line,
            at.col,
            &format!("{} {}", d.lint.code, d.lint.name),
            &d.message,
        ));
        out.push('\n');
    }
    out.push_str(&summary(validation));
    out
}
