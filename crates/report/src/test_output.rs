//! Output of `ruleproof test`: human text, versioned JSON, JUnit XML and GitHub annotations.

use std::fmt::Write;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use ruleproof_cases::{
    CaseResult, Check, FileResult, Outcome, RunReport, SequenceKqlCheck, SequenceResult, Verdict,
};
use serde_json::json;

use crate::display_path;
use crate::github::annotation;

/// The version of the JSON shape; bumped when a field changes meaning or disappears.
pub const JSON_FORMAT: &str = "ruleproof.test-results/1";

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "ok",
        Outcome::Fail => "FAIL",
        Outcome::ExpectedFailure => "xfail",
        Outcome::UnexpectedPass => "XPASS",
    }
}

/// Human output: one block per rule, one line per case, failure details, and a summary.
pub fn human(report: &RunReport) -> String {
    let mut out = String::new();
    for diagnostic in &report.load_errors {
        let _ = writeln!(out, "error: {diagnostic}");
    }
    for message in &report.unreadable {
        let _ = writeln!(out, "error: {message}");
    }
    for file in &report.files {
        let Some(rule) = &file.rule else {
            // A file that does not parse, or names no rule, ran nothing: its own errors, each at
            // its `file:line:col`, are the whole block, as `coverage` lists them.
            out.push_str(&human_failures(file));
            out.push('\n');
            continue;
        };
        let _ = writeln!(out, "{} — {}", rule.title, display_path(&file.path));
        for case in &file.cases {
            let mut line = format!("  {:<5} {}", outcome_word(case.outcome), case.name);
            if let Some(scenario) = &case.scenario {
                let _ = write!(line, " [scenario: {scenario}]");
            }
            if let Some(kql) = &case.kql {
                let _ = write!(line, " · kql {}", outcome_word(kql.outcome));
            }
            let _ = writeln!(out, "{line}");
        }
        for sequence in &file.sequences {
            let mut line = format!(
                "  {:<5} {} [sequence: {} events, {} alerts]",
                outcome_word(sequence.outcome),
                sequence.name,
                sequence.matched.len(),
                sequence.alerts.len()
            );
            if let Some(kql) = &sequence.kql {
                let _ = write!(line, " · kql {}", outcome_word(kql.outcome));
            }
            let _ = writeln!(out, "{line}");
        }
        let failures = human_failures(file);
        if !failures.is_empty() {
            out.push('\n');
            out.push_str(&failures);
        }
        out.push('\n');
    }
    if !report.untested.is_empty() {
        let _ = writeln!(out, "untested rules (no test-case file names them):");
        for rule in &report.untested {
            let _ = writeln!(out, "  {} — {}", rule.title, display_path(&rule.path));
        }
        out.push('\n');
    }
    out.push_str(&summary(report));
    out
}

/// The closing line: counts, in the `N passed, N failed` form CI log readers recognise.
pub fn summary(report: &RunReport) -> String {
    let t = report.totals();
    let mut line = format!(
        "test result: {}. {} passed, {} failed",
        if report.is_success() { "ok" } else { "FAILED" },
        t.passed,
        t.failed
    );
    if t.expected_failures > 0 {
        let _ = write!(line, ", {} expected failures", t.expected_failures);
    }
    let _ = write!(
        line,
        "; {} KQL parity checks ({} failed); {} errors; {} files; {} untested rules",
        t.kql_checks, t.kql_failed, t.errors, t.files, t.untested_rules
    );
    line.push('\n');
    line
}

