//! Test support shared by the test suites of every crate (a dev-dependency only): the one
//! snapshot mechanism, and where the corpus is.
//!
//! Snapshots are files compared exactly with fresh output through expect-test's
//! `expect_file!`; `UPDATE_EXPECT=1` (what `cargo xtask bless` sets) rewrites them instead.
//!
//! The corpus tests need the SigmaHQ corpus at `../shared/corpus/sigmahq` beside the
//! repository. A test that cannot run must not pass: when the corpus is missing,
//! [`sigmahq_corpus`] panics with what to do, unless the environment variable
//! `RULEPROOF_NO_CORPUS=1` says that the corpus is absent on purpose. CI always has it.

#![deny(missing_docs)]

use std::path::{Path, PathBuf};

/// Whether this run rewrites snapshots (`UPDATE_EXPECT` is set) instead of comparing them.
pub fn updating_snapshots() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some()
}

/// Compares `actual` with the snapshot file at `path` exactly, failing with a diff; when
/// [`updating_snapshots`], writes `actual` there instead (creating its directory).
///
/// # Panics
///
/// When the snapshot differs, or (when updating) cannot be written.
pub fn assert_snapshot(path: &Path, actual: &str) {
    if updating_snapshots()
        && let Some(dir) = path.parent()
    {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    expect_test::expect_file![path].assert_eq(actual);
}

/// The directories of SigmaHQ's active rules under the corpus root; `deprecated`,
/// `unsupported`, `rules-placeholder` and `rules-dfir` are left out on purpose.
pub const SIGMAHQ_ACTIVE_DIRS: [&str; 4] = [
    "rules",
    "rules-emerging-threats",
    "rules-threat-hunting",
    "rules-compliance",
];

/// Every `.yml` and `.yaml` file under `dir`, depth first with each directory's entries sorted
/// by name, so a corpus run (and the benchmarks' generated events) is the same on every machine.
///
/// # Panics
///
/// When `dir` or a directory below it cannot be read: a corpus test over a directory that is not
/// there would pass without checking anything.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect_yaml_files(dir, &mut files);
    files
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .path()
        })
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

/// Every YAML file of the [`SIGMAHQ_ACTIVE_DIRS`] under the corpus `root`, directory by
/// directory in that order ([`yaml_files`] within each).
///
/// # Panics
///
/// As [`yaml_files`].
pub fn sigmahq_active_files(root: &Path) -> Vec<PathBuf> {
    SIGMAHQ_ACTIVE_DIRS
        .iter()
        .flat_map(|dir| yaml_files(&root.join(dir)))
        .collect()
}

/// The environment variable that tells the corpus tests the corpus is absent on purpose.
pub const NO_CORPUS_VAR: &str = "RULEPROOF_NO_CORPUS";

/// The SigmaHQ corpus root (`shared/corpus/sigmahq` in the first ancestor of the workspace that
/// has it), or `None` when `RULEPROOF_NO_CORPUS=1` says to run without it.
///
/// # Panics
///
/// When the corpus is missing and `RULEPROOF_NO_CORPUS` is not `1`: a corpus test that returned
/// early would pass without checking anything.
pub fn sigmahq_corpus() -> Option<PathBuf> {
    if std::env::var(NO_CORPUS_VAR).is_ok_and(|v| v == "1") {
        println!("{NO_CORPUS_VAR}=1: the corpus check is skipped on purpose");
        return None;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    match workspace
        .ancestors()
        .map(|dir| dir.join("shared/corpus/sigmahq"))
        .find(|root| root.is_dir())
    {
        Some(root) => Some(root),
        None => panic!(
            "the SigmaHQ corpus is missing: no shared/corpus/sigmahq above {}. Put the corpus \
             there, or set {NO_CORPUS_VAR}=1 to run the suite without the corpus checks",
            workspace.display()
        ),
    }
}

/// A git repository in a temporary directory whose last commit holds the tree `base` and whose
/// working tree holds the tree `new` (both copied file by file), for testing what a change
/// does. Commits are made with a fixed author and date, so ids are the same on every run.
///
/// # Panics
///
/// When `git` cannot run or a file cannot be copied: the test cannot do what it is for.
pub fn git_change(base: &Path, new: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
    git(dir.path(), &["init", "--quiet", "--initial-branch=main"]);
    copy_tree(base, dir.path());
    git(dir.path(), &["add", "--all"]);
    git(
        dir.path(),
        &["commit", "--quiet", "--allow-empty", "-m", "base"],
    );
    for entry in std::fs::read_dir(dir.path()).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
    }
    copy_tree(new, dir.path());
    dir
}

/// Runs `git` in `dir` with a fixed identity and date, panicking when it fails.
///
/// # Panics
///
/// When `git` cannot run or fails.
pub fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=ruleproof",
            "-c",
            "user.email=ruleproof@example.invalid",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .status()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(status.success(), "git {args:?} failed in {}", dir.display());
}

fn copy_tree(from: &Path, to: &Path) {
    if !from.is_dir() {
        return;
    }
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap_or_else(|e| panic!("{e}"));
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", entry.path().display()));
        }
    }
}
