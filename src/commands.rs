//! The read-only commands, `diagnose` and `sessions`: gather the facts, then print them as a
//! report or as one JSON document on stdout.
use std::io::{self, Write};

use anyhow::Result;

use crate::cli::{Cli, Command, SessionsArgs};
use crate::context::Ctx;
use crate::diagnose::{self, Facts};
use crate::error::EXIT_OK;
use crate::report::{self, DiagnoseView};
use crate::{claude, format, generated, json, live, paths, select, session, settings};

pub fn dispatch(cli: Cli) -> Result<u8> {
    // Generated text needs no project, config root or claude.
    match cli.command {
        Some(Command::Completions { shell }) => {
            generated::completions(shell, &mut io::stdout().lock())?;
            return Ok(EXIT_OK);
        }
        Some(Command::Man) => {
            generated::man_page(&mut io::stdout().lock())?;
            return Ok(EXIT_OK);
        }
        // claude runs these: they need no project and must never fail on one.
        Some(Command::Hook(args)) => return Ok(crate::hook::run(&args)),
        Some(Command::Statusline(args)) => return crate::statusline::run(&args),
        _ => {}
    }
    let mut ctx = Ctx::new(cli.global)?;
    match cli.command {
        Some(
            Command::Completions { .. } | Command::Man | Command::Hook(_) | Command::Statusline(_),
        ) => unreachable!("handled above"),
        Some(Command::Guard(args)) => crate::guard::command::run(&ctx, &args),
        None => crate::wizard::run(&ctx, &cli.wizard),
        Some(Command::Diagnose) => diagnose_cmd(&ctx),
        Some(Command::Sessions(args)) => sessions_cmd(&ctx, &args),
        Some(Command::Trim(args)) => crate::trim_cmd::run(&ctx, &args),
        Some(Command::Settings(args)) => settings::command::run(&ctx, args.fix),
        Some(Command::Restore(args)) => crate::restore::restore_cmd(&mut ctx, &args),
        Some(Command::Compact(args)) => crate::pieces::command::run(&ctx, &args),
    }
}

fn diagnose_cmd(ctx: &Ctx) -> Result<u8> {
    let chosen = select::choose(ctx)?;
    let info = claude::inspect(
        &ctx.claude_env,
        ctx.claude.clone(),
        ctx.args.json || ctx.args.verbose,
    );
    let version = info.version.as_ref().ok().copied();
    let files = settings::settings_files(&ctx.root, &ctx.project);
    let findings = settings::find(&files, &ctx.model_env);
    let live = chosen
        .as_ref()
        .and_then(|c| live::find_live(&ctx.root, &c.file.id));
    let claude_name = ctx.claude_display();
    let config_dir = ctx
        .claude_env
        .config_dir
        .as_ref()
        .map(|d| d.to_string_lossy().into_owned());
    let d = diagnose::diagnose(&Facts {
        scan: chosen.as_ref().map(|c| &c.scan),
        session_id: chosen.as_ref().map(|c| c.file.id.as_str()),
        live: live.as_ref(),
        version,
        settings: &findings,
        claude: &claude_name,
        config_dir: config_dir.as_deref(),
        project: &ctx.project,
    });
    let mut out = io::stdout().lock();
    if ctx.args.json {
        let session = match &chosen {
            Some(c) => json::session(&c.file, &c.scan, live.as_ref(), c.why.as_deref()),
            None => serde_json::Value::Null,
        };
        let doc = json::diagnose(&info, &ctx.root, &ctx.project, session, &findings, &d);
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        let mut claude_line = match (&info.path, &info.version) {
            (Ok(path), Ok(v)) => format!("{v} at {}", path.display()),
            (Ok(_), Err(why)) => format!("{why} (advice not tailored to a version)"),
            (Err(why), _) => why.clone(),
        };
        if let Some(caps) = &info.capabilities {
            let missing: Vec<&str> = caps
                .iter()
                .filter(|(_, has)| !**has)
                .map(|(f, _)| *f)
                .collect();
            if !missing.is_empty() {
                claude_line.push_str(&format!(" (without {})", missing.join(", ")));
            }
        }
        let view = DiagnoseView {
            file: chosen.as_ref().map(|c| &c.file),
            scan: chosen.as_ref().map(|c| &c.scan),
            why_chosen: chosen.as_ref().and_then(|c| c.why.as_deref()),
            live: live.as_ref(),
            claude: claude_line,
            settings: &findings,
            diagnosis: &d,
            sessions_dir: &ctx.sessions_dir,
        };
        report::print_diagnosis(&mut out, &view, ctx.args.quiet, ctx.args.verbose)?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

fn sessions_cmd(ctx: &Ctx, args: &SessionsArgs) -> Result<u8> {
    let dirs = if args.all_projects {
        paths::list_project_dirs(&ctx.root)?
    } else {
        vec![ctx.sessions_dir.clone()]
    };
    let mut rows = vec![];
    for dir in &dirs {
        for file in paths::list_sessions(dir)? {
            let scanned = session::scan(&file.path);
            let live = live::find_live(&ctx.root, &file.id).is_some();
            rows.push((file, scanned, live));
        }
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.0.modified));
    let mut out = io::stdout().lock();
    if ctx.args.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(file, scanned, live)| {
                let scan = scanned.as_ref().ok();
                let project = scan
                    .and_then(|s| s.cwd.clone())
                    .unwrap_or_else(|| folder_name(&file.path));
                let problem = scanned.as_ref().err().map(|e| format!("{e:#}"));
                json::session_entry(file, scan, problem, &project, *live)
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(EXIT_OK);
    }
    if rows.is_empty() {
        writeln!(
            out,
            "No sessions in {}.",
            if args.all_projects {
                ctx.root.join("projects")
            } else {
                ctx.sessions_dir.clone()
            }
            .display()
        )?;
        return Ok(EXIT_OK);
    }
    writeln!(
        out,
        "{:<36}  {:>13}  {:>9}  {:>7}  {:<14}  FIRST PROMPT",
        "SESSION", "MODIFIED", "SIZE", "CONTEXT", "STATE"
    )?;
    for (file, scanned, live) in &rows {
        let (context, error, prompt) = match scanned {
            Ok(s) => (
                s.context
                    .map_or("-".into(), |c| format!("{}K", c.tokens / 1000)),
                match s.open_error() {
                    _ if s.blocked_by_long_context() => "1M error".to_owned(),
                    Some(_) => "error".to_owned(),
                    None => String::new(),
                },
                s.first_prompt
                    .as_deref()
                    .map(|p| format::cut(p, 40))
                    .unwrap_or_default(),
            ),
            Err(e) => ("?".into(), format!("unreadable: {e:#}"), String::new()),
        };
        let state = match (*live, error.is_empty()) {
            (true, true) => "live".to_owned(),
            (true, false) => format!("{error}, live"),
            (false, _) => error,
        };
        write!(
            out,
            "{:<36}  {:>13}  {:>9}  {:>7}  {:<14}  {prompt}",
            file.id,
            format::ago(file.modified),
            format::human_bytes(file.bytes),
            context,
            state
        )?;
        if args.all_projects {
            write!(out, "  [{}]", folder_name(&file.path))?;
        }
        writeln!(out)?;
    }
    Ok(EXIT_OK)
}

fn folder_name(path: &std::path::Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
