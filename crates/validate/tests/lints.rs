//! Data-driven lint fixtures: every directory under `tests/lints/` is a small repository
//! (`rules/`, `test-cases/`, an optional `ruleproof.yml`) and an `expected.txt` listing exactly the
//! diagnostics validation must report, one `path:line:col CODE` a line, paths relative to the
//! fixture. `UPDATE_EXPECT=1 cargo test -p ruleproof-validate --test lints` rewrites the
//! `expected.txt` files from current output; review the diff before committing it. The same
//! tests check that every lint has a fixture and complete documentation, and keep the generated
//! reference in docs/lints.md in step with `lints::ALL`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ruleproof_validate::{Layout, LintConfig, Validation, lints, validate};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lints")
}

/// Every fixture directory, sorted so failures are reported in a stable order.
fn fixtures() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("tests/lints is readable")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Validates a fixture the way `ruleproof validate` validates a repository: its `rules/` and
/// `test-cases/` under the layout rooted at the fixture, with the fixture's `ruleproof.yml`.
fn run(root: &Path) -> Validation {
    let layout = Layout {
        root: root.to_path_buf(),
        rules_dir: root.join("rules"),
        cases_dir: root.join("test-cases"),
    };
    let config = LintConfig::load(root)
        .unwrap_or_else(|e| panic!("{}: the fixture's ruleproof.yml: {e}", root.display()));
    let paths: Vec<PathBuf> = [&layout.rules_dir, &layout.cases_dir]
        .into_iter()
        .filter(|p| p.exists())
        .cloned()
        .collect();
    validate(
        &paths,
        &layout,
        &config,
        &ruleproof_sigma::CompileOptions::default(),
    )
}

/// A diagnostic as `expected.txt` writes it, with a sort key that orders lines and columns
/// numerically.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    path: String,
    line: u32,
    col: u32,
    code: String,
}

impl Line {
    fn parse(text: &str, origin: &str) -> Line {
        let malformed = || panic!("{origin}: `{text}` is not `path:line:col CODE`");
        let Some((location, code)) = text.split_once(' ') else {
            malformed()
        };
        let mut parts = location.rsplitn(3, ':');
        let (Some(col), Some(line), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            malformed()
        };
        Line {
            path: path.to_owned(),
            line: line.parse().unwrap_or_else(|_| malformed()),
            col: col.parse().unwrap_or_else(|_| malformed()),
            code: code.trim().to_owned(),
        }
    }

    fn render(&self) -> String {
        format!("{}:{}:{} {}", self.path, self.line, self.col, self.code)
    }
}

fn actual_lines(root: &Path, validation: &Validation) -> Vec<Line> {
    let mut lines: Vec<Line> = validation
        .diagnostics
        .iter()
        .map(|d| {
            let at = d.line_col();
            let path = d.file.path().strip_prefix(root).unwrap_or(d.file.path());
            Line {
                path: path.to_string_lossy().replace('\\', "/"),
                line: at.line,
                col: at.col,
                code: d.lint.code.to_owned(),
            }
        })
        .collect();
    lines.sort();
    lines
}

/// Reads `expected.txt`: one diagnostic a line; blank lines and `#` comments explain the
/// fixture and are ignored.
fn expected_lines(path: &Path) -> Vec<Line> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with UPDATE_EXPECT=1 cargo test -p ruleproof-validate --test lints",
            path.display()
        )
    });
    let mut lines: Vec<Line> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| Line::parse(l, &path.display().to_string()))
        .collect();
    lines.sort();
    lines
}

/// Validates one fixture and compares its diagnostics with `expected.txt`. Returns a report of
/// the differences (a unified diff plus the full messages, which say why each lint fired), or
/// `None` when they agree. When blessing, the comments of an existing `expected.txt` are kept
/// at its top and the diagnostics rewritten below them.
fn check(root: &Path) -> Option<String> {
    let validation = run(root);
    let actual = actual_lines(root, &validation);
    let expected_path = root.join("expected.txt");
    if ruleproof_testkit::updating_snapshots() {
        let existing = std::fs::read_to_string(&expected_path).unwrap_or_default();
        let mut text: String = existing
            .lines()
            .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        for line in &actual {
            text.push_str(&line.render());
            text.push('\n');
        }
        ruleproof_testkit::assert_snapshot(&expected_path, &text);
        return None;
    }
    let expected = expected_lines(&expected_path);
    if expected == actual {
        return None;
    }
    let join =
        |lines: &[Line]| -> String { lines.iter().map(|l| format!("{}\n", l.render())).collect() };
    let (expected_text, actual_text) = (join(&expected), join(&actual));
    let name = root.file_name().unwrap_or_default().to_string_lossy();
    let mut report = similar::TextDiff::from_lines(&expected_text, &actual_text)
        .unified_diff()
        .header(&format!("{name}/expected.txt"), &format!("{name} (actual)"))
        .to_string();
    let _ = writeln!(report, "all diagnostics of {name}:");
    for d in &validation.diagnostics {
        let _ = writeln!(report, "  {d}");
    }
    Some(report)
}

