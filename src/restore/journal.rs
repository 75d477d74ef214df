//! Why and when each backup was made (issue 16.6), kept apart from the backups so that their
//! bytes stay the session's: one JSON line per backup in a private journal in ccrescue's state
//! folder (`dirs::state_dir()`, else `dirs::data_local_dir()`, + `ccrescue/backups.jsonl`).
//! The command that is about to change a file says why ([`set_reason`]); `fsx` calls [`record`]
//! when it has claimed a backup name. The journal is a help, never a condition: a failure to
//! write or read it changes nothing else, and a backup without an entry is shown as such.
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::fsx::BackupFile;

/// What a backup was taken before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Compaction,
    Trim,
    /// Putting back the backup at this path.
    Restore(PathBuf),
    SettingsFix,
}

static REASON: Mutex<Option<Reason>> = Mutex::new(None);

/// Says why the backups made from now on are made (until the next call).
pub fn set_reason(reason: Reason) {
    *REASON.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
}

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The backup, absolute.
    pub backup: PathBuf,
    /// The file it is a backup of.
    pub of: PathBuf,
    /// Seconds since the Unix epoch.
    pub made: u64,
    /// `compaction`, `trim`, `restore`, `settings fix`, or `change` when no reason was set.
    pub why: String,
    /// For a restore: the backup that was put back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<PathBuf>,
    /// The backup's size when it was made: an entry whose file no longer has it is stale.
    pub bytes: u64,
}

impl Entry {
    pub fn made_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(self.made)
    }

    /// "before trim", "before restoring x.jsonl.bak", …
    pub fn label(&self) -> String {
        match (&self.why[..], &self.from) {
            // The backup's own suffix: the session is named around it.
            ("restore", Some(from)) => {
                let name = from.file_name().unwrap_or_default().to_string_lossy();
                let suffix = name.rfind(".bak").map_or(&name[..], |at| &name[at..]);
                format!("before restoring {suffix}")
            }
            (why, _) => format!("before {why}"),
        }
    }
}

/// The journal's path; `None` where the platform has no such folder.
pub fn path() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("ccrescue").join("backups.jsonl"))
}

/// Notes that `backup` was just made of `of`, for the reason set last.
pub fn record(of: &Path, backup: &Path) {
    if cfg!(test) {
        return; // unit tests make backups in temp folders: the user's journal is not theirs
    }
    let reason = REASON.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (why, from) = match reason {
        Some(Reason::Compaction) => ("compaction", None),
        Some(Reason::Trim) => ("trim", None),
        Some(Reason::Restore(from)) => ("restore", Some(absolute(&from))),
        Some(Reason::SettingsFix) => ("settings fix", None),
        None => ("change", None),
    };
    let entry = Entry {
        backup: absolute(backup),
        of: absolute(of),
        made: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        why: why.to_owned(),
        from,
        bytes: fs::metadata(backup).map_or(0, |m| m.len()),
    };
    if let Some(journal) = path() {
        let _ = append(&journal, &entry);
    }
}

fn absolute(p: &Path) -> PathBuf {
    dunce::canonicalize(p).unwrap_or_else(|_| p.to_owned())
}

/// Appends one line; the folder and the file are private (0700, 0600) from the start.
fn append(journal: &Path, entry: &Entry) -> std::io::Result<()> {
    let dir = journal.parent().expect("the journal is in a folder");
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let mut open = OpenOptions::new();
    open.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    line.push('\n');
    // One write of one line with O_APPEND: concurrent ccrescues do not interleave lines.
    open.open(journal)?.write_all(line.as_bytes())
}

/// The journal's entries about `session`'s backups, oldest first.
pub fn entries_of(session: &Path) -> Vec<Entry> {
    let Some(journal) = path() else {
        return vec![];
    };
    let Ok(text) = fs::read_to_string(journal) else {
        return vec![];
    };
    let session = absolute(session);
    text.lines()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .filter(|e| e.of == session)
        .collect()
}

/// The entry that describes `backup` as it is now (the last one for its path, if its size
/// still matches).
pub fn entry_for<'a>(entries: &'a [Entry], backup: &BackupFile) -> Option<&'a Entry> {
    let path = absolute(&backup.path);
    entries
        .iter()
        .rev()
        .find(|e| e.backup == path)
        .filter(|e| e.bytes == backup.bytes)
}

/// What the journal says the default backup is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// This one (an index into the backups).
    Backup(usize),
    /// None: nothing ccrescue changed is in effect.
    Nothing,
    /// The journal cannot tell (no entries, or a chain leading to a backup it has none for).
    Unknown,
}

