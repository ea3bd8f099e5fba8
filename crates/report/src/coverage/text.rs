//! Coverage as terminal text: one block per rule, what it lacks, totals and the policy verdict.

use std::fmt::Write;

use ruleproof_cases::coverage::{CaseCounts, CoverageReport, CoverageTotals, RuleCoverage};
use ruleproof_cases::policy::PolicyReport;

use super::{counter_text, plural, tags};

/// The whole text report.
pub fn text(report: &CoverageReport, policy: &PolicyReport) -> String {
    let mut out = String::new();
    for error in &report.errors {
        let _ = writeln!(out, "error: {error}");
    }
    if !report.errors.is_empty() {
        out.push('\n');
    }
    for rule in &report.rules {
        rule_block(&mut out, rule);
        out.push('\n');
    }
    for correlation in &report.correlations {
        let c = &correlation.correlation;
        let _ = writeln!(
            out,
            "{} — {} [correlation, {}]",
            c.path.display(),
            c.title,
            super::tags(c)
        );
        for line in super::correlation_lines(correlation) {
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
    }
    totals_block(&mut out, &report.totals());
    out.push('\n');
    out.push_str(&policy_text(policy));
    out
}

/// `3 positive, 2 negative, 1 known false positive, 0 expected failures, 0 failing`.
pub(super) fn case_counts(counts: &CaseCounts) -> String {
    format!(
        "{} positive, {} negative, {}, {}, {} failing",
        counts.positives,
        counts.negatives,
        plural(
            counts.known_false_positives,
            "known false positive",
            "known false positives"
        ),
        plural(
            counts.expected_failures,
            "expected failure",
            "expected failures"
        ),
        counts.failing
    )
}

fn rule_block(out: &mut String, rule: &RuleCoverage) {
    let _ = writeln!(
        out,
        "{} — {} [{}]",
        rule.rule.path.display(),
        rule.rule.title,
        tags(&rule.rule)
    );
    match (&rule.test_file, &rule.expected_test_file) {
        (Some(file), _) => {
            let _ = writeln!(out, "  test cases: {}", file.display());
        }
        (None, Some(expected)) => {
            let _ = writeln!(
                out,
                "  test cases: none (no test-case file at {})",
                expected.display()
            );
        }
        (None, None) => {
            let _ = writeln!(out, "  test cases: none");
        }
    }
    let _ = writeln!(out, "  cases: {}", case_counts(&rule.cases));
    let scenarios = rule.scenario_counts();
    let _ = writeln!(
        out,
        "  scenarios: {} covered, {} failing, {} uncovered",
        counter_text(scenarios.counter()),
        scenarios.failing,
        scenarios.uncovered
    );
    let detection = rule.detection();
    let _ = writeln!(
        out,
        "  detection: searches {}, items {}, values {}, meta-filters {}",
        counter_text(detection.searches),
        counter_text(detection.items),
        counter_text(detection.values),
        counter_text(detection.meta_filters)
    );
    if !rule.generic_falsepositives.is_empty() {
        let _ = writeln!(
            out,
            "  generic falsepositives (need no scenario): {}",
            rule.generic_falsepositives.join(", ")
        );
    }
    for error in &rule.errors {
        let _ = writeln!(out, "  error: {error}");
    }
    let gaps = rule.gaps();
    if !gaps.is_empty() {
        let _ = writeln!(out, "  uncovered or failing:");
        for gap in gaps {
            let _ = writeln!(out, "    - {}", gap.description);
        }
    }
}

fn totals_block(out: &mut String, totals: &CoverageTotals) {
    let _ = writeln!(
        out,
        "totals: {} ({} without a test-case file, {} complete)",
        plural(totals.rules, "rule", "rules"),
        totals.rules_without_test_file,
        totals.complete_rules
    );
    let _ = writeln!(out, "  cases: {}", case_counts(&totals.cases));
    let _ = writeln!(
        out,
        "  scenarios: {} covered, {} failing, {} uncovered",
        counter_text(totals.scenarios.counter()),
        totals.scenarios.failing,
        totals.scenarios.uncovered
    );
    let d = &totals.detection;
    let _ = writeln!(
        out,
        "  detection: searches {}, items {}, values {}, meta-filters {}",
        counter_text(d.searches),
        counter_text(d.items),
        counter_text(d.values),
        counter_text(d.meta_filters)
    );
}

/// The policy verdict: `policy: ok …`, or each failing rule and what it lacks.
pub fn policy_text(policy: &PolicyReport) -> String {
    let mut out = String::new();
    if policy.passed() {
        let _ = writeln!(
            out,
            "policy: ok — every rule meets the coverage policy ({} checked)",
            policy.rules_checked
        );
        return out;
    }
    let _ = writeln!(
        out,
        "policy: FAILED — {} (of {} checked) {} not meet the coverage policy",
        plural(policy.failures.len(), "rule", "rules"),
        policy.rules_checked,
        if policy.failures.len() == 1 {
            "does"
        } else {
            "do"
        }
    );
    for error in &policy.errors {
        let _ = writeln!(out, "  error: {error}");
    }
    for failure in &policy.failures {
        let _ = writeln!(
            out,
            "  {} ({}) [{}]:",
            failure.path.display(),
            failure.title,
            [failure.status.as_deref(), failure.level.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
        );
        for lack in &failure.lacks {
            let _ = writeln!(out, "    - {lack}");
        }
    }
    out
}