#[test]
fn every_fixture_reports_exactly_its_expected_diagnostics() {
    let failures: Vec<String> = fixtures().iter().filter_map(|dir| check(dir)).collect();
    assert!(
        failures.is_empty(),
        "{} fixture(s) disagree with their expected.txt (UPDATE_EXPECT=1 rewrites them; review \
         the diff):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Each lint has a fixture named `<CODE>-<name>`, and every fixture is named after a lint, so a
/// new lint cannot ship untested and a renamed one leaves no orphan behind.
#[test]
fn every_lint_has_a_fixture() {
    let names: Vec<String> = fixtures()
        .iter()
        .map(|d| {
            d.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let missing: Vec<String> = lints::ALL
        .iter()
        .map(|l| format!("{}-{}", l.code, l.name))
        .filter(|dir| !names.contains(dir))
        .collect();
    assert!(missing.is_empty(), "lints without a fixture: {missing:?}");
    for name in &names {
        assert!(
            lints::ALL
                .iter()
                .any(|l| name.starts_with(&format!("{}-{}", l.code, l.name))),
            "fixture `{name}` is not named after a lint (`<CODE>-<name>[-more]`)"
        );
    }
}

/// Each lint's own fixture shows it firing, so an `expected.txt` that lost its lines by a
/// careless bless is caught.
#[test]
fn every_lint_fires_in_its_own_fixture() {
    for lint in lints::ALL {
        let root = fixtures_dir().join(format!("{}-{}", lint.code, lint.name));
        let expected = expected_lines(&root.join("expected.txt"));
        assert!(
            expected.iter().any(|l| l.code == lint.code),
            "{}: expected.txt never lists {}",
            root.display(),
            lint.code
        );
    }
}

/// The documentation of every lint is complete, since `--list-lints`, SARIF rule descriptors
/// and docs/lints.md are generated from it.
#[test]
fn every_lint_is_documented() {
    let mut codes: Vec<&str> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for lint in lints::ALL {
        for (field, text) in [
            ("what", lint.what),
            ("why", lint.why),
            ("example", lint.example),
        ] {
            assert!(
                !text.trim().is_empty(),
                "{} has an empty `{field}`",
                lint.code
            );
        }
        assert!(
            lint.code.len() == 5
                && lint.code.starts_with("RP")
                && lint.code[2..].bytes().all(|b| b.is_ascii_digit()),
            "`{}` is not of the form RPnnn",
            lint.code
        );
        assert!(
            !lint.name.is_empty()
                && lint
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-'),
            "`{}` is not a kebab-case name",
            lint.name
        );
        assert!(!codes.contains(&lint.code), "{} is used twice", lint.code);
        assert!(!names.contains(&lint.name), "{} is used twice", lint.name);
        codes.push(lint.code);
        names.push(lint.name);
    }
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(codes, sorted, "lints::ALL is in code order");
}

const DOC_BEGIN: &str = "<!-- generated:lints begin -->\n";
const DOC_END: &str = "<!-- generated:lints end -->\n";

/// The generated part of docs/lints.md: a table of every lint and each lint's What / Why /
/// Example, straight from `lints::ALL`.
fn lint_reference() -> String {
    let mut out = String::new();
    out.push_str(
        "<!-- Generated from `ruleproof_validate::lints::ALL` by the `docs_lints_md_is_up_to_date` \
         test in crates/validate/tests/lints.rs; edit the lints' docs, then regenerate with \
         UPDATE_EXPECT=1 cargo test -p ruleproof-validate --test lints. -->\n\n",
    );
    out.push_str("## Every lint\n\n");
    out.push_str("| Code | Name | Default severity |\n|------|------|------------------|\n");
    for lint in lints::ALL {
        let _ = writeln!(
            out,
            "| [{code}](#{anchor}) | `{name}` | {severity} |",
            code = lint.code,
            anchor = format!("{}-{}", lint.code, lint.name).to_lowercase(),
            name = lint.name,
            severity = lint.default_severity,
        );
    }
    for lint in lints::ALL {
        let _ = write!(
            out,
            "\n### {code} {name}\n\nDefault severity: **{severity}**.\n\n**What.** {what}\n\n\
             **Why.** {why}\n\n**Example.**\n\n```yaml\n{example}\n```\n",
            code = lint.code,
            name = lint.name,
            severity = lint.default_severity,
            what = lint.what,
            why = lint.why,
            example = lint.example,
        );
    }
    out
}

/// docs/lints.md documents every lint as `lints::ALL` does; the hand-written parts around the
/// generated block (configuration, the corpus's warnings) are left as they are.
#[test]
fn docs_lints_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lints.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let (Some(begin), Some(end)) = (text.find(DOC_BEGIN), text.find(DOC_END)) else {
        panic!(
            "{} lacks the `{}` and `{}` markers",
            path.display(),
            DOC_BEGIN.trim(),
            DOC_END.trim()
        );
    };
    let current = &text[begin + DOC_BEGIN.len()..end];
    let generated = lint_reference();
    if current == generated {
        return;
    }
    // The whole file is the snapshot: only the generated part differs, so the diff shows it.
    let updated = format!("{}{DOC_BEGIN}{generated}{}", &text[..begin], &text[end..]);
    ruleproof_testkit::assert_snapshot(&path, &updated);
}
