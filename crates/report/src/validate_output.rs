//! Output of `ruleproof validate`: rustc-style text, versioned JSON, SARIF 2.1.0 and GitHub
//! Actions annotations.

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
use rayon::prelude::*;
use ruleproof_validate::{Diagnostic, Severity, Validation, lints};
use serde_json::json;

use crate::display_path;
use crate::github::annotation;

/// The version of the JSON shape.
pub const JSON_FORMAT: &str = "ruleproof.validate/1";

/// rustc-style: `error[RP104]: message`, ` --> file:line:col`, the source line and a caret
/// under the span, labelled with the lint's name; drawn by `annotate-snippets`, the renderer
/// rustc and cargo use, so the layout (gutter, wide characters, tabs) is theirs.
pub fn human(validation: &Validation) -> String {
    // Laying out a snippet is the costliest part of printing, and each diagnostic's is its
    // own: they are drawn on all cores and joined in order.
    let rendered: Vec<String> = validation.diagnostics.par_iter().map(snippet).collect();
    let mut out = String::new();
    for text in rendered {
        out.push_str(&text);
        out.push_str("\n\n");
    }
    out.push_str(&summary(validation));
    out
}

/// One diagnostic as `annotate-snippets` draws it.
fn snippet(d: &Diagnostic) -> String {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info | Severity::Off => Level::INFO,
    };
    let path = display_path(d.file.path());
    // Only the caret's line is shown, so only that line is handed to the renderer: given
    // the whole file, it reads every line of it for every diagnostic.
    let caret = caret(d);
    let text = d.file.text();
    let line_start = text[..caret.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[caret.end..]
        .find('\n')
        .map_or(text.len(), |i| caret.end + i + 1);
    let line = d.file.line_col(d.span.start).line as usize;
    let report = [level
        .primary_title(d.message.as_str())
        .id(d.lint.code)
        .element(
            Snippet::source(&text[line_start..line_end])
                .line_start(line)
                .path(path.as_str())
                .annotation(
                    AnnotationKind::Primary
                        .span(caret.start - line_start..caret.end - line_start)
                        .label(d.lint.name),
                ),
        )];
    Renderer::plain().render(&report)
}

/// The byte range the caret covers: the span's first line, at least one character.
fn caret(d: &Diagnostic) -> std::ops::Range<usize> {
    let text = d.file.text();
    let start = (d.span.start as usize).min(text.len());
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let end = (d.span.end as usize).clamp(start, line_end);
    if end > start {
        return start..end;
    }
    // An empty span still points at one character, when the line has one there.
    let next = text[start..line_end]
        .chars()
        .next()
        .map_or(0, char::len_utf8);
    start..start + next
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