/// The backup to preselect: the state before the most recent ccrescue change still in effect.
/// A restore is not such a change but a step back through them: after trim, trim, restore of
/// the first backup, the change in effect is none (the session is as it was), so there is no
/// default ([`Choice::Nothing`]) rather than the trimmed state.
///
/// An entry whose backup name a later entry took again describes a file that is gone: backups
/// never overwrite, so the name was free again (pruned, or deleted by hand). Such entries are
/// left out, or after `restore --prune 0` the walk back would land on an old entry whose name
/// now holds a newer backup, and undo an undo. The backup chosen must also still have the size
/// its entry recorded.
pub fn default_choice(entries: &[Entry], backups: &[BackupFile]) -> Choice {
    let entries: Vec<&Entry> = entries
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            !entries[i + 1..]
                .iter()
                .any(|later| later.backup == e.backup)
        })
        .map(|(_, e)| e)
        .collect();
    let Some(mut top) = entries.len().checked_sub(1) else {
        return Choice::Unknown;
    };
    // Bounded: each step moves strictly back through the entries.
    loop {
        let e = entries[top];
        match (&e.why[..], &e.from) {
            ("restore", Some(from)) => {
                let Some(k) = entries[..top].iter().rposition(|x| &x.backup == from) else {
                    return Choice::Unknown;
                };
                match k.checked_sub(1) {
                    Some(before) => top = before,
                    None => return Choice::Nothing,
                }
            }
            _ => {
                return backups
                    .iter()
                    .position(|b| absolute(&b.path) == e.backup && b.bytes == e.bytes)
                    .map_or(Choice::Unknown, Choice::Backup);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64, why: &str, from: Option<u64>) -> Entry {
        Entry {
            backup: PathBuf::from(format!("/s.jsonl.bak.{n}")),
            of: PathBuf::from("/s.jsonl"),
            made: n,
            why: why.into(),
            from: from.map(|f| PathBuf::from(format!("/s.jsonl.bak.{f}"))),
            bytes: 1,
        }
    }

    fn backups(n: u64) -> Vec<BackupFile> {
        (0..n)
            .rev()
            .map(|i| BackupFile {
                path: PathBuf::from(format!("/s.jsonl.bak.{i}")),
                number: i,
                bytes: 1,
                modified: SystemTime::UNIX_EPOCH,
            })
            .collect()
    }

    #[test]
    fn the_default_undoes_the_last_change_in_effect_never_a_restore() {
        // trim (bak.0), trim (bak.1): undo the second trim.
        let e = [entry(0, "trim", None), entry(1, "trim", None)];
        let b = backups(2);
        assert_eq!(
            default_choice(&e, &b),
            Choice::Backup(0),
            "bak.1, newest first"
        );
        // … then restore bak.0 (backup bak.2 = the twice-trimmed state): nothing in effect.
        let e = [
            entry(0, "trim", None),
            entry(1, "trim", None),
            entry(2, "restore", Some(0)),
        ];
        assert_eq!(default_choice(&e, &backups(3)), Choice::Nothing);
        // Restoring bak.1 instead leaves the first trim in effect: bak.0 undoes it.
        let e = [
            entry(0, "trim", None),
            entry(1, "trim", None),
            entry(2, "restore", Some(1)),
        ];
        let b = backups(3);
        assert_eq!(default_choice(&e, &b), Choice::Backup(2));
        assert_eq!(b[2].number, 0);
        // A compaction after that is the latest change.
        let e = [
            entry(0, "trim", None),
            entry(1, "trim", None),
            entry(2, "restore", Some(1)),
            entry(3, "compaction", None),
        ];
        let b = backups(4);
        assert_eq!(default_choice(&e, &b), Choice::Backup(0));
        assert_eq!(b[0].number, 3);
        assert_eq!(default_choice(&[], &b), Choice::Unknown);
        // A backup that no longer has the size its entry recorded is not the one it describes.
        let mut b = backups(2);
        b[0].bytes = 2;
        let e = [entry(0, "trim", None), entry(1, "trim", None)];
        assert_eq!(default_choice(&e, &b), Choice::Unknown);
        assert_eq!(
            entry(2, "restore", Some(1)).label(),
            "before restoring .bak.1"
        );
    }

    #[test]
    fn entries_of_pruned_backups_whose_names_came_back_are_left_out() {
        // Found by a review: trim (bak.0), trim (bak.1), `restore --prune 0` (both gone), trim
        // (bak.0 again), restore bak.0 (its backup: bak.1 again). Nothing is in effect now; the
        // walk back used to reach the first run's bak.1 entry and restore the trimmed state.
        let e = [
            entry(0, "trim", None),
            entry(1, "trim", None),
            entry(0, "trim", None),
            entry(1, "restore", Some(0)),
        ];
        assert_eq!(default_choice(&e, &backups(2)), Choice::Nothing);
        // A change after that is undone by its own backup, not by the old entries.
        let mut e = e.to_vec();
        e.push(entry(2, "compaction", None));
        let b = backups(3);
        assert_eq!(default_choice(&e, &b), Choice::Backup(0));
        assert_eq!(b[0].number, 2);
    }
}
