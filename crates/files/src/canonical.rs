//! Canonical paths of many files without a `realpath` per file.
//!
//! `std::fs::canonicalize` asks the kernel to read every component of a path as a possible
//! link; over the SigmaHQ corpus (3,757 files, eight components deep) that was about a tenth of
//! `validate`'s time. The files of one directory share its canonical form, and a file that is not
//! itself a link is its directory's canonical path joined with its name, which is what
//! `canonicalize` returns for it. The directories are those [`walk`](crate::walk) resolved on
//! its way down (a directory that is not a link is its parent's canonical form joined with its
//! name), so a walked tree costs one `lstat` per file and nothing per directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The canonical directories of walked files, resolved once each (see [`Walk`](crate::Walk)).
#[derive(Debug, Default)]
pub struct CanonicalPaths {
    /// A file's parent as written (`.` for a bare file name) → its canonical form, or `None`
    /// when it cannot be resolved.
    dirs: HashMap<PathBuf, Option<PathBuf>>,
}

impl CanonicalPaths {
    /// Records that `dir` (as the walk spelt it) resolves to `canonical`.
    pub(crate) fn record(&mut self, dir: PathBuf, canonical: PathBuf) {
        self.dirs.insert(dir, Some(canonical));
    }

    /// Takes in the directories of another walk.
    pub fn merge(&mut self, other: CanonicalPaths) {
        self.dirs.extend(other.dirs);
    }

    /// What `file.canonicalize()` returns, or `None` where it fails (the file is missing or
    /// cannot be reached). A file that is a symbolic link, or whose directory was not walked
    /// (a file named on its own), is resolved in full.
    pub fn get(&self, file: &Path) -> Option<PathBuf> {
        let (Some(Some(dir)), Some(name)) = (self.dirs.get(parent(file)), file.file_name()) else {
            return file.canonicalize().ok();
        };
        // One `lstat`: remembering which walked files are plain instead cost more instructions
        // (hashing every path) than the system calls it saved.
        let metadata = std::fs::symlink_metadata(file).ok()?;
        if metadata.file_type().is_symlink() {
            return file.canonicalize().ok();
        }
        Some(dir.join(name))
    }
}

/// The directory a file is in, `.` for a bare name.
fn parent(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_walked_file_gets_what_canonicalize_gives() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir_all(real.join("sub")).unwrap();
        std::fs::write(real.join("a.yml"), "").unwrap();
        std::fs::write(real.join("sub/c.yml"), "").unwrap();
        std::fs::write(dir.path().join("b.yml"), "").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&real, dir.path().join("linked")).unwrap();
            std::os::unix::fs::symlink(dir.path().join("b.yml"), real.join("to-b.yml")).unwrap();
        }
        let any = |_: &Path| true;
        let mut walked = crate::walk(dir.path(), &any);
        // A root spelt with `..` and `.`, and a root that is a file.
        let dotted = crate::walk(&real.join("../real/./sub"), &any);
        walked.files.extend(dotted.files);
        walked.canonical.merge(dotted.canonical);
        walked.files.push(dir.path().join("b.yml"));
        walked.files.push(real.join("missing.yml"));
        assert!(walked.files.len() >= 6, "{:?}", walked.files);
        for file in &walked.files {
            assert_eq!(
                walked.canonical.get(file),
                file.canonicalize().ok(),
                "{}",
                file.display()
            );
        }
    }
}
