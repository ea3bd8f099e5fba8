//! Snapshots of `ruleproof validate` output in every format (human, JSON, SARIF, GitHub) over a
//! purpose-built repository in `tests/snapshots/validate/repo/` with findings of every severity:
//! a YAML syntax error, an unknown modifier (also a schema error), a suspicious escape, an unused
//! filter, a duplicate non-ASCII value, an `all of them` re-graded to info by the repository's
//! `ruleproof.yml`, a `modified` date before `date`, a rule without test cases and dangling
//! test-case references.
//! `UPDATE_EXPECT=1 cargo test -p ruleproof-report` rewrites the snapshots.

mod support;

use support::check_snapshot;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use ruleproof_report::validate_output;
use ruleproof_validate::{Layout, LintConfig, Severity, Validation, validate};
use serde_json::Value;

/// The repository's validation, computed once per test process. Paths are relative to the
/// crate directory (cargo's working directory for tests), so rendered paths are the same
/// wherever the repository is checked out.
fn validation() -> &'static Validation {
    static VALIDATION: OnceLock<Validation> = OnceLock::new();
    VALIDATION.get_or_init(|| {
        let root = PathBuf::from("tests/snapshots/validate/repo");
        let layout = Layout {
            root: root.clone(),
            rules_dir: root.join("rules"),
            cases_dir: root.join("test-cases"),
        };
        let config = LintConfig::load(&root)
            .unwrap_or_else(|e| panic!("the repository's ruleproof.yml should load: {e}"));
        validate(
            &[layout.rules_dir.clone(), layout.cases_dir.clone()],
            &layout,
            &config,
            &ruleproof_sigma::CompileOptions::default(),
        )
    })
}

#[test]
fn human() {
    check_snapshot(
        "validate",
        "human.txt",
        &validate_output::human(validation()),
    );
}

#[test]
fn json() {
    let value = validate_output::json(validation());
    assert_eq!(value["format"], validate_output::JSON_FORMAT);
    check_snapshot("validate", "report.json", &format!("{value:#}\n"));
}

#[test]
fn sarif() {
    check_snapshot(
        "validate",
        "report.sarif",
        &format!("{:#}\n", validate_output::sarif(validation())),
    );
}

#[test]
fn github() {
    check_snapshot(
        "validate",
        "github.txt",
        &validate_output::github(validation()),
    );
}

/// The fixture exercises what the snapshots are meant to pin: every severity, findings in
/// rules and in test-case files, and a file that does not parse next to files that do.
#[test]
fn the_repository_has_findings_of_every_kind() {
    let validation = validation();
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        assert!(
            validation.count(severity) > 0,
            "the repository should have {severity} findings"
        );
    }
    let codes: HashSet<&str> = validation.diagnostics.iter().map(|d| d.lint.code).collect();
    for code in [
        "RP001", "RP101", "RP106", "RP107", "RP110", "RP111", "RP402", "RP403",
    ] {
        assert!(codes.contains(code), "the repository should show {code}");
    }
}

/// Paths in every format are relative, with forward slashes, so snapshots and code-scanning
/// uploads do not depend on where the repository is checked out.
#[test]
fn paths_are_relative() {
    let json = validate_output::json(validation());
    let diagnostics = json["diagnostics"].as_array().expect("a diagnostics array");
    assert!(!diagnostics.is_empty());
    for d in diagnostics {
        let file = d["file"].as_str().expect("a file");
        assert!(
            file.starts_with("tests/snapshots/validate/repo/"),
            "`{file}` is not relative to the crate directory"
        );
    }
    let human = validate_output::human(validation());
    let cwd = std::env::current_dir().expect("a working directory");
    assert!(!human.contains(&*cwd.to_string_lossy()));
}

