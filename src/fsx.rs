//! The only module that writes files: backups that never overwrite an earlier one, atomic
//! replacement (temp file in the same folder → validate → fsync → backup → rename → fsync the
//! folder) keeping the original's permissions and owner, and cleanup of ccrescue's own leftovers
//! (`stale`; `backups` names and lists backups, `temp` makes the temp files).
//!
//! Names: a backup of `s.jsonl` is `s.jsonl.bak`, then `s.jsonl.bak.1`, `.bak.2`, … (the next
//! number is one past the highest present, so numbers follow creation order even after a prune).
//! A temp file is `.s.jsonl.ccrescue-<pid>.tmp`: hidden, and not ending in `.jsonl`, so claude
//! never takes it for a session.
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::interrupt;

mod backups;
mod stale;
mod temp;

pub use backups::{BackupFile, backup_copy, list_backups, next_backup_path};
use backups::{backup_copy_from, backup_link};
#[cfg(test)]
use stale::temp_pid;
pub use stale::{sweep_stale_temps, sweep_stale_temps_beside};
use temp::TempFile;

/// Which backup `replace` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    None,
    /// A hard link to the original, taken just before the rename: O(1), and after the rename the
    /// old inode is never written again. Falls back to a copy where links are not supported.
    Link,
    /// A real copy, taken before anything else (for files claude will append to afterwards).
    Copy,
}

/// The file is no longer what a change was computed from: another program (claude writes its
/// sessions and its settings too) changed it since it was read. Returned from `replace`'s `write`
/// step, which runs once `replace` holds the original and took its state, so that a change made
/// before that is refused rather than overwritten (or, for a session, cut off).
#[derive(Debug)]
pub struct ChangedSinceRead {
    pub path: PathBuf,
    /// The command to run again, for the message.
    pub again: &'static str,
}

impl std::fmt::Display for ChangedSinceRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} changed since it was read (is claude writing it?); nothing was written — run {} again",
            self.path.display(),
            self.again
        )
    }
}

impl std::error::Error for ChangedSinceRead {}

/// For `replace`'s `write` step: fails with [`ChangedSinceRead`] unless `path` still holds
/// `expected`, the bytes the new content was computed from (a small file: settings).
pub fn still_holds(path: &Path, expected: &[u8], again: &'static str) -> Result<()> {
    let now = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if now != expected {
        return Err(ChangedSinceRead {
            path: path.to_owned(),
            again,
        }
        .into());
    }
    Ok(())
}

/// Deletes `path` if it still holds `expected` (the bytes the decision was made on): the file is
/// first moved aside in its folder, so that no write can land between the comparison and the
/// unlink; if it changed, it is put back (or, when another file took its name meanwhile, kept as
/// the next backup of `path`; the message names where) and [`ChangedSinceRead`] is returned.
pub fn remove_if_holds(path: &Path, expected: &[u8], again: &'static str) -> Result<()> {
    let path = &resolve(path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let aside = path.with_file_name(format!(
        ".{name}.removed{TEMP_MARK}{}{TEMP_SUFFIX}",
        std::process::id()
    ));
    fs::rename(path, &aside).with_context(|| format!("cannot delete {}", path.display()))?;
    let now = match fs::read(&aside) {
        Ok(now) => now,
        Err(e) => {
            let kept = put_back(&aside, path);
            return Err(anyhow::Error::new(e)
                .context(format!("cannot read {}", aside.display()))
                .context(kept_note(path, kept)));
        }
    };
    if now == expected {
        fs::remove_file(&aside).with_context(|| format!("cannot delete {}", aside.display()))?;
        sync_folder(path);
        return Ok(());
    }
    let changed = anyhow::Error::new(ChangedSinceRead {
        path: path.to_owned(),
        again,
    });
    match put_back(&aside, path) {
        None => Err(changed),
        kept => Err(changed.context(kept_note(path, kept))),
    }
}

/// Moves a file set aside by [`remove_if_holds`] back to `path`, never over a file that took
/// the name meanwhile (then it becomes the next backup of `path`). `None` when it is back.
fn put_back(aside: &Path, path: &Path) -> Option<PathBuf> {
    // A link fails on an existing name; where links fail, a rename is checked first.
    if fs::hard_link(aside, path).is_ok() {
        let _ = fs::remove_file(aside);
        return None;
    }
    if !path.exists() && fs::rename(aside, path).is_ok() {
        return None;
    }
    match next_backup_path(path) {
        Ok(backup) if !backup.exists() && fs::rename(aside, &backup).is_ok() => Some(backup),
        _ => Some(aside.to_owned()),
    }
}

fn kept_note(path: &Path, kept: Option<PathBuf>) -> String {
    match kept {
        None => format!("{} was left as it is", path.display()),
        Some(other) => format!(
            "another file took the name {} meanwhile; the one ccrescue read is kept as {}",
            path.display(),
            other.display()
        ),
    }
}

/// What `replace` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub backup: Option<PathBuf>,
}

