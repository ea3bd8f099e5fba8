//! One directory per mutation operator under `tests/operators/<operator>/`: a small repository
//! (`rules/`, `test-cases/`) and `expected.yml`, the hand-written list of that operator's mutants
//! of the rule with what becomes of each (`killed` and by which case, `survived`, `equivalent`)
//! and where (`line:col` in the rule or filter file). Mutants of other operators are not checked
//! here.

use std::path::Path;

use ruleproof_cases::{Layout, RuleSet};
use ruleproof_mutate::{Operator, mutate};
use ruleproof_sigma::CompileOptions;

/// One expected mutant.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    status: String,
    at: String,
    description: String,
    #[serde(default)]
    killed_by: Option<String>,
}

fn line(status: &str, at: &str, description: &str, killed_by: Option<&str>) -> String {
    match killed_by {
        Some(case) => format!("{status} at {at}: {description} (by {case:?})"),
        None => format!("{status} at {at}: {description}"),
    }
}

/// The one check: the operator's mutants, in generation order, equal the expected list.
fn check(expected_path: &Path) -> datatest_stable::Result<()> {
    let dir = expected_path
        .parent()
        .ok_or("expected.yml has a directory")?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the directory is named after an operator")?;
    let operator =
        Operator::parse(name).ok_or_else(|| format!("`{name}` is not an operator name"))?;
    let text = std::fs::read_to_string(expected_path)?;
    let expected: Vec<Expected> =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", expected_path.display()))?;
    if expected.is_empty() {
        return Err("the expected list is empty: an operator test must expect mutants".into());
    }

    let layout = Layout::at(dir);
    let options = CompileOptions::default();
    let rules = RuleSet::load(&layout.rules_dir, &options);
    let report = mutate(
        &layout,
        &rules,
        std::slice::from_ref(&layout.cases_dir),
        &options,
    );
    if !report.errors.is_empty() {
        return Err(format!("the fixture does not load:\n{}", report.errors.join("\n")).into());
    }
    let [rule] = report.rules.as_slice() else {
        return Err(format!("expected one rule, found {}", report.rules.len()).into());
    };
    // Cases must pass on the rule as written: a mutant is judged against correct fixtures.
    let run = ruleproof_cases::run(
        &layout,
        &rules,
        std::slice::from_ref(&layout.cases_dir),
        None,
    );
    if !run.is_success() {
        return Err("the fixture's cases do not pass on the rule as written".into());
    }
    let actual: Vec<String> = rule
        .mutants
        .iter()
        .filter(|m| m.operator == operator)
        .map(|m| {
            line(
                m.status.as_str(),
                &format!("{}:{}", m.line, m.col),
                &m.description,
                m.killed_by.as_deref(),
            )
        })
        .collect();
    let wanted: Vec<String> = expected
        .iter()
        .map(|e| line(&e.status, &e.at, &e.description, e.killed_by.as_deref()))
        .collect();
    if actual == wanted {
        Ok(())
    } else {
        Err(format!(
            "{name}: the mutants differ\nexpected:\n  {}\nactual:\n  {}",
            wanted.join("\n  "),
            actual.join("\n  ")
        )
        .into())
    }
}

datatest_stable::harness! {
    { test = check, root = "tests/operators", pattern = r"expected\.yml$" },
}
