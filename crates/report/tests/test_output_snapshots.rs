//! Snapshots of `ruleproof test` output in every format, over a purpose-built repository whose
//! cases pass, fail, fail as expected, pass unexpectedly, disagree with their KQL, and reference
//! things that do not exist. `UPDATE_EXPECT=1 cargo test -p ruleproof-report` (or
//! `cargo xtask bless`) rewrites the snapshots.

mod support;

use support::check_snapshot;

use std::path::PathBuf;

use ruleproof_cases::{Layout, RuleSet, RunReport, run};
use ruleproof_report::test_output;
use ruleproof_sigma::CompileOptions;

fn report() -> RunReport {
    // Paths are relative to the crate directory (cargo's working directory for tests), so the
    // rendered paths are stable wherever the repository is checked out.
    let root = PathBuf::from("tests/runner/repo");
    let layout = Layout::at(&root);
    let rules = RuleSet::load(&layout.rules_dir, &CompileOptions::default());
    let kql = ruleproof_kql_parity::SiblingKql::new();
    run(
        &layout,
        &rules,
        std::slice::from_ref(&layout.cases_dir),
        Some(&kql),
    )
}

#[test]
fn human() {
    check_snapshot("test", "human.txt", &test_output::human(&report()));
}

#[test]
fn json() {
    check_snapshot(
        "test",
        "report.json",
        &format!("{:#}\n", test_output::json(&report())),
    );
}

#[test]
fn junit() {
    check_snapshot("test", "junit.xml", &test_output::junit(&report()));
}

#[test]
fn github() {
    check_snapshot("test", "github.txt", &test_output::github(&report()));
}

#[test]
fn totals_count_every_kind_of_outcome() {
    // Exact figures: the purpose-built repository's outcomes are known, case by case.
    let totals = report().totals();
    let figures = [
        ("files", totals.files, 5),
        ("cases", totals.cases, 15),
        ("passed", totals.passed, 8),
        ("failed", totals.failed, 6),
        ("expected_failures", totals.expected_failures, 1),
        ("kql_checks", totals.kql_checks, 15),
        ("kql_failed", totals.kql_failed, 3),
        ("errors", totals.errors, 9),
        ("untested_rules", totals.untested_rules, 1),
    ];
    for (name, actual, expected) in figures {
        assert_eq!(actual, expected, "{name} in {totals:?}");
    }
}
