//! PROVISIONAL stand-in for the lead's `fsx` (the only module that writes files), with the API
//! names from BRIEF.md, so `trim` builds and is tested before main's lands; main's replaces this
//! file on merge. Only what trim uses is here: `replace`, `next_backup_path`, `sweep_stale_temps`.
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// How `replace` keeps the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backup {
    None,
    /// A hard link of the original taken just before the rename (a copy where links fail).
    Link,
    /// A real copy taken first.
    Copy,
}

pub struct Replaced {
    pub backup: Option<PathBuf>,
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.ccrescue-{}.tmp", std::process::id()))
}

/// The backup name `replace`/`backup_copy` would take now: `<file>.bak`, else `.bak.1`, `.bak.2`, …
pub fn next_backup_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    (0..)
        .map(|n| match n {
            0 => path.with_file_name(format!("{name}.bak")),
            n => path.with_file_name(format!("{name}.bak.{n}")),
        })
        .find(|p| fs::symlink_metadata(p).is_err())
        .expect("some backup name is free")
}

/// Links (or copies) `path` to the first free backup name, never overwriting one.
fn take_backup(path: &Path, kind: Backup) -> Result<PathBuf> {
    loop {
        let to = next_backup_path(path);
        let made = match kind {
            Backup::Link => fs::hard_link(path, &to).or_else(|_| copy_new(path, &to)),
            _ => copy_new(path, &to),
        };
        match made {
            Ok(()) => return Ok(to),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot write backup {}", to.display()));
            }
        }
    }
}

fn copy_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut out = OpenOptions::new().write(true).create_new(true).open(to)?;
    io::copy(&mut File::open(from)?, &mut out)?;
    out.sync_all()
}

/// write → temp → validate → fsync → backup → rename over → fsync folder; keeps the mode.
pub fn replace(
    path: &Path,
    backup: Backup,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
    validate: impl FnOnce(&Path) -> Result<()>,
) -> Result<Replaced> {
    let temp = temp_path(path);
    let result = (|| {
        let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .with_context(|| format!("cannot create {}", temp.display()))?;
        write(&mut file)?;
        file.flush()?;
        file.sync_all()
            .with_context(|| format!("cannot write {}", temp.display()))?;
        fs::set_permissions(&temp, meta.permissions())?;
        drop(file);
        validate(&temp)?;
        let backup = match backup {
            Backup::None => None,
            kind => Some(take_backup(path, kind)?),
        };
        fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))?;
        if let Some(d) = path.parent().and_then(|dir| File::open(dir).ok()) {
            let _ = d.sync_all();
        }
        Ok(Replaced { backup })
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Removes ccrescue's own stale temp files (dead pid) in `dir`; returns what it removed.
pub fn sweep_stale_temps(dir: &Path) -> Vec<PathBuf> {
    let mut removed = vec![];
    let Ok(entries) = fs::read_dir(dir) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_suffix(".tmp") else {
            continue;
        };
        let Some((_, pid)) = rest.rsplit_once(".ccrescue-") else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if !alive && fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}
