//! The only module that writes files: backups that never overwrite an earlier one, atomic
//! replacement (temp file in the same folder → validate → fsync → backup → rename → fsync the
//! folder) keeping the original's permissions and owner, and cleanup of ccrescue's own leftovers.
//!
//! Names: a backup of `s.jsonl` is `s.jsonl.bak`, then `s.jsonl.bak.1`, `.bak.2`, … (the next
//! number is one past the highest present, so numbers follow creation order even after a prune).
//! A temp file is `.s.jsonl.ccrescue-<pid>.tmp`: hidden, and not ending in `.jsonl`, so claude
//! never takes it for a session.
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context as _, Result, bail};

use crate::interrupt;

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

/// What `replace` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub backup: Option<PathBuf>,
}

/// One backup of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    pub path: PathBuf,
    /// 0 for `.bak`, N for `.bak.N`.
    pub number: u64,
    pub modified: SystemTime,
    pub bytes: u64,
}

/// Bytes to keep free beyond a copy's own size, so a backup never fills the disk to the brim.
const SPARE_BYTES: u64 = 16 << 20;
const TEMP_MARK: &str = ".ccrescue-";
const TEMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with what `write` produces, atomically: the bytes go to a temp file in the
/// same folder, `validate` checks the temp file, it is synced, the backup is taken, and it is
/// renamed over `path`. On any error — including Ctrl-C, which `write` should poll with
/// `interrupt::check()` — the temp file is removed and `path` is untouched. Refuses when `path`
/// changed while the new content was being written (someone else is writing it).
pub fn replace(
    path: &Path,
    backup: Backup,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
    validate: impl FnOnce(&Path) -> Result<()>,
) -> Result<Replaced> {
    let _defer = interrupt::defer();
    let before = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut taken = match backup {
        Backup::Copy => Some(backup_copy(path)?),
        _ => None,
    };
    let temp = TempFile::create(path)?;
    let mut out = BufWriter::with_capacity(1 << 20, temp.file()?);
    let written = write(&mut out)
        .and_then(|()| out.flush().map_err(Into::into))
        .and_then(|()| interrupt::check());
    drop(out);
    written.with_context(|| format!("writing the new {}", path.display()))?;
    validate(&temp.path).with_context(|| {
        format!(
            "the new {} failed validation; nothing was changed",
            path.display()
        )
    })?;
    keep_permissions(&before, &temp.path)?;
    temp.file()?
        .sync_all()
        .with_context(|| format!("cannot sync {}", temp.path.display()))?;
    interrupt::check()?;
    let now = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if now.len() != before.len() || now.modified().ok() != before.modified().ok() {
        bail!(
            "{} changed while ccrescue was writing its new version (is claude running on it?); nothing was changed",
            path.display()
        );
    }
    if backup == Backup::Link {
        taken = Some(backup_link(path)?);
    }
    fs::rename(&temp.path, path).with_context(|| {
        format!(
            "cannot rename {} over {}",
            temp.path.display(),
            path.display()
        )
    })?;
    temp.disarm();
    sync_folder(path);
    Ok(Replaced { backup: taken })
}

/// A real copy of `path` as its next backup name, never overwriting one: written to a temp file,
/// synced, then linked into place (no-clobber). Checks first that the copy fits on the disk.
pub fn backup_copy(path: &Path) -> Result<PathBuf> {
    let _defer = interrupt::defer();
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let folder = parent(path);
    if let Ok(free) = fs4::available_space(folder) {
        let need = meta.len().saturating_add(SPARE_BYTES);
        if free < need {
            bail!(
                "not enough free space in {} to back up {} ({} needed, {} free); free some space and try again",
                folder.display(),
                path.display(),
                crate::format::human_bytes(need),
                crate::format::human_bytes(free)
            );
        }
    }
    let temp = TempFile::create(path)?;
    {
        let mut src =
            File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut dst = temp.file()?;
        copy_checked(&mut src, &mut dst).with_context(|| {
            format!("cannot copy {} to {}", path.display(), temp.path.display())
        })?;
        if let Ok(m) = meta.modified() {
            let _ = dst.set_modified(m); // a copy dates from its content, like a link backup
        }
        keep_permissions(&meta, &temp.path)?;
        dst.sync_all()
            .with_context(|| format!("cannot sync {}", temp.path.display()))?;
    }
    let backup = claim_backup_name(path, |candidate| {
        match fs::hard_link(&temp.path, candidate) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            // No hard links here (some network and FAT file systems): rename, after checking the
            // name is still free (not atomic, but the name was free a moment ago).
            Err(_) if !candidate.exists() => fs::rename(&temp.path, candidate).map(|()| true),
            Err(e) => Err(e),
        }
    })?;
    drop(temp); // removes the temp name if it is still there (after a link)
    sync_folder(path);
    Ok(backup)
}

/// A hard link to `path` as its next backup name; a copy where links fail.
fn backup_link(path: &Path) -> Result<PathBuf> {
    let mut unsupported = false;
    let linked = claim_backup_name(path, |candidate| match fs::hard_link(path, candidate) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) => {
            unsupported = true;
            Ok(true)
        }
    })?;
    if unsupported {
        return backup_copy(path);
    }
    Ok(linked)
}

