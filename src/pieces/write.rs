//! Appending the new records: a real backup copy first (never over an earlier one), then one
//! append on a descriptor of the session file that is checked to be the planned file at the
//! planned length, synced; then the file is re-scanned. If the append or the check fails, the
//! file is cut back to its planned length, which is byte for byte the backup.
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};

use crate::diagnose::STANDARD_WINDOW;
use crate::format::thousands;
use crate::fsx;
use crate::session::{self, SessionScan};

/// What the write did.
#[derive(Debug)]
pub struct Appended {
    pub backup: PathBuf,
    pub after: SessionScan,
}

/// Backs `path` up, appends `lines` (ending a torn last line first), and verifies the result
/// with a re-scan: a new last boundary holding the summary, under the standard window. On
/// failure the file is put back to what the backup holds and the error says so.
pub fn append_with_backup(path: &Path, planned_len: u64, lines: &[String]) -> Result<Appended> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} for appending", path.display()))?;
    let len = file.metadata()?.len();
    if len != planned_len {
        bail!(
            "{} changed while the summaries were written ({} bytes, {} planned): is a claude \
             running on it? Nothing was changed; run ccrescue again once claude has quit",
            path.display(),
            thousands(len),
            thousands(planned_len)
        );
    }
    let backup = fsx::backup_copy(path)?;
    let result = append_and_check(&mut file, path, len, lines);
    match result {
        Ok(after) => Ok(Appended { backup, after }),
        Err(e) => {
            let put_back = file.set_len(len).and_then(|()| file.sync_all());
            match put_back {
                Ok(()) => Err(e.context(format!(
                    "the session was put back as it was (the backup {} holds the same)",
                    backup.display()
                ))),
                Err(io) => Err(e.context(format!(
                    "and putting the session back failed ({io}): restore it with `{}`",
                    crate::restore::undo_command(path, &backup)
                ))),
            }
        }
    }
}

fn append_and_check(
    file: &mut File,
    path: &Path,
    len: u64,
    lines: &[String],
) -> Result<SessionScan> {
    let mut bytes = Vec::new();
    if len > 0 && !ends_in_newline(file, len)? {
        bytes.push(b'\n');
    }
    for l in lines {
        bytes.extend_from_slice(l.as_bytes());
        bytes.push(b'\n');
    }
    file.write_all(&bytes)
        .with_context(|| format!("cannot append to {}", path.display()))?;
    file.sync_all()?;
    let after = session::scan(path)?;
    check(&after)?;
    Ok(after)
}

fn ends_in_newline(file: &mut File, len: u64) -> Result<bool> {
    use std::io::Read;
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// The re-scan must see a boundary (ours is the last one) and a context under the window.
fn check(after: &SessionScan) -> Result<()> {
    if after.last_boundary_line.is_none() {
        return Err(anyhow!(
            "the re-scan found no compact_boundary after the append"
        ));
    }
    match after.context {
        Some(c) if c.tokens < STANDARD_WINDOW => Ok(()),
        Some(c) => Err(anyhow!(
            "after the compaction in pieces the context would still be {} tokens, not under \
             the {}-token window (a smaller --keep-recent keeps less verbatim)",
            thousands(c.tokens),
            thousands(STANDARD_WINDOW)
        )),
        None => Err(anyhow!(
            "the re-scan found no context size after the new boundary"
        )),
    }
}