const TEMP_MARK: &str = ".ccrescue-";
const TEMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with what `write` produces, atomically: the bytes go to a temp file in the
/// same folder, `validate` checks the temp file (given its descriptor, at offset 0: the name is
/// never opened again), it is synced, the backup is taken, and it is
/// renamed over `path`. On any error — including Ctrl-C, which `write` should poll with
/// `interrupt::check()` — the temp file is removed and `path` is untouched. Refuses when `path`
/// changed while the new content was being written (someone else is writing it).
///
/// A symlinked `path` keeps its link: its target is replaced (temp file and backups next to the
/// target; see [`resolve`]). Whole JSON lines appended to the original in the instant between
/// the last check and the rename (claude opens the session by path for every append, so one
/// that opened it just before the rename writes to the old file) are carried over to the end of
/// the new file; any other late change is an error naming where the late bytes are kept.
pub fn replace(
    path: &Path,
    backup: Backup,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
    validate: impl FnOnce(&mut File) -> Result<()>,
) -> Result<Replaced> {
    let _defer = interrupt::defer();
    let path = &resolve(path);
    // Held open to the end: after the rename it still shows the old file, so late writes to it
    // can be seen (and carried over) instead of vanishing with its last name.
    let original = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let before = original
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !before.is_file() {
        bail!(
            "{} is not a regular file; nothing was changed",
            path.display()
        );
    }
    // The backup name announced before the change (the trim plan, the summary) is this one.
    let planned = next_backup_path(path)?;
    let mut taken = match backup {
        // A copy of what is open here, not of whatever the name holds by now.
        Backup::Copy => Some(backup_copy_from(path, &mut original.try_clone()?)?),
        _ => None,
    };
    let mut temp = TempFile::create(path, Some(&before))?;
    let mut out = BufWriter::with_capacity(1 << 20, &*temp.file());
    let written = write(&mut out)
        .and_then(|()| out.flush().map_err(Into::into))
        .and_then(|()| interrupt::check());
    drop(out);
    // A refusal is said alone: it is not a failure of writing, and nothing was written.
    written.map_err(|e| match e.is::<ChangedSinceRead>() {
        true => e,
        false => e.context(format!("writing the new {}", path.display())),
    })?;
    temp.file()
        .seek(SeekFrom::Start(0))
        .with_context(|| format!("cannot read back {}", temp.path().display()))?;
    validate(temp.file()).with_context(|| {
        format!(
            "the new {} failed validation; nothing was changed",
            path.display()
        )
    })?;
    temp.keep_permissions(&before)?;
    temp.file()
        .sync_all()
        .with_context(|| format!("cannot sync {}", temp.path().display()))?;
    interrupt::check()?;
    let now = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if changed(&before, &now) || !same_file(&before, &now) {
        bail!(
            "{} changed while ccrescue was writing its new version (is claude running on it?); nothing was changed",
            path.display()
        );
    }
    if backup == Backup::Link {
        taken = Some(backup_link(path, &original, &planned)?);
    }
    #[cfg(all(test, unix))]
    tests::BEFORE_RENAME.with(|hook| hook.take().map(|f| f(path)));
    // Windows refuses to rename over a file this process holds open: let go of it first (late
    // writes then cannot be carried over there; the check just above still refuses earlier ones).
    #[cfg(windows)]
    drop(original);
    let new = temp.replace(path)?;
    sync_folder(path);
    #[cfg(windows)]
    drop(new);
    #[cfg(not(windows))]
    {
        let (mut new, mut original) = (new, original);
        let after = original
            .metadata()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if changed(&before, &after) {
            carry_over(
                &mut original,
                &mut new,
                before.len(),
                after.len(),
                path,
                taken.as_deref(),
            )?;
        }
    }
    Ok(Replaced { backup: taken })
}

fn changed(before: &fs::Metadata, now: &fs::Metadata) -> bool {
    now.len() != before.len() || now.modified().ok() != before.modified().ok()
}

