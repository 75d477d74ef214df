//! `ccrescue restore`: list a session's backups, put one back (after backing up the current
//! state, so a restore can itself be undone), or prune old ones. Every write goes through `fsx`.
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::cli::RestoreArgs;
use crate::context::Ctx;
use crate::error::{EXIT_OK, refused};
use crate::fsx::{self, Backup, BackupFile};
use crate::json::rfc3339;
use crate::paths::SessionFile;
use crate::{format, interrupt, live, select, ui};

pub mod journal;
mod prune;
mod put_back;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

pub fn restore_cmd(ctx: &mut Ctx, args: &RestoreArgs) -> Result<u8> {
    if ctx.args.session.is_none()
        && let Some(backup) = &args.backup
    {
        // A backup names its session (`<id>.jsonl.bak[.N]`): `--backup` alone is enough, so the
        // undo command printed after a restore works from any folder.
        ctx.args.session = Some(session_of_backup(backup)?.to_string_lossy().into_owned());
    }
    let Some(chosen) = select::choose(ctx)? else {
        return Err(refused(
            format!(
                "no session here to restore: claude has none for {} (in {})",
                ctx.project.display(),
                ctx.sessions_dir.display()
            ),
            Some(select::no_session_hint(ctx)),
        ));
    };
    let session = chosen.file;
    fsx::sweep_stale_temps_beside(&session.path, |line| {
        eprintln!(
            "{} {line}",
            console::style("warning:").for_stderr().yellow().bold()
        )
    });
    let backups = fsx::list_backups(&session.path)
        .with_context(|| format!("cannot list the backups of {}", session.path.display()))?;
    if let Some(days) = args.prune {
        return prune::prune(ctx, &session, &backups, days);
    }
    if args.list {
        return list(ctx, &session, &backups);
    }
    put_back::put_back(ctx, args, &session, &backups)
}

/// The command that puts `backup` back over `session`, for a message. `--backup` alone finds
/// its session by the backup's name, which for a symlinked session is the link's target, outside
/// the projects folder: the session is then named too.
pub fn undo_command(session: &Path, backup: &Path) -> String {
    let quote = |p: &Path| crate::ladder::quote(&p.to_string_lossy());
    let mut command = String::from("ccrescue restore");
    if session_of_backup(backup).ok().as_deref() != Some(session) {
        command += &format!(" --session {}", quote(session));
    }
    command += &format!(" --backup {}", quote(backup));
    format::safe(&command).into_owned()
}

/// `<dir>/<id>.jsonl` for `<dir>/<id>.jsonl.bak` or `<dir>/<id>.jsonl.bak.N`.
fn session_of_backup(backup: &Path) -> Result<PathBuf> {
    let name = backup
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = match name.rsplit_once(".bak") {
        Some((stem, "")) => Some(stem),
        Some((stem, n)) if n.len() > 1 && n[1..].bytes().all(|b| b.is_ascii_digit()) => {
            n.starts_with('.').then_some(stem)
        }
        _ => None,
    };
    match stem {
        Some(stem) if stem.ends_with(".jsonl") => Ok(backup.with_file_name(stem)),
        _ => Err(refused(
            format!(
                "{} is not a ccrescue backup (their names are <session>.jsonl.bak or <session>.jsonl.bak.N)",
                backup.display()
            ),
            Some("`ccrescue restore --list` lists the backups of a session".into()),
        )),
    }
}

/// When the backup was made, as well as the filesystem tells: a hard-link backup keeps the
/// session's modification time, so the inode change time (set by the link; unix) or the creation
/// time (Windows) counts too.
/// The later of the two, so pruning errs on the side of keeping.
fn made(b: &BackupFile) -> SystemTime {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(&b.path) {
            let ctime = SystemTime::UNIX_EPOCH + Duration::new(meta.ctime().max(0) as u64, 0);
            return b.modified.max(ctime);
        }
    }
    // Elsewhere (Windows) the creation time, which a copy gets when it is made; a hard link shares
    // its file's, so there a linked backup of an old session can still look old.
    #[cfg(not(unix))]
    if let Ok(created) = std::fs::metadata(&b.path).and_then(|m| m.created()) {
        return b.modified.max(created);
    }
    b.modified
}

fn backup_json(b: &BackupFile) -> Value {
    json!({
        "path": b.path.to_string_lossy(),
        "modified": rfc3339(b.modified),
        "made": rfc3339(made(b)),
        "bytes": b.bytes,
    })
}

fn describe(b: &BackupFile) -> String {
    format!(
        "{}  {}, {}",
        name(&b.path),
        format::human_bytes(b.bytes),
        format::ago(made(b))
    )
}

/// A session's backups with what the journal says about them, and the default choice.
pub(crate) struct Labelled<'a> {
    pub backups: &'a [BackupFile],
    pub entries: Vec<journal::Entry>,
    /// The backup to preselect; `None` when the journal says nothing of ccrescue's is in effect.
    pub default: Option<usize>,
}

