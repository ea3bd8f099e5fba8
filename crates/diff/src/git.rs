//! Git through the `git` binary (`std::process`): which files changed between a revision and
//! the working tree, renames followed, and the revision's version of a set of directories,
//! read from the object database with `git ls-tree` and `git cat-file --batch` (never by
//! checking anything out, so the working tree and index are left alone).
//!
//! The binary rather than a library: `git` is on every CI runner and developer machine, and
//! linking `gix` would double the build time of the workspace for three read-only commands.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a git command could not give what was asked.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` binary could not be started.
    #[error("cannot run `git` (is it installed and on PATH?): {0}")]
    Missing(std::io::Error),
    /// The directory is not inside a git working tree.
    #[error("{}: not inside a git repository", .0.display())]
    NotARepository(PathBuf),
    /// The revision does not name a commit.
    #[error("unknown revision `{0}`: no such commit, branch or tag in this repository")]
    UnknownRevision(String),
    /// Git ran and failed.
    #[error("`git {command}` failed: {message}")]
    Failed {
        /// The arguments, joined by spaces.
        command: String,
        /// What git wrote on stderr.
        message: String,
    },
    /// A temporary file of the base version could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// How a file changed between the revision and the working tree (`git diff --name-status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// New in the working tree (committed since, staged, or untracked and not ignored).
    Added(PathBuf),
    /// Gone from the working tree.
    Removed(PathBuf),
    /// Changed in place.
    Modified(PathBuf),
    /// Moved (and perhaps edited): `from` at the revision, `to` in the working tree.
    Renamed {
        /// The path at the revision.
        from: PathBuf,
        /// The path in the working tree.
        to: PathBuf,
    },
}

impl FileChange {
    /// The path in the working tree, `None` for a removed file.
    pub fn new_path(&self) -> Option<&Path> {
        match self {
            FileChange::Added(p) | FileChange::Modified(p) => Some(p),
            FileChange::Renamed { to, .. } => Some(to),
            FileChange::Removed(_) => None,
        }
    }

    /// The path at the revision, `None` for an added file.
    pub fn old_path(&self) -> Option<&Path> {
        match self {
            FileChange::Removed(p) | FileChange::Modified(p) => Some(p),
            FileChange::Renamed { from, .. } => Some(from),
            FileChange::Added(_) => None,
        }
    }
}

/// A directory inside a git working tree; every path it takes and gives is relative to it.
#[derive(Clone, Debug)]
pub struct Repository {
    dir: PathBuf,
}

impl Repository {
    /// The working tree containing `dir`.
    ///
    /// # Errors
    /// [`GitError::Missing`] without a `git` binary, [`GitError::NotARepository`] outside a
    /// working tree.
    pub fn open(dir: &Path) -> Result<Repository, GitError> {
        let repository = Repository {
            dir: dir.to_owned(),
        };
        let output = repository.command(&["rev-parse", "--is-inside-work-tree"])?;
        if !output.status.success() || String::from_utf8_lossy(&output.stdout).trim() != "true" {
            return Err(GitError::NotARepository(dir.to_owned()));
        }
        Ok(repository)
    }

