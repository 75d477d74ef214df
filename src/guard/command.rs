//! The `guard` front-end: `install` (show the change, ask, write with a backup) and `uninstall`
//! (remove exactly what install added); bare `guard` is `status`.
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use super::plan::{self, Found, Install, Thresholds, WindowKey};
use super::status::{describe, found_json};
use super::support;
use crate::claude;
use crate::cli::{GuardArgs, GuardScope, GuardVerb, InstallArgs};
use crate::context::Ctx;
use crate::error::{EXIT_OK, refused};
use crate::fsx::{self, Backup};

pub fn run(ctx: &Ctx, args: &GuardArgs) -> Result<u8> {
    match &args.verb {
        None => super::status::status(ctx),
        Some(GuardVerb::Install(a)) => install(ctx, a),
        Some(GuardVerb::Uninstall(u)) => uninstall(ctx, u.scope),
    }
}

pub(super) fn scope_path(ctx: &Ctx, scope: GuardScope) -> PathBuf {
    match scope {
        GuardScope::User => ctx.root.join("settings.json"),
        GuardScope::Project => ctx.project.join(".claude").join("settings.json"),
        GuardScope::Local => ctx.project.join(".claude").join("settings.local.json"),
    }
}

/// The file's bytes, or `None` when it does not exist.
pub(super) fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn not_json(path: &Path, e: anyhow::Error) -> anyhow::Error {
    refused(
        format!(
            "{} is not a settings file ccrescue can edit: {e:#}",
            path.display()
        ),
        Some("fix it by hand (claude does not read it either), then run this again".into()),
    )
}

