//! Per kind of change, a repository at its base (`tests/changes/<name>/base/`) and in the
//! working tree (`new/`), committed and changed in a temporary git repository; the check
//! compares the classification of every changed rule, its proof and its witnesses with
//! `expected.txt` (`UPDATE_EXPECT=1` rewrites it; review the diff).

use std::fmt::Write;
use std::path::Path;

use ruleproof_cases::Layout;
use ruleproof_diff::{DiffOptions, diff};
use ruleproof_pipeline::Pipelines;
use ruleproof_sigma::CompileOptions;
use ruleproof_testkit::{assert_snapshot, git_change};

fn check(expected: &Path) -> datatest_stable::Result<()> {
    let case = expected.parent().ok_or("no case directory")?;
    let repository = git_change(&case.join("base"), &case.join("new"));
    let layout = Layout::at(repository.path());
    let report = diff(
        &layout,
        &DiffOptions {
            base: "HEAD",
            paths: Vec::new(),
            events: &[],
            check: None,
            compile: CompileOptions::default(),
            pipelines: &Pipelines::default(),
        },
    )?;
    let mut out = String::new();
    for rule in &report.rules {
        writeln!(
            out,
            "{}: {} (proof: {})",
            rule.path.display(),
            rule.change.as_str(),
            rule.proof.as_str()
        )?;
        if let Some(from) = &rule.renamed_from {
            writeln!(out, "  renamed from {}", from.display())?;
        }
        if !rule.metadata.is_empty() {
            writeln!(out, "  metadata: {}", rule.metadata.join(", "))?;
        }
        for w in &rule.witnesses {
            writeln!(
                out,
                "  witness old={} new={} ({}): {}",
                w.old, w.new, w.source, w.event
            )?;
        }
    }
    for filter in &report.filters {
        writeln!(
            out,
            "meta-filter {}: {}",
            filter.path.display(),
            filter.change.as_str()
        )?;
        for effect in &filter.rules {
            writeln!(
                out,
                "  {} {}",
                effect.change.as_str(),
                effect.path.display()
            )?;
        }
    }
    for correlation in &report.correlations {
        writeln!(
            out,
            "correlation {}: {}",
            correlation.path.display(),
            correlation.change.as_str()
        )?;
    }
    for error in report.errors.iter().chain(&report.base_errors) {
        writeln!(out, "error: {error}")?;
    }
    assert_snapshot(&std::fs::canonicalize(expected)?, &out);
    Ok(())
}

datatest_stable::harness! {
    { test = check, root = "tests/changes", pattern = r"expected\.txt$" },
}
