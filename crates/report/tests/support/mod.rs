//! The one snapshot helper every renderer test uses.

use std::path::Path;

/// Compares rendered output with the snapshot at `tests/snapshots/<group>/<name>`, showing a
/// unified diff on mismatch. With `RULEPROOF_BLESS=1` (what `cargo xtask bless` sets) the
/// snapshot is rewritten instead, through a temporary file and a rename.
pub fn check_snapshot(group: &str, name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(group)
        .join(name);
    if std::env::var_os("RULEPROOF_BLESS").is_some_and(|v| v == "1") {
        let dir = path.parent().expect("snapshots live in a directory");
        std::fs::create_dir_all(dir).unwrap();
        // The temporary name keeps the whole file name, so `report.md` and `report.html`,
        // blessed by tests running in parallel, never share one.
        let mut temp_name = path
            .file_name()
            .expect("a snapshot has a name")
            .to_os_string();
        temp_name.push(".blessing");
        let temp = path.with_file_name(temp_name);
        std::fs::write(&temp, actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", temp.display()));
        std::fs::rename(&temp, &path)
            .unwrap_or_else(|e| panic!("cannot replace {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); create it with RULEPROOF_BLESS=1 cargo test -p ruleproof-report",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header(&format!("{name} (snapshot)"), &format!("{name} (actual)"))
            .to_string();
        panic!(
            "{group}/{name} differs from its snapshot:\n{diff}\nIf the change is intended, run \
             `cargo xtask bless` (or RULEPROOF_BLESS=1 cargo test -p ruleproof-report) and review the diff."
        );
    }
}
