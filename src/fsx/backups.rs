//! Backup names and backups: `<file>.bak`, then `.bak.1`, `.bak.2`, … (one past the highest
//! present, never overwriting one), taken as a hard link (O(1)) or a real copy that is checked to
//! fit on the disk, written under a temp name and linked into place.
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context as _, Result, bail};

use super::{TempFile, copy_checked, keep_permissions, parent, resolve, sync_folder};
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
    let temp = TempFile::create(path)?;
    {
        let mut dst = temp.file()?;
        copy_checked(src, &mut dst).with_context(|| {
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
pub(super) fn backup_link(path: &Path) -> Result<PathBuf> {
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
            crate::restore::journal::record(path, &candidate); // when and why (issue 16.6)
            return Ok(candidate);
        }
        number += 1;
    }
}

/// The name the next backup of `path` would get (for messages shown before writing).
pub fn next_backup_path(path: &Path) -> Result<PathBuf> {
    let path = &resolve(path);
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
    let path = &resolve(path);
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
