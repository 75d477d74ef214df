//! Backup names and backups: `<file>.bak`, then `.bak.1`, `.bak.2`, … (one past the highest
//! name present, whatever it is, never overwriting one), taken as a hard link (O(1)) or a real copy
//! that is checked to fit on the disk, written to a private temp file and moved into place without
//! clobbering.
use std::fs::{self, File};
use std::io::{self, Seek as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context as _, Result, bail};

use super::temp::names_this_file;
use super::{TempFile, copy_checked, parent, resolve, sync_folder};
use crate::interrupt;

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

/// A real copy of `path` as its next backup name, never overwriting one: written to a temp file,
/// synced, then linked into place (no-clobber). Checks first that the copy fits on the disk.
pub fn backup_copy(path: &Path) -> Result<PathBuf> {
    let _defer = interrupt::defer();
    let path = &resolve(path);
    let mut src = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    backup_copy_from(path, &mut src)
}

/// [`backup_copy`] of what `src` (a file opened on `path`, or its old version) holds.
pub(super) fn backup_copy_from(path: &Path, src: &mut File) -> Result<PathBuf> {
    backup_copy_into(path, src, None)
}

/// A copy of `src` as the next backup of `path`; when `planned` is given, under that name only.
fn backup_copy_into(path: &Path, src: &mut File, planned: Option<&Path>) -> Result<PathBuf> {
    let meta = src
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
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
    // Named after the backup, not the session: `replace` may hold the session's own temp file
    // (the copy is its fallback where hard links fail), and creating one removes a leftover of
    // the same name.
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut temp = TempFile::create(&path.with_file_name(format!("{name}.bak")), Some(&meta))?;
    copy_checked(src, temp.file()).with_context(|| {
        format!(
            "cannot copy {} to {}",
            path.display(),
            temp.path().display()
        )
    })?;
    if let Ok(m) = meta.modified() {
        let _ = temp.file().set_modified(m); // a copy dates from its content, like a link backup
    }
    temp.keep_permissions(&meta)?;
    temp.file()
        .sync_all()
        .with_context(|| format!("cannot sync {}", temp.path().display()))?;
    // Moved into place without clobbering: the next free number, or exactly `planned`.
    let mut number = next_number(path)?;
    let backup = loop {
        let candidate = backup_name(path, number);
        if let Some(planned) = planned.filter(|p| *p != candidate) {
            bail!(not_planned(planned, &candidate));
        }
        match temp.persist_new(&candidate)? {
            Ok(done) => break done,
            Err(back) => temp = back,
        }
        number += 1;
    };
    sync_folder(path);
    crate::restore::journal::record(path, &backup); // when and why (issue 16.6)
    Ok(backup)
}

/// A hard link to `path` (open as `original`) named `planned`, its next backup name; a copy
/// where links fail. Refuses when `planned` is taken meanwhile or the link is not `original`.
pub(super) fn backup_link(path: &Path, original: &File, planned: &Path) -> Result<PathBuf> {
    #[cfg(all(test, unix))]
    let linked = match super::tests::NO_HARD_LINKS.get() {
        true => Err(io::Error::from(io::ErrorKind::Unsupported)),
        false => fs::hard_link(path, planned),
    };
    #[cfg(not(all(test, unix)))]
    let linked = fs::hard_link(path, planned);
    match linked {
        Ok(()) if names_this_file(planned, original) => {
            crate::restore::journal::record(path, planned); // when and why (issue 16.6)
            Ok(planned.to_owned())
        }
        Ok(()) => {
            let _ = fs::remove_file(planned);
            bail!(
                "{} was swapped by another program while ccrescue backed it up; nothing was changed",
                path.display()
            )
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            bail!(not_planned(planned, &backup_name(path, next_number(path)?)))
        }
        // No hard links here (some network and FAT file systems): a real copy, same name.
        Err(_) => {
            let mut src = original.try_clone()?;
            src.seek(io::SeekFrom::Start(0))?;
            backup_copy_into(path, &mut src, Some(planned))
        }
    }
}

fn not_planned(planned: &Path, now: &Path) -> String {
    format!(
        "{} appeared while ccrescue was working (the backup would be {}, not the {} announced); nothing was changed — run ccrescue again",
        planned.display(),
        now.display(),
        planned.display()
    )
}

/// The number the next backup gets: one past the highest `<name>.bak[.N]` entry of any kind
/// (a dangling symlink or a folder with a backup's name counts too: that name is taken).
fn next_number(path: &Path) -> Result<u64> {
    let folder = parent(path);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(0);
    };
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", folder.display())),
    };
    let mut next = 0;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|f| backup_number(f, name))
        {
            next = next.max(n.saturating_add(1));
        }
    }
    Ok(next)
}

/// 0 for `<name>.bak`, N for `<name>.bak.N` (N > 0); `None` for any other name.
fn backup_number(file_name: &str, name: &str) -> Option<u64> {
    match file_name.strip_prefix(name)?.strip_prefix(".bak")? {
        "" => Some(0),
        rest => rest
            .strip_prefix('.')
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| *n > 0),
    }
}

/// The name the next backup of `path` would get (for messages shown before writing).
pub fn next_backup_path(path: &Path) -> Result<PathBuf> {
    let path = &resolve(path);
    Ok(backup_name(path, next_number(path)?))
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
    let path = &resolve(path);
    let folder = parent(path);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(vec![]);
    };
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", folder.display())),
    };
    let mut found = vec![];
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
        let file_name = entry.file_name();
        let Some(number) = file_name.to_str().and_then(|n| backup_number(n, name)) else {
            continue;
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
