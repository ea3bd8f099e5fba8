//! Coverage and the coverage policy on a purpose-built repository (`tests/coverage/`): every
//! coverage kind, checked against `tests/coverage/expected.yml` by one `check` helper.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ruleproof_cases::coverage::{CoverageReport, coverage, is_generic_falsepositive};
use ruleproof_cases::policy::{Percent, Policy, PolicyError, PolicyReport};
use ruleproof_cases::{Layout, RuleSet};
use ruleproof_sigma::CompileOptions;
use serde_json::{Map, Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/coverage")
}

/// The fixture repository's coverage and policy verdict, computed once per test process.
fn computed() -> &'static (CoverageReport, PolicyReport) {
    static COMPUTED: OnceLock<(CoverageReport, PolicyReport)> = OnceLock::new();
    COMPUTED.get_or_init(|| {
        let layout = Layout::at(&repo());
        let rules = RuleSet::load(&layout.rules_dir, &CompileOptions::default());
        let run = ruleproof_cases::run(
            &layout,
            &rules,
            std::slice::from_ref(&layout.cases_dir),
            None,
        );
        let report = coverage(&layout, &rules, &run);
        let policy = match Policy::load(&layout.root) {
            Ok(policy) => policy,
            Err(e) => panic!("the fixture's ruleproof.yml does not load: {e}"),
        };
        let verdict = policy.check(&report);
        (report, verdict)
    })
}

fn expected() -> &'static Value {
    static EXPECTED: OnceLock<Value> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let path = repo().join("expected.yml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
    })
}

/// A compact view of what was measured, in the shape of `expected.yml`.
fn summary(report: &CoverageReport, policy: &PolicyReport) -> Value {
    let counter =
        |c: ruleproof_cases::coverage::Counter| json!(format!("{}/{}", c.covered, c.total));
    let mut rules = Map::new();
    for rule in &report.rules {
        let detection = rule.detection();
        let mut covered = Map::new();
        for search in &rule.searches {
            covered.insert(search.name.clone(), json!(search.covered_by));
            for item in &search.items {
                let item_key = if search.alternatives > 1 {
                    format!("{} › {} › {}", search.name, item.alternative, item.key)
                } else {
                    format!("{} › {}", search.name, item.key)
                };
                covered.insert(item_key.clone(), json!(item.covered_by));
                for value in &item.values {
                    covered.insert(
                        format!("{item_key} › {}", value.display),
                        json!(value.covered_by),
                    );
                }
            }
        }
        let lacks = policy
            .failures
            .iter()
            .find(|f| f.path == rule.rule.path)
            .map_or_else(Vec::new, |f| f.lacks.clone());
        rules.insert(
            rule.rule.path.display().to_string(),
            json!({
                "test_file": rule.test_file.as_ref().map(|p| p.display().to_string()),
                "cases": rule.cases,
                "scenarios": rule.scenarios.iter()
                    .map(|s| (s.label(), json!(s.status.as_str())))
                    .collect::<Map<_, _>>(),
                "roles": rule.searches.iter()
                    .map(|s| (s.name.clone(), json!(s.role.as_str())))
                    .collect::<Map<_, _>>(),
                "covered_by": covered,
                "meta_filters": rule.meta_filters.iter()
                    .map(|f| (f.reference.clone(), json!(f.covered_by)))
                    .collect::<Map<_, _>>(),
                "detection": {
                    "searches": counter(detection.searches),
                    "items": counter(detection.items),
                    "values": counter(detection.values),
                    "meta_filters": counter(detection.meta_filters),
                },
                "gaps": rule.gaps().iter().map(|g| g.description.clone()).collect::<Vec<_>>(),
                "policy": lacks,
            }),
        );
    }
    let correlations: Map<String, Value> = report
        .correlations
        .iter()
        .map(|c| {
            (
                c.correlation.path.display().to_string(),
                json!({
                    "test_file": c.test_file.as_ref().map(|p| p.display().to_string()),
                    "sequences": c.sequences,
                    "failing": c.failing,
                    "cases": c.cases,
                    "scenarios": c.scenarios.iter()
                        .map(|s| (s.label(), json!(s.status.as_str())))
                        .collect::<Map<_, _>>(),
                    "threshold": c.threshold,
                    "met_exactly": c.met_exactly,
                    "missed_by_one": c.missed_by_one,
                    "base_rules": c.base_rules.iter().map(|(r, cases)| (r.clone(), json!(cases))).collect::<Map<_, _>>(),
                    "conditions": counter(c.conditions()),
                    "gaps": c.gaps(),
                    "policy": policy
                        .failures
                        .iter()
                        .find(|f| f.path == c.correlation.path)
                        .map_or_else(Vec::new, |f| f.lacks.clone()),
                }),
            )
        })
        .collect();
    json!({
        "rules": rules,
        "correlations": correlations,
        "totals": report.totals(),
        "policy_passed": policy.passed(),
        "errors": report.errors,
    })
}

/// Compares `actual` with `expected`: every key the expectation names must be there with the
/// same value (objects recursively, lists and scalars exactly); keys it leaves out are not checked.
fn compare(actual: &Value, expected: &Value, at: &str, problems: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            for (key, want) in expected {
                match actual.get(key) {
                    Some(got) => compare(got, want, &format!("{at}.{key}"), problems),
                    None => problems.push(format!("{at}: no key `{key}`")),
                }
            }
        }
        _ if actual == expected => {}
        _ => problems.push(format!(
            "{at}:\n  expected: {expected}\n  actual:   {actual}"
        )),
    }
}