/// The JSON counts agree with its diagnostics, and every diagnostic's position is the one the
/// human and GitHub outputs print.
#[test]
fn formats_agree_on_positions_and_counts() {
    let validation = validation();
    let json = validate_output::json(validation);
    let diagnostics = json["diagnostics"].as_array().expect("a diagnostics array");
    let count = |severity: &str| {
        diagnostics
            .iter()
            .filter(|d| d["severity"] == severity)
            .count()
    };
    assert_eq!(json["errors"], count("error"));
    assert_eq!(json["warnings"], count("warning"));
    assert_eq!(json["files"], validation.files);
    assert_eq!(json["documents"], validation.documents);
    let human = validate_output::human(validation);
    let github = validate_output::github(validation);
    for d in diagnostics {
        let (file, line, column) = (&d["file"], &d["line"], &d["column"]);
        let file = file.as_str().expect("a file");
        let at = format!("--> {file}:{line}:{column}\n");
        assert!(
            human.contains(&at),
            "the human output lacks `{}`",
            at.trim()
        );
        let annotation = format!(
            "file={file},line={line},col={column},title={} ",
            d["code"].as_str().unwrap_or_default()
        );
        assert!(
            github.contains(&annotation),
            "the GitHub output lacks `{annotation}`"
        );
        assert!(
            d["end_line"].as_u64() >= d["line"].as_u64(),
            "a diagnostic ends before it starts: {d}"
        );
    }
}

fn positive(value: &Value, what: &str) -> u64 {
    let number = value
        .as_u64()
        .unwrap_or_else(|| panic!("{what} should be a number, not {value}"));
    assert!(number >= 1, "{what} is 1-based, not {number}");
    number
}

/// The SARIF log has the shape code-scanning services accept: version 2.1.0, one run whose
/// driver lists each lint once, results that point at their rule by index, and 1-based
/// regions.
#[test]
fn sarif_is_well_formed() {
    let sarif = validate_output::sarif(validation());
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        sarif["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("sarif-2.1.0")),
        "the log names the SARIF 2.1.0 schema"
    );
    let runs = sarif["runs"].as_array().expect("a runs array");
    assert_eq!(runs.len(), 1, "one run");
    let run = &runs[0];
    assert_eq!(run["tool"]["driver"]["name"], "ruleproof");
    let rules = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("a rules array");
    let mut ids = HashSet::new();
    for rule in rules {
        let id = rule["id"].as_str().expect("a rule id");
        assert!(ids.insert(id), "the rule id {id} appears twice");
        for field in ["shortDescription", "fullDescription", "help"] {
            assert!(
                rule[field]["text"]
                    .as_str()
                    .is_some_and(|t| !t.trim().is_empty()),
                "{id} has no {field}"
            );
        }
        assert!(
            ["error", "warning", "note"].contains(
                &rule["defaultConfiguration"]["level"]
                    .as_str()
                    .unwrap_or_default()
            ),
            "{id} has no valid default level"
        );
    }
    assert_eq!(ids.len(), ruleproof_validate::lints::ALL.len());
    let results = run["results"].as_array().expect("a results array");
    assert_eq!(results.len(), validation().diagnostics.len());
    for result in results {
        let rule_id = result["ruleId"].as_str().expect("a ruleId");
        let index = result["ruleIndex"]
            .as_u64()
            .unwrap_or_else(|| panic!("{rule_id}: ruleIndex should be a number"));
        let rule = usize::try_from(index)
            .ok()
            .and_then(|i| rules.get(i))
            .unwrap_or_else(|| panic!("{rule_id}: ruleIndex {index} is past the rules"));
        assert_eq!(
            rule["id"], rule_id,
            "ruleIndex {index} points at another rule"
        );
        assert!(
            ["error", "warning", "note"].contains(&result["level"].as_str().unwrap_or_default()),
            "{rule_id}: an invalid level"
        );
        assert!(
            result["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{rule_id}: an empty message"
        );
        let locations = result["locations"].as_array().expect("locations");
        assert_eq!(locations.len(), 1);
        let physical = &locations[0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().expect("a uri");
        assert!(
            !uri.starts_with('/') && !uri.contains('\\') && !uri.contains(':'),
            "`{uri}` is not a relative URI reference"
        );
        let region = &physical["region"];
        let start_line = positive(&region["startLine"], "startLine");
        let start_column = positive(&region["startColumn"], "startColumn");
        let end_line = positive(&region["endLine"], "endLine");
        let end_column = positive(&region["endColumn"], "endColumn");
        assert!(
            end_line >= start_line,
            "{rule_id}: the region ends before it starts"
        );
        if end_line == start_line {
            assert!(
                end_column > start_column,
                "{rule_id}: an empty or reversed region on line {start_line}"
            );
        }
    }
}
