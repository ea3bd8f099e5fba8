//! The `lints:` section of `ruleproof.yml`: re-grading, disabling, exclusions by rule id and by
//! path glob, and errors that point at the offending line and column. The repository under
//! `tests/config/repo/` has two rules with `all of them` (RP107, a warning by default), one with
//! an unused filter (RP106), and a test-case file for each rule so RP403 stays quiet.

use std::path::{Path, PathBuf};

use ruleproof_sigma::SourceFile;
use ruleproof_validate::{ConfigError, Layout, LintConfig, Severity, validate};

/// The ids of the fixture's rules, as their files say.
const WINDOWS_ALL_OF_THEM: &str = "6a1e7c55-3f0b-4b9e-9d43-2c1f0e8a5b01";

/// The fixture repository, relative to the crate directory that cargo runs tests in.
fn repo() -> PathBuf {
    PathBuf::from("tests/config/repo")
}

fn layout(root: &Path) -> Layout {
    Layout {
        root: root.to_path_buf(),
        rules_dir: root.join("rules"),
        cases_dir: root.join("test-cases"),
    }
}

/// Parses a configuration written inline, as if it were the repository's `ruleproof.yml`.
fn config(text: &str) -> Result<LintConfig, ConfigError> {
    LintConfig::from_source(&SourceFile::new("ruleproof.yml", text))
}

fn parsed(text: &str) -> LintConfig {
    config(text).unwrap_or_else(|e| panic!("the configuration should load: {e}"))
}

/// Validates the repository rooted at `root` and lists each diagnostic as
/// `path:line:col severity CODE`, with paths relative to the root.
fn findings_at(root: &Path, config: &LintConfig) -> Vec<String> {
    let layout = layout(root);
    let validation = validate(
        &[layout.rules_dir.clone(), layout.cases_dir.clone()],
        &layout,
        config,
        &ruleproof_sigma::CompileOptions::default(),
    );
    validation
        .diagnostics
        .iter()
        .map(|d| {
            // Both sides are made absolute (which drops `.` components) so any spelling of
            // the root yields the same relative paths.
            let path = std::path::absolute(d.file.path()).expect("an absolute path");
            let root = std::path::absolute(root).expect("an absolute root");
            let path = path.strip_prefix(&root).unwrap_or(&path);
            format!(
                "{}:{} {} {}",
                path.display(),
                d.line_col(),
                d.severity,
                d.lint.code
            )
        })
        .collect()
}

fn findings(config: &LintConfig) -> Vec<String> {
    findings_at(&repo(), config)
}

const LINUX_RP107: &str = "rules/linux/curl.yml:15:16";
const WINDOWS_RP107: &str = "rules/windows/certutil.yml:15:16";
const WINDOWS_RP106: &str = "rules/windows/certutil_filtered.yml:15:5";

#[test]
fn defaults_apply_every_lint_at_its_default_severity() {
    assert_eq!(
        findings(&LintConfig::default()),
        [
            format!("{LINUX_RP107} warning RP107"),
            format!("{WINDOWS_RP107} warning RP107"),
            format!("{WINDOWS_RP106} warning RP106"),
        ]
    );
}

#[test]
fn severity_regrades_a_lint_by_code_or_by_name() {
    let config =
        parsed("lints:\n    severity:\n        RP107: error\n        unused-identifier: info\n");
    assert_eq!(
        config.severity(&ruleproof_validate::lints::all_of_them::LINT),
        Severity::Error
    );
    assert_eq!(
        findings(&config),
        [
            format!("{LINUX_RP107} error RP107"),
            format!("{WINDOWS_RP107} error RP107"),
            format!("{WINDOWS_RP106} info RP106"),
        ]
    );
}

/// `off` is a boolean in YAML 1.1, which the reader follows; written bare or quoted, it must
/// still disable the lint.
#[test]
fn off_disables_a_lint_written_bare_or_quoted() {
    for text in [
        "lints:\n    severity:\n        RP107: off\n",
        "lints:\n    severity:\n        all-of-them: 'off'\n",
    ] {
        assert_eq!(
            findings(&parsed(text)),
            [format!("{WINDOWS_RP106} warning RP106")],
            "with {text:?}"
        );
    }
}

#[test]
fn a_rule_id_exclusion_silences_the_lint_for_that_rule_only() {
    let config = parsed(&format!(
        "lints:\n    exclude:\n        RP107:\n            - {WINDOWS_ALL_OF_THEM}\n"
    ));
    assert_eq!(
        findings(&config),
        [
            format!("{LINUX_RP107} warning RP107"),
            format!("{WINDOWS_RP106} warning RP106"),
        ]
    );
}

#[test]
fn an_exclusion_applies_to_its_lint_only() {
    let config = parsed("lints:\n    exclude:\n        RP106:\n            - rules/linux/**\n");
    assert_eq!(findings(&config), findings(&LintConfig::default()));
}