/// Tries `claim` on successive backup names, starting one past the highest present, until it
/// returns true (claimed) — false means the name was taken meanwhile.
fn claim_backup_name(
    path: &Path,
    mut claim: impl FnMut(&Path) -> io::Result<bool>,
) -> Result<PathBuf> {
    let mut number = list_backups(path)?
        .iter()
        .map(|b| b.number + 1)
        .max()
        .unwrap_or(0);
    loop {
        let candidate = backup_name(path, number);
        if claim(&candidate)
            .with_context(|| format!("cannot write backup {}", candidate.display()))?
        {
            return Ok(candidate);
        }
        number += 1;
    }
}

/// The name the next backup of `path` would get (for messages shown before writing).
pub fn next_backup_path(path: &Path) -> Result<PathBuf> {
    let number = list_backups(path)?
        .iter()
        .map(|b| b.number + 1)
        .max()
        .unwrap_or(0);
    Ok(backup_name(path, number))
}

fn backup_name(path: &Path, number: u64) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    if number > 0 {
        name.push(format!(".{number}"));
    }
    path.with_file_name(name)
}

/// The backups of `path` (`<name>.bak`, `<name>.bak.N`), newest first.
pub fn list_backups(path: &Path) -> Result<Vec<BackupFile>> {
    let folder = parent(path);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(vec![]);
    };
    let prefix = format!("{name}.bak");
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", folder.display())),
    };
    let mut found = vec![];
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let number = match rest {
            "" => 0,
            _ => match rest.strip_prefix('.').and_then(|n| n.parse::<u64>().ok()) {
                Some(n) if n > 0 => n,
                _ => continue,
            },
        };
        let meta = entry
            .metadata()
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        if !meta.is_file() {
            continue;
        }
        found.push(BackupFile {
            path: entry.path(),
            number,
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            bytes: meta.len(),
        });
    }
    found.sort_by_key(|b| std::cmp::Reverse(b.number));
    Ok(found)
}

/// Removes ccrescue's own temp files in `dir` whose process is gone (left by a SIGKILL or a power
/// cut); returns the paths removed. Temp files of a ccrescue still running are left alone.
pub fn sweep_stale_temps(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut removed = vec![];
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) && fs::remove_file(entry.path()).is_ok()
        {
            removed.push(entry.path());
        }
    }
    removed.sort();
    removed
}

/// The pid in a temp file name `.<name>.ccrescue-<pid>.tmp`.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let (_, pid) = rest.rsplit_once(TEMP_MARK)?;
    pid.parse().ok()
}

fn process_alive(pid: u32) -> bool {
    let Ok(mut sys) = sysinfo::System::new() else {
        return true; // cannot tell: keep the file
    };
    let pid = sysinfo::Pid::from_u32(pid);
    sys.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::Some(&[pid]),
        true,
        sysinfo::ProcessRefreshKind::nothing(),
    );
    sys.process(pid).is_some()
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

/// Writes a new file `path` with `bytes` (never over an existing file: `create_new`), synced, with
/// the folder synced after. On an error the partial file is removed.
pub fn create_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let _defer = interrupt::defer();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
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

/// Deletes one file (a backup being pruned).
pub fn remove(path: &Path) -> Result<()> {
    fs::remove_file(path).with_context(|| format!("cannot delete {}", path.display()))
}

/// A temp file next to the target, removed on drop unless disarmed (renamed into place).
struct TempFile {
    path: PathBuf,
    armed: std::cell::Cell<bool>,
}

impl TempFile {
    fn create(target: &Path) -> Result<TempFile> {
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let path = target.with_file_name(format!(
            ".{name}{TEMP_MARK}{}{TEMP_SUFFIX}",
            std::process::id()
        ));
        // A leftover of an earlier run with the same pid (pids are reused) is ours to replace.
        let _ = fs::remove_file(&path);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot create a temp file in {} (is the folder writable?)",
                    parent(target).display()
                )
            })?;
        Ok(TempFile {
            path,
            armed: std::cell::Cell::new(true),
        })
    }

    fn file(&self) -> Result<File> {
        OpenOptions::new()
            .write(true)
            .open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))
    }

    fn disarm(&self) {
        self.armed.set(false);
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed.get() {
            let _ = fs::remove_file(&self.path);
        }
    }
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

/// Gives `temp` the original's permissions and (on unix) owner.
fn keep_permissions(original: &fs::Metadata, temp: &Path) -> Result<()> {
    fs::set_permissions(temp, original.permissions())
        .with_context(|| format!("cannot set the permissions of {}", temp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let mine = fs::metadata(temp)?;
        if (mine.uid(), mine.gid()) != (original.uid(), original.gid()) {
            std::os::unix::fs::chown(temp, Some(original.uid()), Some(original.gid()))
                .with_context(|| {
                    format!(
                        "cannot give {} the original's owner ({}:{}); run ccrescue as the file's owner",
                        temp.display(),
                        original.uid(),
                        original.gid()
                    )
                })?;
        }
    }
    Ok(())
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
