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
                "this project has no sessions in {}",
                ctx.sessions_dir.display()
            ),
            Some("pass -C with the folder you ran claude in, or --session ID|PATH".into()),
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
        return prune(ctx, &session, &backups, days);
    }
    if args.list {
        return list(ctx, &session, &backups);
    }
    put_back(ctx, args, &session, &backups)
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
/// session's modification time, so on unix the inode change time (set by the link) counts too.
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

fn describe(b: &BackupFile) -> String {
    format!(
        "{}  {}, {}",
        name(&b.path),
        format::human_bytes(b.bytes),
        format::ago(b.modified)
    )
}

fn list(ctx: &Ctx, session: &SessionFile, backups: &[BackupFile]) -> Result<u8> {
    let mut out = io::stdout().lock();
    if ctx.args.json {
        let doc = json!({
            "session": session_json(session),
            "backups": backups.iter().map(backup_json).collect::<Vec<_>>(),
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
    writeln!(
        out,
        "Backups of session {} ({}), newest first:",
        session.id,
        session.path.display()
    )?;
    writeln!(out, "  {:<3} {:>13}  {:>9}  FILE", "#", "MODIFIED", "SIZE")?;
    for (i, b) in backups.iter().enumerate() {
        writeln!(
            out,
            "  {:<3} {:>13}  {:>9}  {}",
            i + 1,
            format::ago(b.modified),
            format::human_bytes(b.bytes),
            b.path.display()
        )?;
    }
    writeln!(
        out,
        "Now:  {:>13}  {:>9}  {}",
        format::ago(session.modified),
        format::human_bytes(session.bytes),
        session.path.display()
    )?;
    writeln!(
        out,
        "Put one back: ccrescue restore --backup FILE (or `ccrescue restore` to choose)."
    )?;
    Ok(EXIT_OK)
}

fn put_back(
    ctx: &Ctx,
    args: &RestoreArgs,
    session: &SessionFile,
    backups: &[BackupFile],
) -> Result<u8> {
    if backups.is_empty() {
        return Err(refused(
            format!(
                "session {} has no backups to restore ({} has no .bak files beside it)",
                session.id,
                session.path.display()
            ),
            Some("ccrescue writes a backup before each change it makes; there is none yet".into()),
        ));
    }
    if let Some(l) = live::find_live(&ctx.root, &session.id) {
        if !args.force {
            return Err(refused(
                format!(
                    "claude (pid {}) is running on session {}: restoring now would lose what it writes next",
                    l.pid, session.id
                ),
                Some(
                    "quit that claude first (/exit, or Ctrl-C twice), then run this again; \
                     --force restores anyway"
                        .into(),
                ),
            ));
        }
        eprintln!(
            "{} claude (pid {}) is running on this session; restoring anyway (--force): \
             quit it without sending anything, or it may overwrite the restored file",
            console::style("warning:").for_stderr().yellow().bold(),
            l.pid
        );
    }
    let from = pick(ctx, args, session, backups)?;
    let Some(from) = from else {
        eprintln!("Nothing restored.");
        return Ok(EXIT_OK);
    };
    let mut out = io::stdout().lock();
    if same_bytes(&from.path, &session.path)? {
        if ctx.args.json {
            let doc = restore_json(session, from, None, false, ctx.args.dry_run);
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        } else {
            writeln!(
                out,
                "{} is already identical to {}; nothing to do.",
                session.path.display(),
                name(&from.path)
            )?;
        }
        return Ok(EXIT_OK);
    }
    if ctx.args.dry_run {
        if ctx.args.json {
            let doc = restore_json(session, from, None, true, true);
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        } else {
            writeln!(
                out,
                "Would restore {} from {} ({}), after backing up its current state ({}). \
                 Nothing was changed (--dry-run).",
                session.path.display(),
                name(&from.path),
                format::human_bytes(from.bytes),
                format::human_bytes(session.bytes)
            )?;
        }
        return Ok(EXIT_OK);
    }
    let replaced = fsx::replace(
        &session.path,
        Backup::Link,
        |w| copy_checked(&from.path, w),
        |temp| {
            if same_bytes(temp, &from.path)? {
                Ok(())
            } else {
                anyhow::bail!("the copy of {} came out different", from.path.display())
            }
        },
    )
    .with_context(|| {
        format!(
            "cannot restore {} from {} (it was left as it was)",
            session.path.display(),
            from.path.display()
        )
    })?;
    if ctx.args.json {
        let doc = restore_json(session, from, replaced.backup.as_deref(), true, false);
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(EXIT_OK);
    }
    writeln!(
        out,
        "Restored {} from {}.",
        session.path.display(),
        name(&from.path)
    )?;
    match &replaced.backup {
        Some(undo) => writeln!(
            out,
            "The state before the restore is in {}: run `ccrescue restore --backup {}` to undo.",
            name(undo),
            undo.display()
        )?,
        None => writeln!(
            out,
            "No backup of the state before the restore was written."
        )?,
    }
    Ok(EXIT_OK)
}

fn restore_json(
    session: &SessionFile,
    from: &BackupFile,
    undo: Option<&Path>,
    changed: bool,
    dry_run: bool,
) -> Value {
    json!({
        "session": session_json(session),
        "restored_from": backup_json(from),
        "previous_state_backup": undo.map(|p| p.to_string_lossy()),
        "changed": changed,
        "dry_run": dry_run,
    })
}

/// The backup to put back: `--backup` (checked to be one of this session's), else the newest
/// with `--yes`, else the one picked on the terminal. `None` when the person cancelled.
fn pick<'a>(
    ctx: &Ctx,
    args: &RestoreArgs,
    session: &SessionFile,
    backups: &'a [BackupFile],
) -> Result<Option<&'a BackupFile>> {
    if let Some(wanted) = &args.backup {
        let wanted_real = dunce::canonicalize(wanted).ok();
        let found = backups
            .iter()
            .find(|b| wanted_real.is_some() && dunce::canonicalize(&b.path).ok() == wanted_real);
        return match found {
            Some(b) => Ok(Some(b)),
            None => Err(refused(
                format!(
                    "{} is not a backup of session {} ({})",
                    wanted.display(),
                    session.id,
                    session.path.display()
                ),
                Some(backup_list_hint(backups)),
            )),
        };
    }
    if ctx.args.yes {
        return Ok(backups.first());
    }
    if !ctx.interactive {
        return Err(refused(
            "restore replaces the session file and there is no terminal to ask which backup",
            Some(
                "pass --yes to restore the newest backup, or --backup FILE to choose one \
                 (`ccrescue restore --list` lists them)"
                    .into(),
            ),
        ));
    }
    let items: Vec<String> = backups
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut s = describe(b);
            if i == 0 {
                s.push_str("  (newest)");
            }
            s
        })
        .collect();
    let choice = ui::ask(|term| {
        dialoguer::Select::new()
            .with_prompt(format!(
                "Put which backup back into {}? (the current state is backed up first; Esc cancels)",
                name(&session.path)
            ))
            .items(&items)
            .default(0)
            .interact_on_opt(term)
    })
    .inspect_err(|_| eprintln!("Nothing restored."))?;
    Ok(choice.map(|i| &backups[i]))
}

