//! Putting a backup back: which one (asked, newest, or named), refusals, the byte-checked copy
//! through `fsx::replace` that keeps the state before as the next backup, and what is printed.
use super::*;

pub(super) fn put_back(
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
    // Human lines are word-wrapped to the terminal; JSON goes out as it is.
    let width = format::width_of(&console::Term::stdout()).filter(|_| !ctx.args.json);
    let mut out = format::FitLines::new(io::stdout().lock(), width);
    let mut backup =
        File::open(&from.path).with_context(|| format!("cannot open {}", from.path.display()))?;
    if same_bytes(&mut backup, &session.path)? {
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
    journal::set_reason(journal::Reason::Restore(from.path.clone()));
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
            "The state before the restore is in {}: run `{}` to undo.",
            name(undo),
            undo_command(&session.path, undo)
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

/// The backup to put back: `--backup` (checked to be one of this session's), else the journal's
/// default with `--yes` (the state before ccrescue's latest change still in effect; the newest
/// when the journal cannot tell), else the one picked on the terminal. `None` when the person
/// cancelled or `--yes` found no default.
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
    let labelled = Labelled::of(session, backups);
    if ctx.args.yes || ctx.args.dry_run {
        // --dry-run changes nothing: it shows what the default choice would do, terminal or not.
        if labelled.default.is_none() {
            eprintln!(
                "No backup to default to: {} is as it was before ccrescue's first recorded change \
                 (`ccrescue restore --list` shows the backups; --backup FILE puts one back anyway).",
                name(&session.path)
            );
        }
        return Ok(labelled.default.map(|i| &backups[i]));
    }
    if !ctx.interactive {
        return Err(refused(
            "restore replaces the session file and there is no terminal to ask which backup",
            Some(
                "pass --yes to put back the state before ccrescue's latest change still in \
                 effect, or --backup FILE to choose one \
                 (`ccrescue restore --list` lists them)"
                    .into(),
            ),
        ));
    }
    let items: Vec<String> = backups
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut s = labelled.describe(b);
            if Some(i) == labelled.default {
                s.push_str("  (default)");
            }
            s
        })
        .collect();
    use ui::Prompter as _;
    let choice = ui::TerminalPrompter::new()
        .select(
            "backup",
            "Put which backup back? (the current state is kept as a backup first)",
            &items,
            labelled.default.unwrap_or(0),
        )
        .inspect_err(|_| eprintln!("Nothing restored."))?;
    Ok(Some(&backups[choice]))
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

/// True when `fa` (an open file, at offset 0) holds the same bytes as the file at `b`.
fn same_bytes(fa: &mut File, b: &Path) -> Result<bool> {
    let a = Path::new("the copy");
    let mut fb = File::open(b).with_context(|| format!("cannot open {}", b.display()))?;
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        interrupt::check()?;
        let n = read_full(fa, &mut ba).with_context(|| format!("cannot read {}", a.display()))?;
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