/// The details of every failing case and error of one file; empty when all is well.
pub fn human_failures(file: &FileResult) -> String {
    let mut out = String::new();
    for error in &file.errors {
        let _ = writeln!(out, "error: {error}");
    }
    let path = display_path(&file.path);
    for case in &file.cases {
        if case.outcome.is_failure() {
            let _ = writeln!(
                out,
                "FAIL {path}:{}:{}: case `{}`",
                case.line, case.col, case.name
            );
            out.push_str(&failure_text(case));
        }
        if let Some(kql) = case.kql.as_ref().filter(|k| k.outcome.is_failure()) {
            let _ = writeln!(
                out,
                "FAIL {path}:{}:{}: KQL parity of case `{}`",
                case.line, case.col, case.name
            );
            if kql.outcome == Outcome::UnexpectedPass {
                let _ = writeln!(
                    out,
                    "  the KQL check is marked xfail ({}) but now agrees with Sigma: remove the mark",
                    kql.xfail.as_deref().unwrap_or_default()
                );
            } else {
                let _ = writeln!(
                    out,
                    "  Sigma says {}, the rule's KQL says {}",
                    kql.sigma.as_str(),
                    kql.kql.as_str()
                );
            }
            let _ = writeln!(out, "  KQL explanation:");
            for line in kql.explanation.lines() {
                let _ = writeln!(out, "    {line}");
            }
            let _ = writeln!(out, "  Sigma explanation:");
            for line in case.check.explanation.to_string().lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    for sequence in file.sequences.iter().filter(|s| s.outcome.is_failure()) {
        let _ = writeln!(
            out,
            "FAIL {path}:{}:{}: case `{}`",
            sequence.line, sequence.col, sequence.name
        );
        out.push_str(&sequence_failure_text(sequence));
    }
    for sequence in &file.sequences {
        if let Some(kql) = sequence.kql.as_ref().filter(|k| k.outcome.is_failure()) {
            let _ = writeln!(
                out,
                "FAIL {path}:{}:{}: KQL parity of case `{}`",
                sequence.line, sequence.col, sequence.name
            );
            out.push_str(&sequence_kql_failure_text(kql));
        }
    }
    out
}

/// Why a sequence's KQL parity check failed, and the alerts the KQL raised.
fn sequence_kql_failure_text(kql: &SequenceKqlCheck) -> String {
    let mut out = String::new();
    if kql.outcome == Outcome::UnexpectedPass {
        let _ = writeln!(
            out,
            "  the KQL check is marked xfail ({}) but now agrees with the engine: remove the mark",
            kql.xfail.as_deref().unwrap_or_default()
        );
    }
    for problem in &kql.problems {
        let _ = writeln!(out, "  {problem}");
    }
    for alert in &kql.alerts {
        let _ = writeln!(
            out,
            "  KQL alert at {}: group {}, value {}",
            alert.time,
            serde_json::Value::Object(alert.group.clone()),
            ruleproof_sigma::correlation::number_text(alert.value)
        );
    }
    out
}

/// Why a sequence case failed, then what happened: the rules each event matched, the events the
/// correlations skipped, and every alert.
fn sequence_failure_text(sequence: &SequenceResult) -> String {
    let mut out = String::new();
    if sequence.outcome == Outcome::UnexpectedPass {
        let _ = writeln!(
            out,
            "  the case is marked xfail ({}) but passes: remove the mark",
            sequence.xfail.as_deref().unwrap_or_default()
        );
    }
    for problem in &sequence.problems {
        let _ = writeln!(out, "  {problem}");
    }
    let _ = writeln!(out, "  events (the base rules each matched):");
    for (i, rules) in sequence.matched.iter().enumerate() {
        let rules = if rules.is_empty() {
            "no rule".to_owned()
        } else {
            rules.join(", ")
        };
        let _ = writeln!(out, "    {i}: {rules}");
    }
    for skipped in &sequence.skipped {
        let _ = writeln!(out, "  {skipped}");
    }
    for alert in &sequence.alerts {
        let _ = writeln!(
            out,
            "  alert at event {}: group {}, value {}, window {} – {}, events {:?}",
            alert.event,
            serde_json::Value::Object(alert.group.clone()),
            ruleproof_sigma::correlation::number_text(alert.value),
            alert.window_start,
            alert.window_end,
            alert.events
        );
    }
    if sequence.alerts.is_empty() {
        let _ = writeln!(
            out,
            "  no alert; the largest value the condition saw was {}",
            ruleproof_sigma::correlation::number_text(sequence.peak)
        );
    }
    out
}

fn sequence_json(sequence: &SequenceResult) -> serde_json::Value {
    json!({
        "name": sequence.name,
        "line": sequence.line,
        "column": sequence.col,
        "outcome": sequence.outcome,
        "xfail": sequence.xfail,
        "expect": if sequence.expect.fires { "fires" } else { "no-fire" },
        "alerts": sequence.alerts,
        "matched": sequence.matched,
        "skipped": sequence.skipped,
        "problems": sequence.problems,
        "kql": sequence.kql.as_ref().map(|k| json!({
            "alerts": k.alerts,
            "outcome": k.outcome,
            "xfail": k.xfail,
            "problems": k.problems,
        })),
    })
}

fn describe_check(out: &mut String, prefix: &str, check: &Check) {
    if !check.failed() {
        return;
    }
    for problem in &check.problems {
        let _ = writeln!(out, "  {prefix}{problem}");
    }
    let expected = verdict_lines(check.expect, &check.reason);
    let actual = verdict_lines(check.actual, &check.actual_reason);
    let diff = similar::TextDiff::from_lines(&expected, &actual);
    let _ = writeln!(out, "  --- expected\n  +++ actual");
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let _ = write!(out, "  {sign}{}", change.value());
    }
    let _ = writeln!(out, "  explanation:");
    for line in check.explanation.to_string().lines() {
        let _ = writeln!(out, "    {line}");
    }
}

/// What a verdict looks like as diffable lines: the verdict, then each reason.
fn verdict_lines(verdict: Verdict, reasons: &[String]) -> String {
    let mut text = format!("verdict: {}\n", verdict.as_str());
    let label = match verdict {
        Verdict::Match => "matched because",
        Verdict::NoMatch => "rejected by",
    };
    for reason in reasons {
        let _ = writeln!(text, "{label}: {reason}");
    }
    text
}

fn check_json(check: &Check) -> serde_json::Value {
    json!({
        "expect": check.expect,
        "actual": check.actual,
        "reason": check.reason,
        "actual_reason": check.actual_reason,
        "problems": check.problems,
        "explanation": check.explanation,
    })
}

fn case_json(case: &CaseResult) -> serde_json::Value {
    json!({
        "name": case.name,
        "line": case.line,
        "column": case.col,
        "outcome": case.outcome,
        "scenario": case.scenario,
        "xfail": case.xfail,
        "check": check_json(&case.check),
        "with_filters": case.with_filters.as_ref().map(|(filters, check)| json!({
            "filters": filters,
            "check": check_json(check),
        })),
        "kql": case.kql.as_ref().map(|k| json!({
            "sigma": k.sigma,
            "kql": k.kql,
            "outcome": k.outcome,
            "xfail": k.xfail,
            "explanation": k.explanation,
        })),
    })
}

/// The JSON document (shape documented in `docs/output-formats.md`).
pub fn json(report: &RunReport) -> serde_json::Value {
    let diagnostic = |d: &ruleproof_cases::Diagnostic| {
        let at = d.line_col();
        json!({"file": display_path(d.file.path()), "line": at.line, "column": at.col, "message": d.message})
    };
    json!({
        "format": JSON_FORMAT,
        "success": report.is_success(),
        "totals": report.totals(),
        "load_errors": report.load_errors.iter().map(diagnostic).chain(
            report.unreadable.iter().map(|m| json!({"message": m}))).collect::<Vec<_>>(),
        "files": report.files.iter().map(|f| json!({
            "path": display_path(&f.path),
            "rule": f.rule,
            "errors": f.errors.iter().map(diagnostic).collect::<Vec<_>>(),
            "cases": f.cases.iter().map(case_json).collect::<Vec<_>>(),
            "sequences": f.sequences.iter().map(sequence_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "untested_rules": report.untested,
    })
}

/// JUnit XML: one suite per test-case file, one test case per case, and one per KQL parity check.
pub fn junit(report: &RunReport) -> String {
    let mut junit = Report::new("ruleproof");
    for file in &report.files {
        let mut suite = TestSuite::new(display_path(&file.path));
        for error in &file.errors {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(error.to_string());
            suite.add_test_case(TestCase::new(
                format!("load error at {}", error.location()),
                status,
            ));
        }
        for case in &file.cases {
            suite.add_test_case(junit_case(
                &case.name,
                case.outcome,
                &failure_text(case),
                case.xfail.as_deref(),
            ));
            if let Some(kql) = &case.kql {
                let text = format!(
                    "Sigma says {}, the rule's KQL says {}\n{}",
                    kql.sigma.as_str(),
                    kql.kql.as_str(),
                    kql.explanation
                );
                suite.add_test_case(junit_case(
                    &format!("{} [kql]", case.name),
                    kql.outcome,
                    &text,
                    kql.xfail.as_deref(),
                ));
            }
        }
        for sequence in &file.sequences {
            suite.add_test_case(junit_case(
                &sequence.name,
                sequence.outcome,
                &sequence_failure_text(sequence),
                sequence.xfail.as_deref(),
            ));
            if let Some(kql) = &sequence.kql {
                suite.add_test_case(junit_case(
                    &format!("{} [kql]", sequence.name),
                    kql.outcome,
                    &sequence_kql_failure_text(kql),
                    kql.xfail.as_deref(),
                ));
            }
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().unwrap_or_default()
}

fn junit_case(name: &str, outcome: Outcome, failure: &str, xfail: Option<&str>) -> TestCase {
    let status = match outcome {
        Outcome::Pass => TestCaseStatus::success(),
        Outcome::ExpectedFailure => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!("expected failure: {}", xfail.unwrap_or_default()));
            status
        }
        Outcome::Fail | Outcome::UnexpectedPass => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(failure.lines().next().unwrap_or("failed").trim().to_owned());
            status.set_description(failure.to_owned());
            status
        }
    };
    TestCase::new(name.to_owned(), status)
}

/// Why a case failed: a stale `xfail` mark, then each failing check with its diff and
/// explanation. Shared by every format so they all say the same thing.
fn failure_text(case: &CaseResult) -> String {
    let mut out = String::new();
    if case.outcome == Outcome::UnexpectedPass {
        let _ = writeln!(
            out,
            "  the case is marked xfail ({}) but passes: remove the mark",
            case.xfail.as_deref().unwrap_or_default()
        );
    }
    describe_check(&mut out, "", &case.check);
    if let Some((filters, check)) = &case.with_filters {
        describe_check(
            &mut out,
            &format!("with meta-filters {}: ", filters.join(", ")),
            check,
        );
    }
    out
}

/// GitHub Actions annotations: an error at the line of every failing case and every load error.
pub fn github(report: &RunReport) -> String {
    let mut out = String::new();
    let mut push = |line: String| {
        out.push_str(&line);
        out.push('\n');
    };
    for d in &report.load_errors {
        let at = d.line_col();
        push(annotation(
            "error",
            &display_path(d.file.path()),
            at.line,
            at.col,
            "rule does not load",
            &d.message,
        ));
    }
    for file in &report.files {
        let path = display_path(&file.path);
        for d in &file.errors {
            let at = d.line_col();
            push(annotation(
                "error",
                &path,
                at.line,
                at.col,
                "test-case file error",
                &d.message,
            ));
        }
        for case in &file.cases {
            if case.outcome.is_failure() {
                push(annotation(
                    "error",
                    &path,
                    case.line,
                    case.col,
                    &format!("case `{}` failed", case.name),
                    failure_text(case).trim(),
                ));
            }
            if let Some(kql) = case.kql.as_ref().filter(|k| k.outcome.is_failure()) {
                push(annotation(
                    "error",
                    &path,
                    case.line,
                    case.col,
                    &format!("KQL disagrees with Sigma on `{}`", case.name),
                    &format!(
                        "Sigma says {}, the rule's KQL says {}",
                        kql.sigma.as_str(),
                        kql.kql.as_str()
                    ),
                ));
            }
        }
    }
    for file in &report.files {
        let path = display_path(&file.path);
        for sequence in file.sequences.iter().filter(|s| s.outcome.is_failure()) {
            out.push_str(&annotation(
                "error",
                &path,
                sequence.line,
                sequence.col,
                &format!("case `{}` failed", sequence.name),
                sequence_failure_text(sequence).trim(),
            ));
            out.push('\n');
        }
        for sequence in &file.sequences {
            if let Some(kql) = sequence.kql.as_ref().filter(|k| k.outcome.is_failure()) {
                out.push_str(&annotation(
                    "error",
                    &path,
                    sequence.line,
                    sequence.col,
                    &format!("KQL disagrees with the engine on `{}`", sequence.name),
                    sequence_kql_failure_text(kql).trim(),
                ));
                out.push('\n');
            }
        }
    }
    out.push_str(&summary(report));
    out
}
