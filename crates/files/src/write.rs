//! Writing a file atomically: a temporary file in the same directory, renamed into place.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file exists and replacing it was not asked for.
    #[error("{} exists; not overwritten", .0.display())]
    Exists(PathBuf),
    /// The directory, the temporary file or the rename failed.
    #[error("{}: cannot write: {source}", path.display())]
    Io {
        /// The file that was to be written.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
}

/// Writes `contents` to `path` so that readers see the old file or the new one, never half of
/// either: the text goes to a temporary file in the same directory (created, with its parents,
/// if missing), is synced, then renamed over `path`.
///
/// An existing file is replaced only when `replace` is true, and then keeps its permissions; a
/// new file gets the permissions any program's new file gets (0666 less the umask, so 0644
/// under the usual 022), not the private 0600 of temporary files. Without `replace`, a file
/// that appears between the check and the rename is still not overwritten.
///
/// # Errors
/// [`WriteError::Exists`] when `path` exists and `replace` is false; [`WriteError::Io`] when
/// the directory, the temporary file or the rename fails.
pub fn write_atomically(path: &Path, contents: &[u8], replace: bool) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_owned(),
        source,
    };
    let existing = std::fs::metadata(path).ok();
    if existing.is_some() && !replace {
        return Err(WriteError::Exists(path.to_owned()));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ruleproof-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode passed to open(2) is filtered by the umask, as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(dir).map_err(io)?;
    temp.write_all(contents).map_err(io)?;
    if let Some(metadata) = &existing {
        std::fs::set_permissions(temp.path(), metadata.permissions()).map_err(io)?;
    }
    temp.as_file().sync_all().map_err(io)?;
    if replace {
        temp.persist(path).map_err(|e| io(e.error))?;
    } else {
        temp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                WriteError::Exists(path.to_owned())
            } else {
                io(e.error)
            }
        })?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// The mode a new file gets from this process's umask, found the way any program finds it.
    fn default_mode(dir: &Path) -> u32 {
        let probe = dir.join("probe");
        std::fs::write(&probe, "").unwrap();
        let mode = mode(&probe);
        std::fs::remove_file(probe).unwrap();
        mode
    }

    #[test]
    fn a_new_file_gets_the_default_mode_and_an_existing_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/new.yml");
        write_atomically(&path, b"one", false).unwrap();
        assert_eq!(mode(&path), default_mode(dir.path()));
        assert_ne!(
            mode(&path),
            0o600,
            "not the private mode of temporary files"
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"two", true).unwrap();
        assert_eq!(mode(&path), 0o640);
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn an_existing_file_is_not_replaced_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kept.yml");
        std::fs::write(&path, "old").unwrap();
        let error = write_atomically(&path, b"new", false).unwrap_err();
        assert!(matches!(error, WriteError::Exists(_)));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
