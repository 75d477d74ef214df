//! ccrescue's temp files: created private (0600, or the original's mode when stricter) and
//! exclusive (`O_EXCL`, which never follows a symlink at the name) before the first byte, then
//! used only through their descriptor — written, read back, chmod'ed and chown'ed by descriptor —
//! and moved into place by a rename that checks the name still holds this very file. The
//! creation and the no-clobber move are `tempfile`'s (issue 17 point 1: a maintained crate rather
//! than `*at` calls of our own).
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use tempfile::NamedTempFile;

use super::{TEMP_MARK, TEMP_SUFFIX, parent};

/// A temp file next to the target; removed on drop unless persisted.
pub(super) struct TempFile {
    inner: NamedTempFile,
}

impl TempFile {
    /// Creates `.<name>.ccrescue-<pid>.tmp` beside `target`, private from the first byte:
    /// `like`'s mode (the original's) restricted to 0600.
    pub(super) fn create(target: &Path, like: Option<&fs::Metadata>) -> Result<TempFile> {
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let prefix = format!(".{name}{TEMP_MARK}{}", std::process::id());
        let folder = parent(target);
        // A leftover of an earlier run with the same pid (pids are reused) is ours to replace.
        let _ = fs::remove_file(folder.join(format!("{prefix}{TEMP_SUFFIX}")));
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(TEMP_SUFFIX).rand_bytes(0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = like.map_or(0o600, |m| m.permissions().mode() & 0o600);
            builder.permissions(fs::Permissions::from_mode(mode));
        }
        #[cfg(not(unix))]
        let _ = like;
        let inner = builder.tempfile_in(folder).with_context(|| {
            format!(
                "cannot create a temp file in {} (is the folder writable?)",
                folder.display()
            )
        })?;
        Ok(TempFile { inner })
    }

    pub(super) fn path(&self) -> &Path {
        self.inner.path()
    }

    pub(super) fn file(&mut self) -> &mut File {
        self.inner.as_file_mut()
    }

    /// Gives the temp file the original's permissions and (on unix) owner, by descriptor.
    pub(super) fn keep_permissions(&self, original: &fs::Metadata) -> Result<()> {
        let file = self.inner.as_file();
        let path = self.inner.path();
        file.set_permissions(original.permissions())
            .with_context(|| format!("cannot set the permissions of {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let mine = file.metadata()?;
            if (mine.uid(), mine.gid()) != (original.uid(), original.gid()) {
                std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid()))
                    .with_context(|| {
                        format!(
                            "cannot give {} the original's owner ({}:{}); run ccrescue as the file's owner",
                            path.display(),
                            original.uid(),
                            original.gid()
                        )
                    })?;
            }
        }
        Ok(())
    }

    /// Refuses when the temp name no longer holds this file (someone who can write the folder
    /// swapped it): a rename by name would move their file into place.
    fn check_name(&self) -> Result<()> {
        if !names_this_file(self.inner.path(), self.inner.as_file()) {
            bail!(
                "{} was replaced by another program while ccrescue wrote it; nothing was changed (is the folder writable by others?)",
                self.inner.path().display()
            );
        }
        Ok(())
    }

    /// Renames the temp file over `target` (replacing it); returns the descriptor of what is
    /// now `target`. On Windows a sharing violation (another program has `target` open) is
    /// retried briefly, then refused with a clear message.
    pub(super) fn replace(self, target: &Path) -> Result<File> {
        self.check_name()?;
        let mut inner = self.inner;
        let mut tries = 0;
        let file = loop {
            match inner.persist(target) {
                Ok(file) => break file,
                Err(e) if sharing_violation(&e.error) && tries < SHARING_RETRIES => {
                    tries += 1;
                    inner = e.file;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) if sharing_violation(&e.error) => bail!(
                    "cannot replace {}: another program has it open (claude? an editor? a virus scanner?); close it and run ccrescue again — nothing was changed",
                    target.display()
                ),
                Err(e) => {
                    let temp = e.file.path().to_owned();
                    return Err(e.error).with_context(|| {
                        format!("cannot rename {} over {}", temp.display(), target.display())
                    });
                }
            }
        };
        if !names_this_file(target, &file) {
            bail!(
                "{} was swapped by another program during the rename (is the folder writable by others?)",
                target.display()
            );
        }
        Ok(file)
    }

    /// Moves the temp file to `candidate` unless that name exists (as anything, a dangling
    /// symlink included); when it exists the temp file is given back.
    pub(super) fn persist_new(self, candidate: &Path) -> Result<Result<PathBuf, TempFile>> {
        self.check_name()?;
        match self.inner.persist_noclobber(candidate) {
            Ok(file) => {
                if !names_this_file(candidate, &file) {
                    bail!(
                        "{} was swapped by another program while ccrescue wrote it (is the folder writable by others?)",
                        candidate.display()
                    );
                }
                Ok(Ok(candidate.to_owned()))
            }
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                Ok(Err(TempFile { inner: e.file }))
            }
            Err(e) => {
                Err(e.error).with_context(|| format!("cannot write backup {}", candidate.display()))
            }
        }
    }
}

/// How many times (100 ms apart) a rename blocked by another program's open handle is retried.
const SHARING_RETRIES: u32 = 20;

/// Windows' "used by another process" (32) and the "access denied" (5) a rename over a file
/// another program holds open gives (issue 14).
fn sharing_violation(e: &io::Error) -> bool {
    cfg!(windows) && matches!(e.raw_os_error(), Some(5 | 32))
}

/// True when the name `path` (not followed if a symlink) is the file open as `file`.
pub(super) fn names_this_file(path: &Path, file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        match (fs::symlink_metadata(path), file.metadata()) {
            (Ok(a), Ok(b)) => a.file_type().is_file() && (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
    }
}