    /// The full commit id `revision` names.
    ///
    /// # Errors
    /// [`GitError::UnknownRevision`] when it names no commit.
    pub fn resolve(&self, revision: &str) -> Result<String, GitError> {
        // `--end-of-options` keeps a revision starting with `-` from being read as an option.
        let spec = format!("{revision}^{{commit}}");
        let output = self.command(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ])?;
        if !output.status.success() {
            return Err(GitError::UnknownRevision(revision.to_owned()));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The files under `paths` that differ between `commit` and the working tree, renames
    /// followed (git's default similarity, 50%), plus untracked files that are not ignored.
    ///
    /// # Errors
    /// Git failing.
    pub fn changes(&self, commit: &str, paths: &[PathBuf]) -> Result<Vec<FileChange>, GitError> {
        let mut args = vec![
            "diff".to_owned(),
            "--name-status".to_owned(),
            "-z".to_owned(),
            "--find-renames".to_owned(),
            "--relative".to_owned(),
            "--no-ext-diff".to_owned(),
            commit.to_owned(),
            "--".to_owned(),
        ];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let out = self.run(&args)?;
        let mut fields = out.split(|b| *b == 0).filter(|f| !f.is_empty());
        let mut changes = Vec::new();
        let path = |f: &[u8]| PathBuf::from(String::from_utf8_lossy(f).into_owned());
        while let Some(status) = fields.next() {
            let Some(first) = fields.next() else { break };
            let change = match status.first() {
                Some(b'A') => FileChange::Added(path(first)),
                Some(b'D') => FileChange::Removed(path(first)),
                Some(b'R') => {
                    let Some(second) = fields.next() else { break };
                    FileChange::Renamed {
                        from: path(first),
                        to: path(second),
                    }
                }
                Some(b'C') => {
                    // A copy: the original stays; the copy is new.
                    let Some(second) = fields.next() else { break };
                    FileChange::Added(path(second))
                }
                _ => FileChange::Modified(path(first)),
            };
            changes.push(change);
        }
        let mut args = vec![
            "ls-files".to_owned(),
            "-z".to_owned(),
            "--others".to_owned(),
            "--exclude-standard".to_owned(),
            "--".to_owned(),
        ];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let out = self.run(&args)?;
        // `git diff` sees no rename to an untracked file; an untracked file with the content of
        // a removed one is that file moved.
        for untracked in out.split(|b| *b == 0).filter(|f| !f.is_empty()).map(path) {
            let id = self.run(&[
                "hash-object".to_owned(),
                "--".to_owned(),
                untracked.display().to_string(),
            ])?;
            let id = String::from_utf8_lossy(&id).trim().to_owned();
            let moved = changes.iter().position(|c| match c {
                FileChange::Removed(old) => self
                    .run(&[
                        "rev-parse".to_owned(),
                        format!("{commit}:./{}", old.display()),
                    ])
                    .is_ok_and(|old_id| String::from_utf8_lossy(&old_id).trim() == id),
                _ => false,
            });
            match moved {
                Some(i) => {
                    let FileChange::Removed(from) = changes.remove(i) else {
                        unreachable!("the position found is a removal")
                    };
                    changes.push(FileChange::Renamed {
                        from,
                        to: untracked,
                    });
                }
                None => changes.push(FileChange::Added(untracked)),
            }
        }
        Ok(changes)
    }

    /// Writes the version at `commit` of every file under `paths` into `into`, at the same
    /// relative paths. Returns how many files were written.
    ///
    /// # Errors
    /// Git failing, or a file that cannot be written.
    pub fn export(&self, commit: &str, paths: &[PathBuf], into: &Path) -> Result<usize, GitError> {
        let mut args = vec![
            "ls-tree".to_owned(),
            "-r".to_owned(),
            "-z".to_owned(),
            commit.to_owned(),
            "--".to_owned(),
        ];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let listing = self.run(&args)?;
        // `<mode> blob <id>\t<path>`; submodules (`commit`) and symbolic links (mode 120000)
        // are not rule files.
        let mut blobs = Vec::new();
        for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            let parts: Vec<&str> = meta.split(' ').collect();
            if let [mode, "blob", id] = parts.as_slice()
                && *mode != "120000"
            {
                blobs.push(((*id).to_owned(), PathBuf::from(path)));
            }
        }
        if blobs.is_empty() {
            return Ok(0);
        }
        let mut child = Command::new("git")
            .args(["cat-file", "--batch"])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GitError::Missing)?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let ids: String = blobs.iter().map(|(id, _)| format!("{id}\n")).collect();
        // Written from a thread so a large listing cannot deadlock against our reading.
        let writer = std::thread::spawn(move || stdin.write_all(ids.as_bytes()));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let failed = |message: String| GitError::Failed {
            command: "cat-file --batch".to_owned(),
            message,
        };
        for (_, relative) in &blobs {
            let mut header = String::new();
            stdout
                .read_line(&mut header)
                .map_err(|e| failed(e.to_string()))?;
            // `<id> blob <size>`
            let size: usize = header
                .trim_end()
                .rsplit(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| failed(format!("unexpected answer `{}`", header.trim_end())))?;
            let mut content = vec![0; size + 1];
            stdout
                .read_exact(&mut content)
                .map_err(|e| failed(e.to_string()))?;
            content.pop(); // the newline after each object
            let target = into.join(relative);
            let io = |source| GitError::Io {
                path: target.clone(),
                source,
            };
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            std::fs::write(&target, content).map_err(io)?;
        }
        let _ = writer.join();
        let _ = child.wait();
        Ok(blobs.len())
    }

    fn command(&self, args: &[&str]) -> Result<std::process::Output, GitError> {
        Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(GitError::Missing)
    }

    fn run(&self, args: &[String]) -> Result<Vec<u8>, GitError> {
        let output = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(GitError::Missing)?;
        if !output.status.success() {
            return Err(GitError::Failed {
                command: args.join(" "),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(output.stdout)
    }
}