fn backup_list_hint(backups: &[BackupFile]) -> String {
    if backups.is_empty() {
        return "this session has no backups".into();
    }
    let mut s = "its backups, newest first:".to_owned();
    for b in backups.iter().take(10) {
        s.push_str(&format!("\n  {}", b.path.display()));
    }
    s
}

/// Copies `from` into `w`, checking for Ctrl-C between chunks.
fn copy_checked(from: &Path, w: &mut dyn Write) -> Result<()> {
    let mut f = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        interrupt::check()?;
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", from.display()))?;
        if n == 0 {
            return Ok(());
        }
        w.write_all(&buf[..n])?;
    }
}

/// True when the two files hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    let open = |p: &Path| File::open(p).with_context(|| format!("cannot open {}", p.display()));
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        interrupt::check()?;
        let n =
            read_full(&mut fa, &mut ba).with_context(|| format!("cannot read {}", a.display()))?;
        let m =
            read_full(&mut fb, &mut bb).with_context(|| format!("cannot read {}", b.display()))?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The backups `prune DAYS` deletes: made more than `days` days before `now`.
fn to_prune(backups: &[BackupFile], days: u64, now: SystemTime) -> Vec<&BackupFile> {
    let cutoff = now
        .checked_sub(DAY * days as u32)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    backups.iter().filter(|b| made(b) < cutoff).collect()
}

