//! Every test-case file under the repository's `test-cases/` is one test: its cases must all pass.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ruleproof_cases::{Layout, RuleSet, run_file};
use ruleproof_sigma::CompileOptions;

fn layout() -> Layout {
    Layout::at(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The repository's rules, loaded once for all test-case files of this process.
fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::load(&layout().rules_dir, &CompileOptions::default()))
}

fn check_test_case_file(path: &Path) -> datatest_stable::Result<()> {
    let layout = layout();
    let rules = rules();
    if !rules.diagnostics.is_empty() {
        let messages: Vec<String> = rules.diagnostics.iter().map(ToString::to_string).collect();
        return Err(format!(
            "the repository's rules do not load:\n{}",
            messages.join("\n")
        )
        .into());
    }
    let kql = ruleproof_kql_parity::SiblingKql::new();
    let result = run_file(&layout, rules, &PathBuf::from(path), Some(&kql));
    let failures = ruleproof_report::test_output::human_failures(&result);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.into())
    }
}

datatest_stable::harness! {
    { test = check_test_case_file, root = "../../test-cases", pattern = r"\.ya?ml$" },
}
