//! Snapshots of `ruleproof test` output in every format, over a purpose-built repository whose
//! cases pass, fail, fail as expected, pass unexpectedly, disagree with their KQL, and reference
//! things that do not exist. `RULEPROOF_BLESS=1 cargo test -p ruleproof-report` (or
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
    let kql = ruleproof_kql::parity::SiblingKql::new();
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
    let totals = report().totals();
    assert_eq!(totals.files, 4, "{totals:?}");
    assert!(totals.failed >= 3, "{totals:?}");
    assert_eq!(totals.expected_failures, 1, "{totals:?}");
    assert!(totals.kql_failed >= 1, "{totals:?}");
    assert!(totals.errors >= 8, "{totals:?}");
    assert_eq!(totals.untested_rules, 1, "{totals:?}");
}