fn install(ctx: &Ctx, a: &InstallArgs) -> Result<u8> {
    if a.warn_at >= a.block_at {
        return Err(refused(
            format!(
                "--warn-at {} is not below --block-at {}",
                a.warn_at, a.block_at
            ),
            Some("warn first, block later: e.g. --warn-at 150000 --block-at 185000".into()),
        ));
    }
    let path = scope_path(ctx, a.scope);
    let version = claude::inspect(&ctx.claude_env, ctx.claude.clone(), false)
        .version
        .ok();
    let sup = support(version);
    let exe = std::env::current_exe()
        .and_then(fs::canonicalize)
        .context("cannot find ccrescue's own path for the hook command")?;
    let before = read(&path)?;
    // No file, or one claude reads as no settings (empty): guard starts from an empty object.
    let base = before
        .clone()
        .filter(|b| !plan::is_blank(b))
        .unwrap_or_else(|| b"{\n}\n".to_vec());
    let old = plan::find(&base).map_err(|e| not_json(&path, e))?;
    let args = &ctx.args;
    let statusline = !old.other_statusline
        && (a.statusline
            || old.statusline
            || (!args.yes && !args.dry_run && ctx.interactive && !args.json && ask_statusline()?));
    let p = Install {
        exe: &exe,
        events: &sup.events,
        thresholds: Thresholds {
            warn_at: a.warn_at,
            block_at: a.block_at,
        },
        window: a.compact_window,
        window_key: if sup.window_setting {
            WindowKey::Setting
        } else {
            WindowKey::Env
        },
        statusline,
        made_file: before.is_none() || old.made_file,
    };
    let new = plan::install(&base, &p).map_err(|e| not_json(&path, e))?;
    let now = plan::find(&new)?;
    let unchanged = before.as_deref() == Some(&new[..]);
    let mut out = io::stdout().lock();
    if !args.json && !unchanged && shows_change(args) {
        show_change(&mut out, &path, &old, &now, &exe, a)?;
        if a.statusline && old.other_statusline {
            writeln!(
                out,
                "  (your own statusLine stays; `ccrescue statusline` can be called from it)"
            )?;
        }
    }
    let write = !unchanged && !args.dry_run;
    if write && !args.yes {
        if !ctx.interactive {
            return Err(refused(
                format!("no terminal to ask before changing {}", path.display()),
                Some("pass --yes to install without asking, or --dry-run to see the change".into()),
            ));
        }
        out.flush()?;
        if !confirm(&format!("Install the guard in {}?", path.display()))? {
            writeln!(out, "Nothing changed.")?;
            return Ok(EXIT_OK);
        }
    }
    let backup = if write {
        // A file guard created that holds nothing but guard's gets no backup: there is nothing of
        // the user's to keep, and it would stay behind (in a project's repository, say).
        let only_guards = old.made_file
            && before
                .as_deref()
                .and_then(|b| plan::uninstall(b).ok())
                .is_some_and(|rest| is_empty_object(&rest));
        save(
            &path,
            before.as_deref(),
            &new,
            "ccrescue guard install",
            !only_guards,
        )?
    } else {
        None
    };
    if args.json {
        let doc = json!({
            "action": "install", "file": path, "changed": write, "dry_run": args.dry_run,
            "backup": backup, "installed": found_json(&now), "claude_version": version.map(|v| v.to_string()),
            "support": sup,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else if unchanged {
        writeln!(
            out,
            "The guard is already installed in {} as asked; nothing changed.",
            path.display()
        )?;
    } else if write {
        writeln!(
            out,
            "Installed the guard in {}{}.",
            path.display(),
            backup_note(&backup)
        )?;
        if !args.quiet {
            writeln!(
                out,
                "It takes effect in claude sessions started from now on. Remove it with `ccrescue guard uninstall{}`.",
                scope_flag(a.scope)
            )?;
        }
    }
    Ok(EXIT_OK)
}

fn uninstall(ctx: &Ctx, scope: GuardScope) -> Result<u8> {
    let path = scope_path(ctx, scope);
    let args = &ctx.args;
    let mut out = io::stdout().lock();
    let Some(before) = read(&path)? else {
        if args.json {
            writeln!(
                out,
                "{}",
                json!({"action": "uninstall", "file": path, "changed": false})
            )?;
        } else {
            writeln!(
                out,
                "No guard in {} (the file does not exist); nothing changed.",
                path.display()
            )?;
        }
        return Ok(EXIT_OK);
    };
    let old = plan::find(&before).map_err(|e| not_json(&path, e))?;
    let new = plan::uninstall(&before).map_err(|e| not_json(&path, e))?;
    let unchanged = new == before;
    if !args.json && !unchanged && shows_change(args) {
        writeln!(out, "{}: the guard's entries to remove", path.display())?;
        for line in describe(&old) {
            writeln!(out, "  - {line}")?;
        }
    }
    let write = !unchanged && !args.dry_run;
    if write && !args.yes {
        if !ctx.interactive {
            return Err(refused(
                format!("no terminal to ask before changing {}", path.display()),
                Some(
                    "pass --yes to uninstall without asking, or --dry-run to see the change".into(),
                ),
            ));
        }
        out.flush()?;
        if !confirm(&format!("Remove the guard from {}?", path.display()))? {
            writeln!(out, "Nothing changed.")?;
            return Ok(EXIT_OK);
        }
    }
    // A file guard created and that holds nothing else now goes again, rather than stay as an
    // empty object (in a project's repository, say).
    let delete = old.made_file && is_empty_object(&new);
    let backup = if write && delete {
        fsx::remove_if_holds(&path, &before, "ccrescue guard uninstall")?;
        None
    } else if write {
        save(&path, Some(&before), &new, "ccrescue guard uninstall", true)?
    } else {
        None
    };
    if args.json {
        let doc = json!({"action": "uninstall", "file": path, "changed": write, "dry_run": args.dry_run, "backup": backup, "deleted": write && delete, "removed": found_json(&old)});
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else if unchanged {
        writeln!(out, "No guard in {}; nothing changed.", path.display())?;
    } else if write && delete {
        writeln!(
            out,
            "Removed the guard, and {} with it: guard install had created it, and nothing else is in it.",
            path.display()
        )?;
    } else if write {
        writeln!(
            out,
            "Removed the guard from {}{}.",
            path.display(),
            backup_note(&backup)
        )?;
    }
    Ok(EXIT_OK)
}

/// Writes `new` over `path` (backup, atomic replace), refusing if it no longer holds `old`, the
/// bytes `new` was computed from (claude writes settings files too, and the question before may
/// have waited a while); or, when there was no file, as a new private one.
fn save(
    path: &Path,
    old: Option<&[u8]>,
    new: &[u8],
    again: &'static str,
    backup: bool,
) -> Result<Option<PathBuf>> {
    let Some(old) = old else {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fsx::create_new(path, new)?;
        return Ok(None);
    };
    fsx::sweep_stale_temps_beside(path, |line| eprintln!("warning: {line}"));
    let done = fsx::replace(
        path,
        if backup { Backup::Link } else { Backup::None },
        |out| {
            fsx::still_holds(path, old, again)?;
            Ok(out.write_all(new)?)
        },
        |temp| {
            let mut written = Vec::with_capacity(new.len());
            io::Read::read_to_end(temp, &mut written)?;
            validate(&written, new)
        },
    )?;
    Ok(done.backup)
}

/// Whether the change is shown: under `-q` only when a question about it follows or it is a dry
/// run's whole output.
fn shows_change(args: &crate::cli::GlobalArgs) -> bool {
    !args.quiet || !args.yes || args.dry_run
}

/// True for `{}` (in any spacing): what is left of a file that only held guard's entries.
fn is_empty_object(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}

/// The written bytes are the planned ones and still a settings file guard can read.
fn validate(written: &[u8], expected: &[u8]) -> Result<()> {
    if written != expected {
        bail!("the temporary file does not hold what was written");
    }
    plan::find(written).map(|_| ())
}

fn show_change(
    out: &mut impl Write,
    path: &Path,
    old: &Found,
    now: &Found,
    exe: &Path,
    a: &InstallArgs,
) -> Result<()> {
    writeln!(out, "{}", path.display())?;
    let before = describe(old);
    writeln!(
        out,
        "  before: {}",
        if before.is_empty() {
            "no guard".to_owned()
        } else {
            String::new()
        }
    )?;
    for line in before {
        writeln!(out, "    {line}")?;
    }
    writeln!(out, "  after:")?;
    for line in describe(now) {
        writeln!(out, "    {line}")?;
    }
    writeln!(
        out,
        "  each hook runs `{}`; every other byte of the file stays as it is",
        plan::command_line(
            exe,
            &format!(
                "hook EVENT --warn-at {} --block-at {}",
                a.warn_at, a.block_at
            )
        )
    )?;
    Ok(())
}

fn backup_note(backup: &Option<PathBuf>) -> String {
    backup
        .as_ref()
        .map(|b| format!(" (the file as it was: {})", b.display()))
        .unwrap_or_default()
}

pub(super) fn scope_name(s: GuardScope) -> &'static str {
    match s {
        GuardScope::User => "user",
        GuardScope::Project => "project",
        GuardScope::Local => "local",
    }
}

fn scope_flag(s: GuardScope) -> String {
    match s {
        GuardScope::User => String::new(),
        other => format!(" --scope {}", scope_name(other)),
    }
}

fn confirm(prompt: &str) -> Result<bool> {
    Ok(dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(true)
        .interact_on(&console::Term::stderr())?)
}

fn ask_statusline() -> Result<bool> {
    Ok(dialoguer::Confirm::new()
        .with_prompt("No statusLine is set: also show ccrescue's context gauge (tokens against the 200K window) as claude's status line?")
        .default(false)
        .interact_on(&console::Term::stderr())?)
}