/// The repository's own `ruleproof.yml` re-grades RP106 to an error and excludes `rules/windows/**`
/// from RP107. The glob is relative to the repository root, whichever way the root is spelt.
#[test]
fn a_path_glob_exclusion_is_relative_to_the_repository_root() {
    let expected = [
        format!("{LINUX_RP107} warning RP107"),
        format!("{WINDOWS_RP106} error RP106"),
    ];
    let absolute = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/repo");
    for root in [repo(), PathBuf::from("./tests/config/repo/."), absolute] {
        let config = LintConfig::load(&root)
            .unwrap_or_else(|e| panic!("{}: ruleproof.yml should load: {e}", root.display()));
        assert_eq!(
            findings_at(&root, &config),
            expected,
            "with the root {}",
            root.display()
        );
    }
}

#[test]
fn a_repository_without_ruleproof_yml_gets_the_defaults() {
    let root = Path::new("tests/config/repo/rules");
    let config = LintConfig::load(root).expect("a missing ruleproof.yml is not an error");
    assert_eq!(
        config.severity(&ruleproof_validate::lints::all_of_them::LINT),
        Severity::Warning
    );
}

/// Keys of other commands (`coverage:`) and a file without `lints:` leave the lints alone.
#[test]
fn other_top_level_keys_are_left_to_other_commands() {
    let config = parsed("coverage:\n    default:\n        min_positive: 1\n");
    assert_eq!(findings(&config), findings(&LintConfig::default()));
}

/// Asserts that a configuration is rejected at `line:col` with a message mentioning `needle`.
fn assert_rejected(text: &str, line_col: &str, needle: &str) {
    let error = match config(text) {
        Ok(_) => panic!("{text:?} should be rejected"),
        Err(error) => error,
    };
    assert_eq!(
        error.location,
        format!("ruleproof.yml:{line_col}"),
        "where {text:?} is rejected ({})",
        error.message
    );
    assert!(
        error.message.contains(needle),
        "the message `{}` should mention `{needle}`",
        error.message
    );
    assert_eq!(
        error.to_string(),
        format!("ruleproof.yml:{line_col}: {}", error.message)
    );
}

#[test]
fn an_unknown_lint_code_is_an_error_at_its_position() {
    assert_rejected(
        "lints:\n    severity:\n        RP107: error\n        RP999: error\n",
        "4:9",
        "`RP999` is not a lint code or name",
    );
    assert_rejected(
        "lints:\n    exclude:\n        all-of-then:\n            - rules/**\n",
        "3:9",
        "`all-of-then` is not a lint code or name",
    );
}

#[test]
fn an_error_lint_cannot_be_lowered_or_excluded() {
    // What it reports loads in no command, and those read no configuration: `validate` must
    // not pass a document `match` refuses.
    assert_rejected(
        "lints:\n    severity:\n        RP113: warning\n",
        "3:16",
        "`RP113` (placeholder) cannot be lowered or excluded",
    );
    assert_rejected(
        "lints:\n    severity:\n        unknown-rule-reference: off\n",
        "3:33",
        "`RP304` (unknown-rule-reference) cannot be lowered or excluded",
    );
    assert_rejected(
        "lints:\n    exclude:\n        RP301:\n            - rules/**\n",
        "3:9",
        "`RP301` (duplicate-id) cannot be lowered or excluded",
    );
    assert_eq!(
        parsed("lints:\n    severity:\n        RP113: error\n")
            .severity(&ruleproof_validate::lints::placeholder::LINT),
        ruleproof_validate::Severity::Error
    );
}

#[test]
fn an_unknown_key_is_an_error_at_its_position() {
    assert_rejected(
        "lints:\n    severity:\n        RP107: error\n    severities:\n        RP106: error\n",
        "4:5",
        "unknown key `severities`",
    );
}

#[test]
fn malformed_values_are_errors_at_their_position() {
    assert_rejected(
        "lints:\n    severity:\n        RP107: fatal\n",
        "3:16",
        "a severity is one of error, warning, info, off",
    );
    // `on` is YAML 1.1's true; it is not a severity, so it must not be read as one.
    assert_rejected(
        "lints:\n    severity:\n        RP107: on\n",
        "3:16",
        "a severity is one of",
    );
    assert_rejected("lints: [RP107]\n", "1:8", "`lints` must be a mapping");
    assert_rejected(
        "lints:\n    severity: [RP107]\n",
        "2:15",
        "`lints.severity` must map lint codes to severities",
    );
    assert_rejected(
        "lints:\n    exclude:\n        RP107: rules/**\n",
        "3:16",
        "exclusions are a list",
    );
    assert_rejected(
        "lints:\n    exclude:\n        RP107:\n            - rules/[windows\n",
        "4:15",
        "bad path glob",
    );
}

#[test]
fn a_yaml_error_in_the_configuration_is_reported_with_its_position() {
    let error = config("lints:\n    severity: {RP107: error\n").err();
    let error = error.expect("a broken flow mapping should be rejected");
    assert!(
        error.location.starts_with("ruleproof.yml:"),
        "the location `{}` names the file",
        error.location
    );
}
