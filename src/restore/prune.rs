//! `restore --prune DAYS`: which backups were made before the cutoff, and deleting them after a
//! confirmation whose default is No.
use super::*;

/// The backups `prune DAYS` deletes: made more than `days` days before `now` (no wrap-around:
/// a cutoff before the epoch keeps everything).
fn to_prune(backups: &[BackupFile], days: u64, now: SystemTime) -> Vec<&BackupFile> {
    let cutoff = DAY
        .checked_mul(u32::try_from(days).unwrap_or(u32::MAX))
        .and_then(|age| now.checked_sub(age))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    backups.iter().filter(|b| made(b) < cutoff).collect()
}

pub(super) fn prune(
    ctx: &Ctx,
    session: &SessionFile,
    backups: &[BackupFile],
    days: u64,
) -> Result<u8> {
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
        use ui::Prompter as _;
        let yes = ui::TerminalPrompter::new()
            .confirm(
                "prune",
                &format!(
                    "Delete these {} backup(s) of session {} ({})? They cannot be recovered.",
                    doomed.len(),
                    session.id,
                    format::human_bytes(bytes)
                ),
                false,
            )
            .inspect_err(|_| eprintln!("Nothing deleted."))?;
        if !yes {
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
        // Issue 17 point 3: 2^32 days once wrapped round to 0 and deleted fresh backups.
        assert!(to_prune(&backups, 1 << 32, now + DAY).is_empty());
        assert!(to_prune(&backups, u64::MAX, now + DAY).is_empty());
    }
}