fn prune(ctx: &Ctx, session: &SessionFile, backups: &[BackupFile], days: u64) -> Result<u8> {
    let doomed = to_prune(backups, days, SystemTime::now());
    let bytes: u64 = doomed.iter().map(|b| b.bytes).sum();
    let mut out = io::stdout().lock();
    let doc = |removed: &[&BackupFile], dry_run: bool| {
        json!({
            "session": session_json(session),
            "older_than_days": days,
            "removed": removed.iter().map(|b| backup_json(b)).collect::<Vec<_>>(),
            "kept": backups.len() - removed.len(),
            "dry_run": dry_run,
        })
    };
    if doomed.is_empty() || ctx.args.dry_run {
        if ctx.args.json {
            let d = if ctx.args.dry_run {
                doomed.as_slice()
            } else {
                &[]
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc(d, ctx.args.dry_run))?
            )?;
            return Ok(EXIT_OK);
        }
        if doomed.is_empty() {
            writeln!(
                out,
                "No backup of session {} is older than {days} day(s); nothing deleted ({} kept).",
                session.id,
                backups.len()
            )?;
        } else {
            writeln!(
                out,
                "Would delete {} backup(s) of session {} older than {days} day(s) ({}):",
                doomed.len(),
                session.id,
                format::human_bytes(bytes)
            )?;
            for b in &doomed {
                writeln!(out, "  {}", b.path.display())?;
            }
            writeln!(out, "Nothing was deleted (--dry-run).")?;
        }
        return Ok(EXIT_OK);
    }
    if !ctx.args.yes {
        if !ctx.interactive {
            return Err(refused(
                format!(
                    "pruning deletes {} backup(s) for good and there is no terminal to confirm",
                    doomed.len()
                ),
                Some("pass --yes to delete them (--dry-run lists them first)".into()),
            ));
        }
        for b in &doomed {
            eprintln!("  {}", describe(b));
        }
        let yes = ui::ask(|term| {
            dialoguer::Confirm::new()
                .with_prompt(format!(
                    "Delete these {} backup(s) of session {} ({})? They cannot be recovered.",
                    doomed.len(),
                    session.id,
                    format::human_bytes(bytes)
                ))
                .default(false)
                .interact_on_opt(term)
        })
        .inspect_err(|_| eprintln!("Nothing deleted."))?;
        if yes != Some(true) {
            eprintln!("Nothing deleted.");
            return Ok(EXIT_OK);
        }
    }
    let mut removed = vec![];
    for b in &doomed {
        interrupt::check()?;
        fsx::remove(&b.path).with_context(|| format!("cannot delete {}", b.path.display()))?;
        removed.push(*b);
    }
    if ctx.args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc(&removed, false))?
        )?;
        return Ok(EXIT_OK);
    }
    writeln!(
        out,
        "Deleted {} backup(s) of session {} older than {days} day(s) ({} freed); {} kept.",
        removed.len(),
        session.id,
        format::human_bytes(bytes),
        backups.len() - removed.len()
    )?;
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

    #[test]
    fn prune_takes_only_backups_made_before_the_cutoff() {
        let tmp = tempfile::tempdir().unwrap();
        let old = tmp.path().join("s.jsonl.bak");
        std::fs::write(&old, "x").unwrap();
        let now = SystemTime::now();
        let b = |modified| BackupFile {
            path: old.clone(),
            number: 0,
            modified,
            bytes: 1,
        };
        // The file was made just now: even a 30-day-old modification time does not make it old
        // (a hard-link backup of an old session keeps the session's time).
        let backups = [b(now - DAY * 30)];
        assert!(to_prune(&backups, 7, now).is_empty());
        assert_eq!(to_prune(&backups, 0, now + Duration::from_secs(5)).len(), 1);
        assert_eq!(to_prune(&backups, 7, now + DAY * 8).len(), 1);
    }
}