/// Checks one section of `expected.yml` (a rule path under `rules`, or a top-level key).
fn check(section: &[&str]) {
    let (report, policy) = computed();
    let actual_all = summary(report, policy);
    let mut actual = &actual_all;
    let mut expected = expected();
    for key in section {
        expected = expected
            .get(key)
            .unwrap_or_else(|| panic!("expected.yml has no `{}`", section.join(".")));
        actual = actual
            .get(key)
            .unwrap_or_else(|| panic!("the report has no `{}`", section.join(".")));
    }
    let mut problems = Vec::new();
    compare(actual, expected, &section.join("."), &mut problems);
    assert!(
        problems.is_empty(),
        "coverage differs from expected.yml:\n{}\n\nthe whole measured section:\n{:#}",
        problems.join("\n"),
        actual
    );
}

#[test]
fn a_fully_covered_rule_with_a_meta_filter() {
    check(&["rules", "rules/complete.yml"]);
}

#[test]
fn an_uncovered_value() {
    check(&["rules", "rules/uncovered_value.yml"]);
}

#[test]
fn covered_failing_and_uncovered_scenarios() {
    check(&["rules", "rules/scenarios.yml"]);
}

#[test]
fn an_unexercised_filter_and_an_uncovered_meta_filter() {
    check(&["rules", "rules/unexercised_filter.yml"]);
}

#[test]
fn a_rule_without_a_test_case_file() {
    check(&["rules", "rules/untested.yml"]);
}

#[test]
fn a_correlation_rule_with_a_scenario_meets_its_threshold_but_is_never_missed_by_one() {
    check(&["correlations", "rules/correlation.yml"]);
}

#[test]
fn totals_over_the_repository() {
    check(&["totals"]);
    check(&["policy_passed"]);
    check(&["errors"]);
}

#[test]
fn every_rule_is_reported_once_in_path_order() {
    let (report, _) = computed();
    let paths: Vec<String> = report
        .rules
        .iter()
        .map(|r| r.rule.path.display().to_string())
        .collect();
    let expected: Vec<String> = expected()["rules"]
        .as_object()
        .map(|rules| rules.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(paths, expected);
}

#[test]
fn generic_falsepositives_need_no_scenario() {
    for generic in [
        "Unknown",
        "unknown.",
        "Unlikely",
        " None ",
        "None known",
        "Other",
        "N/A",
        "n/a.",
        // `cases new` and coverage once disagreed on these two (issue 15, defect 4).
        "Very unlikely",
        "NA",
    ] {
        assert!(is_generic_falsepositive(generic), "`{generic}` is generic");
    }
    for specific in [
        "Unknown administrators",
        "Legitimate backups",
        "Nonexistent",
        "",
    ] {
        assert!(
            !is_generic_falsepositive(specific),
            "`{specific}` is not generic"
        );
    }
}

fn parse(text: &str) -> Result<Policy, PolicyError> {
    Policy::parse(text, Path::new("ruleproof.yml"))
}

#[test]
fn status_and_level_requirements_combine_strictest_first() {
    let policy = parse(
        "coverage:\n  default: {min_positive: 1, min_negative: 0}\n  status:\n    experimental: {value_coverage: 50, min_negative: 2}\n  level:\n    critical: {value_coverage: 100, min_negative: 1}\n",
    )
    .unwrap();
    let both = policy.requirements_for(Some("experimental"), Some("critical"));
    assert_eq!(both.value_coverage, Percent::new(100));
    assert_eq!(both.min_negative, Some(2));
    assert_eq!(both.min_positive, Some(1));
    let status_only = policy.requirements_for(Some("experimental"), Some("low"));
    assert_eq!(status_only.value_coverage, Percent::new(50));
    let neither = policy.requirements_for(None, None);
    assert_eq!(neither.value_coverage, None);
    assert_eq!(neither.min_negative, Some(0));
}

#[test]
fn configuration_errors_point_at_the_key() {
    let cases = [
        (
            "coverage:\n  default:\n    value_coverag: 100\n",
            "ruleproof.yml:3:5: unknown field `value_coverag`",
        ),
        (
            "coverage:\n  status:\n    stabel: {}\n",
            "ruleproof.yml:3:5: unknown field `stabel`",
        ),
        (
            "coverage:\n  default:\n    value_coverage: 101\n",
            "ruleproof.yml:3:21: a percentage is 0 to 100, not 101",
        ),
        (
            "covrage: {}\n",
            "ruleproof.yml:1:1: unknown field `covrage`",
        ),
    ];
    for (text, wanted) in cases {
        match parse(text) {
            Ok(policy) => panic!("{text:?} parsed as {policy:?}"),
            Err(e) => assert!(
                e.to_string().starts_with(wanted),
                "{text:?}: got `{e}`, wanted it to start with `{wanted}`"
            ),
        }
    }
}

#[test]
fn missing_or_silent_configuration_means_the_builtin_policy() {
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(Policy::load(empty.path()).unwrap(), Policy::builtin());
    assert_eq!(parse("").unwrap(), Policy::builtin());
    // Lint settings belong to the linter: the coverage policy skips them.
    assert_eq!(parse("lints:\n  any: thing\n").unwrap(), Policy::builtin());
    let stable = Policy::builtin().requirements_for(Some("stable"), Some("high"));
    assert_eq!(stable.min_positive, Some(1));
    assert_eq!(stable.min_negative, Some(1));
    assert_eq!(stable.scenario_coverage, Percent::new(100));
}
