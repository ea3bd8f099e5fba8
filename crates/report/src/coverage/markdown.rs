//! Coverage as Markdown for a pull-request comment: a summary table, then only what is
//! uncovered or failing, and the policy verdict.

use std::fmt::Write;

use ruleproof_cases::coverage::{Counter, CoverageReport, RuleCoverage};
use ruleproof_cases::policy::PolicyReport;

use super::{counter_text, plural, segments, tags};

/// Escapes text so Markdown shows it as written, inside table cells too.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            other => out.push(other),
        }
    }
    out
}

/// Code as inline HTML: unlike a code span it survives backticks and pipes in rule values, and
/// the escaping keeps Markdown from reading emphasis into it.
fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

/// A description with its backticked names as code and the rest escaped.
fn rich(description: &str) -> String {
    segments(description)
        .into_iter()
        .map(|(is_code, part)| if is_code { code(part) } else { escape(part) })
        .collect()
}

fn cell(counter: Counter) -> String {
    let mark = if counter.is_complete() { "" } else { " ⚠️" };
    format!("{}{mark}", counter_text(counter))
}

/// The whole comment.
pub fn markdown(report: &CoverageReport, policy: &PolicyReport) -> String {
    let mut out = String::new();
    let totals = report.totals();
    let verdict = if policy.passed() {
        "✅ policy met"
    } else {
        "❌ policy not met"
    };
    let _ = writeln!(out, "## ruleproof coverage — {verdict}\n");
    let _ = writeln!(
        out,
        "{}, {} without a test-case file, {} complete.\n",
        plural(totals.rules, "rule", "rules"),
        totals.rules_without_test_file,
        totals.complete_rules
    );
    out.push_str(
        "| Rule | Status | Cases (+/−/FP/xfail/fail) | Scenarios | Searches | Items | Values | Meta-filters | Policy |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for rule in &report.rules {
        let c = &rule.cases;
        let d = rule.detection();
        let passes = !policy
            .failures
            .iter()
            .any(|f| f.path == rule.rule.path && f.title == rule.rule.title);
        let _ = writeln!(
            out,
            "| {} <br>{} | {} | {}/{}/{}/{}/{} | {} | {} | {} | {} | {} | {} |",
            escape(&rule.rule.title),
            code(&rule.rule.path.display().to_string()),
            escape(&tags(&rule.rule)),
            c.positives,
            c.negatives,
            c.known_false_positives,
            c.expected_failures,
            c.failing,
            cell(rule.scenario_counts().counter()),
            cell(d.searches),
            cell(d.items),
            cell(d.values),
            cell(d.meta_filters),
            if passes { "✅" } else { "❌" }
        );
    }
    let c = &totals.cases;
    let d = &totals.detection;
    let _ = writeln!(
        out,
        "| **Total** |  | {}/{}/{}/{}/{} | {} | {} | {} | {} | {} | {} |\n",
        c.positives,
        c.negatives,
        c.known_false_positives,
        c.expected_failures,
        c.failing,
        cell(totals.scenarios.counter()),
        cell(d.searches),
        cell(d.items),
        cell(d.values),
        cell(d.meta_filters),
        if policy.passed() { "✅" } else { "❌" }
    );

    if !report.errors.is_empty() {
        out.push_str("### Errors\n\n");
        for error in &report.errors {
            let _ = writeln!(out, "- {}", escape(error));
        }
        out.push('\n');
    }
    let incomplete: Vec<&RuleCoverage> = report.rules.iter().filter(|r| !r.is_complete()).collect();
    if !incomplete.is_empty() {
        out.push_str("### Uncovered or failing\n\n");
        for rule in incomplete {
            let _ = writeln!(
                out,
                "#### {} ({})\n",
                escape(&rule.rule.title),
                code(&rule.rule.path.display().to_string())
            );
            if rule.test_file.is_none() {
                let _ = writeln!(out, "- no test-case file");
            }
            for error in &rule.errors {
                let _ = writeln!(out, "- error: {}", escape(error));
            }
            if rule.cases.failing > 0 {
                let _ = writeln!(
                    out,
                    "- {}",
                    plural(rule.cases.failing, "failing case", "failing cases")
                );
            }
            for gap in rule.gaps() {
                let _ = writeln!(out, "- {}", rich(&gap.description));
            }
            out.push('\n');
        }
    }
    if !report.correlations.is_empty() {
        out.push_str("### Correlation rules\n\n");
        for correlation in &report.correlations {
            let c = &correlation.correlation;
            let _ = writeln!(
                out,
                "**{}** ({})\n",
                escape(&c.title),
                code(&c.path.display().to_string())
            );
            for line in super::correlation_lines(correlation) {
                let _ = writeln!(out, "- {}", escape(&line));
            }
            out.push('\n');
        }
    }
    if !policy.passed() {
        out.push_str("### Policy failures\n\n");
        for error in &policy.errors {
            let _ = writeln!(out, "- error: {}", escape(error));
        }
        for failure in &policy.failures {
            let _ = writeln!(
                out,
                "- {} ({}):",
                code(&failure.path.display().to_string()),
                escape(&failure.title)
            );
            for lack in &failure.lacks {
                let _ = writeln!(out, "  - {}", rich(lack));
            }
        }
        out.push('\n');
    }
    out
}