/// True when both describe the same file (unix: device and inode; elsewhere assumed).
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        (a.dev(), a.ino()) == (b.dev(), b.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        true
    }
}

/// The old file (`original`, already renamed over) was written to after the last check. If it
/// only grew by whole JSON lines after a line end — an append — those lines are appended to the
/// new `path`, where they belong. Anything else cannot be merged: the error says where the old
/// file's bytes are (the link backup, or a copy saved now).
#[cfg_attr(windows, allow(dead_code))]
fn carry_over(
    original: &mut File,
    new: &mut File,
    was: u64,
    now: u64,
    path: &Path,
    backup: Option<&Path>,
) -> Result<()> {
    let late = if now > was {
        let mut bytes = vec![];
        original.seek(SeekFrom::Start(was.saturating_sub(1)))?;
        original.read_to_end(&mut bytes)?;
        let after_line_end = was == 0 || bytes.first() == Some(&b'\n');
        let tail = &bytes[usize::from(was > 0)..];
        let whole_lines = tail.ends_with(b"\n")
            && tail.split(|&b| b == b'\n').all(|l| {
                l.is_empty() || serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok()
            });
        (after_line_end && whole_lines).then(|| tail.to_vec())
    } else {
        None
    };
    if let Some(tail) = late {
        let mut out = new
            .seek(SeekFrom::End(0))
            .and_then(|_| new.write_all(&tail))
            .and_then(|()| new.sync_all());
        if let Err(e) = out.as_mut() {
            bail!(
                "{} was appended to while ccrescue replaced it, and the late lines could not be added to the new version ({e}); they are in {}",
                path.display(),
                backup.map_or("the old version".into(), |b| b.display().to_string())
            );
        }
        return Ok(());
    }
    let kept = match backup {
        Some(b) => b.to_owned(),
        None => {
            original.seek(SeekFrom::Start(0))?;
            backup_copy_from(path, original)?
        }
    };
    bail!(
        "{} was changed by another program (claude?) while ccrescue replaced it: it now holds ccrescue's new version, and {} holds the other program's; quit that program, then keep the one you want (ccrescue restore puts a backup back)",
        path.display(),
        kept.display()
    )
}

/// The file ccrescue changes for `path`: `path` itself, or the target of a symlink at `path`
/// (so the link stays a link and the change reaches the file claude reads through it). Backups
/// and temp files sit next to that file. A dangling link resolves to itself and fails later.
pub fn resolve(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
        }
        _ => path.to_owned(),
    }
}

/// Ends a torn last line with `\n` (appending, then syncing) so that claude's next record starts
/// on a line of its own. Returns whether it wrote anything.
pub fn end_torn_line(path: &Path) -> Result<bool> {
    let _defer = interrupt::defer();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} to end its last line", path.display()))?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(false);
    }
    file.write_all(b"\n")
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot end the last line of {}", path.display()))?;
    Ok(true)
}

/// Writes a new file `path` with `bytes` (never over an existing file or symlink: `create_new`),
/// private (0600) from the first byte, synced, with the folder synced after. On an error the
/// partial file is removed.
pub fn create_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let _defer = interrupt::defer();
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    sync_folder(path);
    Ok(())
}

/// Reads a small file that someone else may have planted (a settings file, a registry entry):
/// opened without blocking (a FIFO does not hang the read), refused unless it is a regular file
/// (a symlink to `/dev/zero` does not read for ever), and refused past `cap` bytes. A missing
/// file is an `io::ErrorKind::NotFound` error, as from `fs::read`.
pub fn read_small(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "not a regular file (a folder, a pipe or a device)",
        ));
    }
    if meta.len() > cap {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!(
                "{} bytes, more than the {} a file of this kind can be",
                meta.len(),
                cap
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("grew past {cap} bytes while read"),
        ));
    }
    Ok(bytes)
}

/// Deletes one file (a backup being pruned).
pub fn remove(path: &Path) -> Result<()> {
    fs::remove_file(path).with_context(|| format!("cannot delete {}", path.display()))
}

/// `io::copy`, but stopping at Ctrl-C between chunks.
fn copy_checked(src: &mut File, dst: &mut File) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        dst.write_all(&buf[..n])?;
        interrupt::check()?;
    }
}

/// Makes a rename in `path`'s folder durable (unix; Windows has no folder handles to sync).
fn sync_folder(path: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(parent(path)) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(all(test, unix))]
#[path = "fsx_tests.rs"]
mod tests;