impl<'a> Labelled<'a> {
    pub fn of(session: &SessionFile, backups: &'a [BackupFile]) -> Labelled<'a> {
        let entries = journal::entries_of(&session.path);
        let default = match journal::default_choice(&entries, backups) {
            journal::Choice::Backup(i) => Some(i),
            journal::Choice::Nothing => None,
            // The journal cannot tell (backups from before it, say): the newest.
            journal::Choice::Unknown => (!backups.is_empty()).then_some(0),
        };
        Labelled {
            backups,
            entries,
            default,
        }
    }

    fn entry(&self, b: &BackupFile) -> Option<&journal::Entry> {
        journal::entry_for(&self.entries, b)
    }

    /// When the backup was made: the journal's time, else the file system's best guess.
    fn made(&self, b: &BackupFile) -> SystemTime {
        self.entry(b)
            .map_or_else(|| made(b), journal::Entry::made_at)
    }

    /// "before trim", or "not recorded" for a backup the journal has no entry for.
    fn why(&self, b: &BackupFile) -> String {
        self.entry(b)
            .map_or_else(|| "reason not recorded".to_owned(), journal::Entry::label)
    }

    fn json(&self, b: &BackupFile) -> Value {
        let i = self.backups.iter().position(|x| x == b);
        json!({
            "path": b.path.to_string_lossy(),
            "modified": rfc3339(b.modified),
            "made": rfc3339(self.made(b)),
            "why": self.entry(b).map(|e| e.why.clone()),
            "restored_from": self.entry(b).and_then(|e| e.from.as_ref()).map(|p| p.to_string_lossy()),
            "default": i.is_some() && i == self.default,
            "bytes": b.bytes,
        })
    }

    /// One line for a menu: name, when, why, size.
    fn describe(&self, b: &BackupFile) -> String {
        format!(
            "{}  {}, {}, {}",
            short(&b.path),
            format::ago(self.made(b)),
            self.why(b),
            format::human_bytes(b.bytes)
        )
    }
}

fn session_json(s: &SessionFile) -> Value {
    json!({
        "id": s.id,
        "path": s.path.to_string_lossy(),
        "bytes": s.bytes,
        "modified": rfc3339(s.modified),
    })
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// A backup's (or the session's) name with the session id cut to its first block, for menus
/// and tables on a terminal: `0d3a8e6f….jsonl.bak.1`.
fn short(p: &Path) -> String {
    let n = name(p);
    match (n.split_once('-'), n.find(".jsonl")) {
        (Some((head, _)), Some(ext)) if head.len() < ext => format!("{head}…{}", &n[ext..]),
        _ => n,
    }
}

fn list(ctx: &Ctx, session: &SessionFile, backups: &[BackupFile]) -> Result<u8> {
    let mut out = io::stdout().lock();
    let labelled = Labelled::of(session, backups);
    if ctx.args.json {
        let doc = json!({
            "session": session_json(session),
            "backups": backups.iter().map(|b| labelled.json(b)).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(EXIT_OK);
    }
    if backups.is_empty() {
        writeln!(
            out,
            "Session {} has no backups (ccrescue writes one before each change it makes).",
            session.id
        )?;
        return Ok(EXIT_OK);
    }
    let width = format::width_of(&console::Term::stdout());
    let mut out = format::FitLines::new(out, width);
    writeln!(
        out,
        "Backups of session {} ({}), newest first:",
        session.id,
        format::safe(&session.path.display().to_string())
    )?;
    let whys: Vec<String> = backups
        .iter()
        .enumerate()
        .map(|(i, b)| match Some(i) == labelled.default {
            true => format!("{} (default)", labelled.why(b)),
            false => labelled.why(b),
        })
        .collect();
    let w_why = whys
        .iter()
        .map(|w| w.chars().count())
        .chain([20])
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "  {:<3} {:>11}  {:<w_why$}  {:>9}  FILE",
        "#", "MADE", "WHY", "SIZE"
    )?;
    for (i, (b, why)) in backups.iter().zip(&whys).enumerate() {
        writeln!(
            out,
            "  {:<3} {:>11}  {:<w_why$}  {:>9}  {}",
            i + 1,
            format::ago(labelled.made(b)),
            why,
            format::human_bytes(b.bytes),
            // The whole path for scripts; on a terminal the name (the folder is named above).
            match width {
                Some(_) => short(&b.path),
                None => format::safe(&b.path.display().to_string()).into_owned(),
            }
        )?;
    }
    writeln!(
        out,
        "  now {:>11}  {:<w_why$}  {:>9}  {}",
        format::ago(session.modified),
        "the session as it is",
        format::human_bytes(session.bytes),
        match width {
            Some(_) => short(&session.path),
            None => format::safe(&session.path.display().to_string()).into_owned(),
        }
    )?;
    match labelled.default {
        Some(i) => writeln!(
            out,
            "Put one back: `ccrescue restore` asks (preselecting #{}, the state before ccrescue's \
             last change); `--backup FILE` names one.",
            i + 1
        )?,
        None => writeln!(
            out,
            "The session is as it was before ccrescue's first recorded change. Put one back \
             anyway: `ccrescue restore --backup FILE`."
        )?,
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_names_its_session() {
        let ok = |p: &str| session_of_backup(Path::new(p)).unwrap();
        assert_eq!(ok("/p/a.jsonl.bak"), Path::new("/p/a.jsonl"));
        assert_eq!(ok("/p/a.jsonl.bak.12"), Path::new("/p/a.jsonl"));
        for bad in [
            "/p/a.jsonl",
            "/p/a.jsonl.bak.",
            "/p/a.jsonl.bak.x",
            "/p/a.txt.bak",
            "/p/a.jsonl.bakx",
        ] {
            assert!(session_of_backup(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
