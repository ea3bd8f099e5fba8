//! Walking directories with `walkdir`, following symbolic links but never around a loop.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::CanonicalPaths;

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
    /// The canonical form of every directory the files were found in, as the walk resolved
    /// them on its way down (so asking for a file's canonical path costs no `realpath`).
    pub canonical: CanonicalPaths,
}

/// The files under `root` for which `wanted` holds, or `root` itself when it is a file (whatever
/// its name: a file named on the command line is always read).
///
/// Symbolic links are followed, so a linked rule folder is walked like any other. A link to a
/// directory already on the way down, or to one holding the walk's root, is reported once as a
/// [`WalkError::Loop`] and not followed; a directory reached a second time through another link
/// is not walked again, so no file is listed twice.
pub fn walk(root: &Path, wanted: &dyn Fn(&Path) -> bool) -> Walk {
    let mut files = Vec::new();
    let (problems, canonical) = visit(root, wanted, &mut |file| {
        files.push(file);
        ControlFlow::Continue(())
    });
    Walk {
        files,
        problems,
        canonical,
    }
}

/// Whether a walk of `root` (as [`walk`] does it) finds anything: a wanted file or a problem.
/// It stops at the first file, so asking it of a large tree costs a few directory reads.
pub fn finds_anything(root: &Path, wanted: &dyn Fn(&Path) -> bool) -> bool {
    let mut found = false;
    let (problems, _) = visit(root, wanted, &mut |_| {
        found = true;
        ControlFlow::Break(())
    });
    found || !problems.is_empty()
}

/// The walk itself: hands each wanted file to `found` in walk order until it says stop, and
/// returns the problems met on the way and the canonical forms it resolved.
fn visit(
    root: &Path,
    wanted: &dyn Fn(&Path) -> bool,
    found: &mut dyn FnMut(PathBuf) -> ControlFlow<()>,
) -> (Vec<WalkError>, CanonicalPaths) {
    let metadata = match std::fs::metadata(root) {
        Ok(metadata) => metadata,
        Err(e) => {
            let problem = WalkError::Io {
                path: root.to_owned(),
                message: e.to_string(),
            };
            return (vec![problem], CanonicalPaths::default());
        }
    };
    if !metadata.is_dir() {
        let _ = found(root.to_owned());
        return (Vec::new(), CanonicalPaths::default());
    }
    let root_canonical = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    let problems = RefCell::new(Vec::new());
    let canonical = RefCell::new(CanonicalPaths::default());
    let mut visited: HashSet<PathBuf> = HashSet::new();
    // The canonical form of each directory on the way down from the root (`None` where it
    // could not be resolved). A directory that is not a link is its parent's canonical form
    // joined with its name, so only links are resolved by the file system: `canonicalize`
    // reads every component of a path as a possible link, about 7,700 failed `readlink`s per
    // walk of the SigmaHQ corpus.
    let mut canonical_dirs: Vec<Option<PathBuf>> = Vec::new();
    let entries = WalkDir::new(root)
        .follow_links(true)
        // Siblings share their parent's path, so comparing whole paths byte by byte orders them
        // by name, as `sort_by_file_name` does, without taking each path apart into components
        // (which was a quarter of the walk's instructions).
        .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
        .into_iter()
        .filter_entry(|entry| {
            if !entry.file_type().is_dir() {
                return true;
            }
            canonical_dirs.truncate(entry.depth());
            let derived = match canonical_dirs.last() {
                Some(Some(parent)) if !entry.path_is_symlink() => {
                    Some(parent.join(entry.file_name()))
                }
                _ if entry.depth() == 0 => Some(root_canonical.clone()),
                _ => entry.path().canonicalize().ok(),
            };
            let Some(resolved) = derived else {
                canonical_dirs.push(None);
                return true;
            };
            if entry.depth() > 0 && root_canonical.starts_with(&resolved) {
                problems.borrow_mut().push(WalkError::Loop {
                    path: entry.path().to_owned(),
                    ancestor: resolved,
                });
                return false;
            }
            let first_visit = visited.insert(resolved.clone());
            if first_visit {
                canonical
                    .borrow_mut()
                    .record(without_dot(entry.path().to_owned()), resolved.clone());
            }
            canonical_dirs.push(Some(resolved));
            first_visit
        });
    for entry in entries {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_file()
                    && wanted(entry.path())
                    && found(without_dot(entry.into_path())).is_break()
                {
                    break;
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
    (problems.into_inner(), canonical.into_inner())
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
        out.canonical.merge(walked.canonical);
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

    #[cfg(unix)]
    #[test]
    fn finds_anything_sees_a_file_or_a_loop_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/b/notes.txt"), "").unwrap();
        assert!(!finds_anything(&d, &yaml));
        std::os::unix::fs::symlink("..", d.join("a/up")).unwrap();
        assert!(finds_anything(&d, &yaml), "a loop is something");
        std::fs::remove_file(d.join("a/up")).unwrap();
        std::fs::write(d.join("a/b/r.yml"), "").unwrap();
        assert!(finds_anything(&d, &yaml));
    }

    #[cfg(unix)]
    #[test]
    fn directories_under_links_are_resolved_like_canonicalize_does() {
        // A link to a directory whose subdirectory links back to the walk's root: the loop is
        // seen through the link's target, not through the path as walked.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let other = dir.path().join("other");
        std::fs::create_dir_all(root.join("x")).unwrap();
        std::fs::create_dir_all(other.join("sub")).unwrap();
        std::fs::write(other.join("sub/r.yml"), "").unwrap();
        std::os::unix::fs::symlink(&other, root.join("x/linked")).unwrap();
        std::os::unix::fs::symlink(&root, other.join("sub/home")).unwrap();
        let walked = walk(&root, &yaml);
        assert_eq!(walked.files, vec![root.join("x/linked/sub/r.yml")]);
        let problems: Vec<String> = walked.problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("x/linked/sub/home: symbolic link loop"),
            "{problems:?}"
        );
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
