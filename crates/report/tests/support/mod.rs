//! The snapshot helper every renderer test uses: `ruleproof_testkit::assert_snapshot` on the
//! file `tests/snapshots/<group>/<name>`.

use std::path::Path;

/// Compares rendered output with the snapshot at `tests/snapshots/<group>/<name>`, showing a
/// diff on mismatch. With `UPDATE_EXPECT=1` (what `cargo xtask bless` sets) the snapshot is
/// rewritten instead.
pub fn check_snapshot(group: &str, name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(group)
        .join(name);
    ruleproof_testkit::assert_snapshot(&path, actual);
}
