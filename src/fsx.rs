//! PLACEHOLDER until the lead's `fsx` lands on main (take main's version on merge): the subset of
//! the agreed API that `settings --fix` uses — atomic replace with a backup that never overwrites.
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// Which backup `replace` takes of the original.
pub enum Backup {
    None,
    /// A hard link of the original taken just before the rename (a copy where links fail).
    Link,
    /// A real copy taken first.
    Copy,
}

/// What `replace` did besides replacing.
#[derive(Debug)]
pub struct Replaced {
    pub backup: Option<PathBuf>,
}

/// write → temp file `.<name>.ccrescue-<pid>.tmp` in the same folder → validate(temp path) →
/// fsync → backup → rename over → fsync folder; keeps the mode; on any error the temp is removed
/// and the original is untouched.
pub fn replace(
    path: &Path,
    backup: Backup,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
    validate: impl FnOnce(&Path) -> Result<()>,
) -> Result<Replaced> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().context("no file name")?.to_string_lossy();
    let temp = dir.join(format!(".{name}.ccrescue-{}.tmp", std::process::id()));
    let result = (|| {
        let meta = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        let mut f = fs::File::create(&temp)
            .with_context(|| format!("creating {} (is the folder writable?)", temp.display()))?;
        write(&mut f)?;
        f.flush()?;
        f.set_permissions(meta.permissions())?;
        f.sync_all()?;
        drop(f);
        validate(&temp)?;
        let taken = match backup {
            Backup::None => None,
            Backup::Link => Some(backup_with(path, |to| fs::hard_link(path, to))?),
            Backup::Copy => Some(backup_copy(path)?),
        };
        fs::rename(&temp, path).with_context(|| format!("replacing {}", path.display()))?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(Replaced { backup: taken })
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A real copy `<file>.bak`, else `.bak.1`, `.bak.2`, … (never overwrites).
pub fn backup_copy(path: &Path) -> Result<PathBuf> {
    backup_with(path, |to| {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(to)?;
        io::copy(&mut fs::File::open(path)?, &mut out)?;
        out.sync_all()
    })
}

fn backup_with(path: &Path, make: impl Fn(&Path) -> io::Result<()>) -> Result<PathBuf> {
    for n in 0..10_000 {
        let mut name = path.as_os_str().to_owned();
        name.push(if n == 0 {
            ".bak".into()
        } else {
            format!(".bak.{n}")
        });
        let to = PathBuf::from(name);
        match make(&to) {
            Ok(()) => return Ok(to),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("backing up to {}", to.display())),
        }
    }
    anyhow::bail!("too many backups of {}", path.display())
}
