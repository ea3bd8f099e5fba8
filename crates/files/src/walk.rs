//! Walking directories with `walkdir`, following symbolic links but never around a loop.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// A problem met while walking; the walk goes on without the entry.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// A symbolic link leads to a directory that contains it (or contains the walk's root), so
    /// following it would never end.
    #[error("{}: symbolic link loop (it leads back to {}); not followed", path.display(), ancestor.display())]
    Loop {
        /// The link, as reached by the walk.
        path: PathBuf,
        /// The directory it leads back to (canonical).
        ancestor: PathBuf,
    },
    /// An entry that cannot be read (permissions, a dangling link, a vanished file).
    #[error("{}: cannot read: {message}", path.display())]
    Io {
        /// The entry.
        path: PathBuf,
        /// What the file system said.
        message: String,
    },
}

/// The files a walk found, in walk order (sorted by name within each directory), and the
/// entries it had to leave out.
#[derive(Debug, Default)]
pub struct Walk {
    /// The files found.
    pub files: Vec<PathBuf>,
    /// The entries left out, each once.
    pub problems: Vec<WalkError>,
}

/// The files under `root` for which `wanted` holds, or `root` itself when it is a file (whatever
/// its name: a file named on the command line is always read).
///
/// Symbolic links are followed, so a linked rule folder is walked like any other. A link to a
/// directory already on the way down, or to one holding the walk's root, is reported once as a
/// [`WalkError::Loop`] and not followed; a directory reached a second time through another link
/// is not walked again, so no file is listed twice.
pub fn walk(root: &Path, wanted: &dyn Fn(&Path) -> bool) -> Walk {
    let mut out = Walk::default();
    let metadata = match std::fs::metadata(root) {
        Ok(metadata) => metadata,
        Err(e) => {
            out.problems.push(WalkError::Io {
                path: root.to_owned(),
                message: e.to_string(),
            });
            return out;
        }
    };
    if !metadata.is_dir() {
        out.files.push(root.to_owned());
        return out;
    }
    let root_canonical = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    let problems = RefCell::new(Vec::new());
    let mut visited: HashSet<PathBuf> = HashSet::new();
    let entries = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            if !entry.file_type().is_dir() {
                return true;
            }
            let Ok(canonical) = entry.path().canonicalize() else {
                return true;
            };
            if entry.depth() > 0 && root_canonical.starts_with(&canonical) {
                problems.borrow_mut().push(WalkError::Loop {
                    path: entry.path().to_owned(),
                    ancestor: canonical,
                });
                return false;
            }
            visited.insert(canonical)
        });
    for entry in entries {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_file() && wanted(entry.path()) {
                    out.files.push(without_dot(entry.into_path()));
                }
            }
            Err(error) => {
                let path = error.path().map(Path::to_owned).unwrap_or_default();
                problems.borrow_mut().push(match error.loop_ancestor() {
                    Some(ancestor) => WalkError::Loop {
                        path,
                        ancestor: ancestor.to_owned(),
                    },
                    None => WalkError::Io {
                        path,
                        message: error
                            .io_error()
                            .map_or_else(|| error.to_string(), ToString::to_string),
                    },
                });
            }
        }
    }
    out.problems = problems.into_inner();
    out
}

/// `./rules/a.yml` as `rules/a.yml`: a root of `.` joined with `rules` should not show in
/// every path printed.
fn without_dot(path: PathBuf) -> PathBuf {
    match path.strip_prefix(".") {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.to_owned(),
        _ => path,
    }
}

/// [`walk`] over several roots, one after the other; the files of each root stay in walk order
/// and a file named twice is listed once.
pub fn walk_all(roots: &[PathBuf], wanted: &dyn Fn(&Path) -> bool) -> Walk {
    let mut out = Walk::default();
    let mut seen = HashSet::new();
    for root in roots {
        let walked = walk(root, wanted);
        out.files
            .extend(walked.files.into_iter().filter(|f| seen.insert(f.clone())));
        out.problems.extend(walked.problems);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(path: &Path) -> bool {
        path.extension().is_some_and(|e| e == "yml")
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_the_parent_is_one_loop_and_the_walk_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("a.yml"), "").unwrap();
        std::fs::write(d.join("sub/b.yml"), "").unwrap();
        std::os::unix::fs::symlink("..", d.join("up")).unwrap();
        std::os::unix::fs::symlink("..", d.join("sub/back")).unwrap();
        let walked = walk(&d, &yaml);
        assert_eq!(walked.files, vec![d.join("a.yml"), d.join("sub/b.yml")]);
        let loops: Vec<String> = walked.problems.iter().map(ToString::to_string).collect();
        assert_eq!(loops.len(), 2, "{loops:?}");
        assert!(loops[0].contains("sub/back") || loops[1].contains("sub/back"));
        assert!(
            loops
                .iter()
                .any(|l| l.contains("/d/up: symbolic link loop"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn two_links_to_one_directory_list_its_files_once() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::write(shared.join("r.yml"), "").unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&shared, root.join("one")).unwrap();
        std::os::unix::fs::symlink(&shared, root.join("two")).unwrap();
        let walked = walk(&root, &yaml);
        assert_eq!(walked.files, vec![root.join("one/r.yml")]);
        assert!(walked.problems.is_empty());
    }

    #[test]
    fn a_file_root_is_read_whatever_its_name_and_a_missing_one_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rule.txt");
        std::fs::write(&file, "").unwrap();
        assert_eq!(walk(&file, &yaml).files, vec![file.clone()]);
        let missing = walk(&dir.path().join("nope"), &yaml);
        assert!(missing.files.is_empty());
        assert_eq!(missing.problems.len(), 1);
    }
}
