//! Coverage as JSON, in the versioned shape documented in `docs/coverage.md`.

use ruleproof_cases::RuleSummary;
use ruleproof_cases::coverage::{
    CaseCounts, Counter, CoverageReport, RuleCoverage, ScenarioCounts, ScenarioCoverage,
    SearchCoverage,
};
use ruleproof_cases::policy::{PolicyReport, RuleFailure};
use serde_json::{Value, json};

/// The version of the JSON shape; bumped when a field changes meaning or disappears.
pub const JSON_FORMAT: &str = "ruleproof.coverage/1";

/// The JSON document.
pub fn json(report: &CoverageReport, policy: &PolicyReport) -> Value {
    let totals = report.totals();
    json!({
        "format": JSON_FORMAT,
        "totals": {
            "rules": totals.rules,
            "rules_without_test_file": totals.rules_without_test_file,
            "complete_rules": totals.complete_rules,
            "cases": cases(&totals.cases),
            "scenarios": scenario_counts(totals.scenarios),
            "searches": counter(totals.detection.searches),
            "items": counter(totals.detection.items),
            "values": counter(totals.detection.values),
            "meta_filters": counter(totals.detection.meta_filters),
        },
        "rules": report.rules.iter().map(|r| rule(r, policy)).collect::<Vec<_>>(),
        "correlations": report.correlations.iter().map(|c| {
            let lacks = lacks(policy, &c.correlation);
            json!({
                "correlation": c.correlation,
                "test_file": c.test_file,
                "sequences": c.sequences,
                "failing": c.failing,
                "cases": cases(&c.cases),
                "scenario_counts": scenario_counts(c.scenario_counts()),
                "scenarios": scenarios(&c.scenarios),
                "threshold": c.threshold,
                "met_exactly": c.met_exactly,
                "missed_by_one": c.missed_by_one,
                "base_rules": c.base_rules.iter().map(|(rule, cases)| json!({"rule": rule, "contributes_in": cases})).collect::<Vec<_>>(),
                "conditions": counter(c.conditions()),
                "gaps": c.gaps(),
                "policy": {
                    "passed": lacks.is_empty(),
                    "lacks": lacks,
                },
            })
        }).collect::<Vec<_>>(),
        "policy": {
            "passed": policy.passed(),
            "rules_checked": policy.rules_checked,
            "failures": policy.failures.iter().map(failure).collect::<Vec<_>>(),
            "errors": policy.errors,
        },
        "errors": report.errors,
    })
}

/// `{"covered", "total", "percent"}`; the percentage is rounded down to one decimal.
fn counter(counter: Counter) -> Value {
    let tenths = counter.tenths();
    json!({
        "covered": counter.covered,
        "total": counter.total,
        "percent": tenths as f64 / 10.0,
    })
}

fn cases(counts: &CaseCounts) -> Value {
    json!({
        "positives": counts.positives,
        "negatives": counts.negatives,
        "known_false_positives": counts.known_false_positives,
        "expected_failures": counts.expected_failures,
        "failing": counts.failing,
        "total": counts.total(),
    })
}

fn scenario_counts(counts: ScenarioCounts) -> Value {
    json!({
        "covered": counts.covered,
        "failing": counts.failing,
        "uncovered": counts.uncovered,
        "total": counts.total,
        "percent": counter(counts.counter())["percent"],
    })
}

fn search(search: &SearchCoverage) -> Value {
    json!({
        "name": search.name,
        "role": search.role,
        "alternatives": search.alternatives,
        "covered_by": search.covered_by,
        "items": search.items.iter().map(|item| json!({
            "alternative": item.alternative,
            "key": item.key,
            "covered_by": item.covered_by,
            "values": item.values.iter().map(|v| json!({
                "value": v.display,
                "covered_by": v.covered_by,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// What the policy says the rule (detection or correlation) lacks; empty when it passes.
fn lacks<'a>(policy: &'a PolicyReport, rule: &RuleSummary) -> &'a [String] {
    policy
        .failures
        .iter()
        .find(|f| f.path == rule.path && f.title == rule.title)
        .map_or(&[][..], |f| f.lacks.as_slice())
}

fn scenarios(scenarios: &[ScenarioCoverage]) -> Value {
    scenarios
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "title": s.title,
                "falsepositive": s.falsepositive,
                "status": s.status,
                "cases": s.cases,
            })
        })
        .collect()
}

fn rule(rule: &RuleCoverage, policy: &PolicyReport) -> Value {
    let detection = rule.detection();
    let lacks = lacks(policy, &rule.rule);
    json!({
        "path": rule.rule.path.display().to_string(),
        "title": rule.rule.title,
        "id": rule.rule.id,
        "status": rule.rule.status,
        "level": rule.rule.level,
        "test_file": rule.test_file.as_ref().map(|p| p.display().to_string()),
        "expected_test_file": rule.expected_test_file.as_ref().map(|p| p.display().to_string()),
        "complete": rule.is_complete(),
        "errors": rule.errors,
        "cases": cases(&rule.cases),
        "generic_falsepositives": rule.generic_falsepositives,
        "scenario_counts": scenario_counts(rule.scenario_counts()),
        "scenarios": scenarios(&rule.scenarios),
        "detection": {
            "searches": counter(detection.searches),
            "items": counter(detection.items),
            "values": counter(detection.values),
            "meta_filters": counter(detection.meta_filters),
        },
        "searches": rule.searches.iter().map(search).collect::<Vec<_>>(),
        "meta_filters": rule.meta_filters,
        "gaps": rule.gaps(),
        "policy": {
            "passed": lacks.is_empty(),
            "lacks": lacks,
        },
    })
}

fn failure(failure: &RuleFailure) -> Value {
    json!({
        "path": failure.path.display().to_string(),
        "title": failure.title,
        "status": failure.status,
        "level": failure.level,
        "lacks": failure.lacks,
    })
}
