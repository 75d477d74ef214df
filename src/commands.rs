//! The read-only commands, `diagnose` and `sessions`: gather the facts, then print them as a
//! report or as one JSON document on stdout.
use std::io::{self, Write};
use std::time::Instant;

use anyhow::Result;

use crate::cli::{Cli, Command, SessionsArgs};
use crate::context::Ctx;
use crate::diagnose::{self, Facts};
use crate::error::{EXIT_OK, refused};
use crate::report::{self, DiagnoseView};
use crate::restore::journal;
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
    let args = cli.resolve().map_err(|why| refused(why, None))?;
    let mut ctx = Ctx::new(args)?;
    if let Some(dir) = &ctx.args.config_dir
        && !ctx.root.is_dir()
    {
        // Not an error (claude creates it on first use), but surely not what was meant.
        eprintln!(
            "{} --config-dir {} does not exist: claude has no sessions or settings there \
             (claude's default is ~/.claude, or $CLAUDE_CONFIG_DIR)",
            console::style("warning:").for_stderr().yellow().bold(),
            format::safe(&dir.display().to_string())
        );
    }
    match cli.command {
        Some(
            Command::Completions { .. } | Command::Man | Command::Hook(_) | Command::Statusline(_),
        ) => unreachable!("handled above"),
        Some(Command::Guard(args)) => crate::guard::command::run(&ctx, &args),
        None => crate::wizard::run(&ctx, &cli.wizard),
        Some(Command::Diagnose(_)) => diagnose_cmd(&ctx),
        Some(Command::Sessions(args)) => sessions_cmd(&ctx, &args),
        Some(Command::Trim(args)) => {
            journal::set_reason(journal::Reason::Trim);
            crate::trim_cmd::run(&ctx, &args)
        }
        Some(Command::Settings(args)) => {
            journal::set_reason(journal::Reason::SettingsFix);
            settings::command::run(&ctx, args.fix)
        }
        Some(Command::Restore(args)) => crate::restore::restore_cmd(&mut ctx, &args),
        Some(Command::Compact(args)) => crate::pieces::command::run(&ctx, &args),
    }
}

fn diagnose_cmd(ctx: &Ctx) -> Result<u8> {
    let started = Instant::now();
    let chosen = select::choose(ctx)?;
    let scanned = started.elapsed();
    let info = claude::inspect(
        &ctx.claude_env,
        ctx.claude.clone(),
        ctx.args.json || ctx.args.verbose,
    );
    let inspected = started.elapsed() - scanned;
    let version = info.version.as_ref().ok().copied();
    let files = settings::settings_files(&ctx.root, &ctx.project);
    let findings = settings::find(&files, &ctx.model_env);
    let timings = format!(
        "finding and reading the session {:.2} s · claude --version and --help {:.2} s · \
         settings {:.2} s",
        scanned.as_secs_f64(),
        inspected.as_secs_f64(),
        (started.elapsed() - scanned - inspected).as_secs_f64()
    );
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
            project: &ctx.project,
            nearest: chosen
                .is_none()
                .then(|| select::nearest_with_sessions(ctx))
                .flatten(),
            wizard: wizard_line(ctx),
        };
        let mut fitted =
            format::FitLines::new(&mut out, format::width_of(&console::Term::stdout()));
        report::print_diagnosis(&mut fitted, &view, ctx.args.quiet, ctx.args.verbose)?;
        if ctx.args.verbose {
            writeln!(fitted, "{} {timings}", console::style("Timing:").dim())?;
        }
        fitted.flush()?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

/// `ccrescue` with the flags that make the wizard look at the same session as this command.
fn wizard_line(ctx: &Ctx) -> String {
    let mut line = "ccrescue".to_owned();
    let quote = |p: &std::path::Path| crate::ladder::quote(&p.to_string_lossy());
    if let Some(dir) = &ctx.args.project {
        line.push_str(&format!(" -C {}", quote(dir)));
    }
    if let Some(dir) = &ctx.args.config_dir {
        line.push_str(&format!(" --config-dir {}", quote(dir)));
    }
    if let Some(s) = &ctx.args.session {
        line.push_str(&format!(" --session {}", crate::ladder::quote(s)));
    }
    line
}

fn sessions_cmd(ctx: &Ctx, args: &SessionsArgs) -> Result<u8> {
    let dirs = if args.all_projects {
        paths::list_project_dirs(&ctx.root)?
    } else {
        vec![ctx.sessions_dir.clone()]
    };
    let mut rows = vec![];
    for dir in &dirs {
        let files = match paths::list_sessions(dir) {
            Ok(files) => files,
            // One unreadable project (left root's by a `sudo claude`, say) does not hide the
            // others: it is named, and the list goes on.
            Err(e) if args.all_projects => {
                eprintln!(
                    "{} {} (skipped)",
                    console::style("warning:").for_stderr().yellow().bold(),
                    format::safe(&format!("{e:#}"))
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        for file in files {
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
    let width = format::width_of(&console::Term::stdout());
    let table: Vec<Row> = rows
        .iter()
        .map(|(file, scanned, live)| Row::of(file, scanned, *live, args.all_projects))
        .collect();
    print_table(&mut out, &table, width)?;
    Ok(EXIT_OK)
}

/// One session of the `sessions` table, as text.
struct Row {
    id: String,
    modified: String,
    size: String,
    context: String,
    state: String,
    prompt: String,
    /// With `--all-projects`: the folder claude ran in (as `--json`'s `project`).
    project: Option<String>,
}

impl Row {
    fn of(
        file: &paths::SessionFile,
        scanned: &Result<session::SessionScan>,
        live: bool,
        all_projects: bool,
    ) -> Row {
        let (context, error, prompt) = match scanned {
            Ok(s) => (
                s.context
                    .map_or("-".into(), |c| format!("{}K", c.tokens / 1000)),
                match s.open_error() {
                    _ if s.blocked_by_long_context() => "1M error".to_owned(),
                    Some(_) => "error".to_owned(),
                    None => String::new(),
                },
                format::safe(s.first_prompt.as_deref().unwrap_or_default()).into_owned(),
            ),
            Err(e) => (
                "?".into(),
                format::safe(&format!("unreadable: {e:#}")).into_owned(),
                String::new(),
            ),
        };
        let state = match (live, error.is_empty()) {
            (true, true) => "live".to_owned(),
            (true, false) => format!("{error}, live"),
            (false, _) => error,
        };
        let project = all_projects.then(|| {
            let recorded = scanned.as_ref().ok().and_then(|s| s.cwd.clone());
            format::safe(&recorded.unwrap_or_else(|| folder_name(&file.path))).into_owned()
        });
        Row {
            id: file.id.clone(),
            modified: format::ago(file.modified),
            size: format::human_bytes(file.bytes),
            context,
            state,
            prompt,
            project,
        }
    }
}

/// Narrowest prompt column worth a one-line row; below it each session takes two lines.
const MIN_PROMPT: usize = 16;
/// The prompt column's width when the output is not a terminal (whole lines for scripts).
const PIPE_PROMPT: usize = 40;

/// The table laid out for `width` columns (issue 16.4): one row per session with the first
/// prompt taking what is left, or, when that leaves too little, two lines per session (the id
/// and state, then the rest indented). Every line is cut to the width; a pipe gets whole rows.
fn print_table(out: &mut dyn Write, rows: &[Row], width: Option<usize>) -> io::Result<()> {
    let col = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| console::measure_text_width(f(r)))
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (w_mod, w_size, w_ctx, w_state) = (
        col(|r| &r.modified, "MODIFIED"),
        col(|r| &r.size, "SIZE"),
        col(|r| &r.context, "CONTEXT"),
        col(|r| &r.state, "STATE"),
    );
    let fixed = 36 + 2 + w_mod + 2 + w_size + 2 + w_ctx + 2 + w_state + 2;
    let wide = width.is_none_or(|w| w >= fixed + MIN_PROMPT);
    if wide {
        let prompt_w = width.map_or(PIPE_PROMPT, |w| w - fixed);
        writeln!(
            out,
            "{}",
            format::fit(
                &format!(
                    "{:<36}  {:>w_mod$}  {:>w_size$}  {:>w_ctx$}  {:<w_state$}  FIRST PROMPT",
                    "SESSION", "MODIFIED", "SIZE", "CONTEXT", "STATE"
                ),
                width
            )
        )?;
        for r in rows {
            // The project (with --all-projects) goes first, the prompt gets what is left.
            let project = r
                .project
                .as_ref()
                .map(|p| format!("[{p}] "))
                .unwrap_or_default();
            let room = match width {
                Some(_) => prompt_w.saturating_sub(console::measure_text_width(&project) + 1),
                None => PIPE_PROMPT,
            };
            let line = format!(
                "{:<36}  {:>w_mod$}  {:>w_size$}  {:>w_ctx$}  {:<w_state$}  {project}{}",
                r.id,
                r.modified,
                r.size,
                r.context,
                r.state,
                format::cut(&r.prompt, room)
            );
            writeln!(out, "{}", format::fit(line.trim_end(), width))?;
        }
        return Ok(());
    }
    for r in rows {
        let head = match r.state.as_str() {
            "" => r.id.clone(),
            state => format!("{}  {state}", r.id),
        };
        writeln!(out, "{}", format::fit(&head, width))?;
        let mut rest = format!("  {} · {} · context {}", r.modified, r.size, r.context);
        if let Some(p) = &r.project {
            rest.push_str(&format!(" · {p}"));
        }
        if !r.prompt.is_empty() {
            rest.push_str(&format!(" · \"{}\"", r.prompt));
        }
        writeln!(out, "{}", format::fit(&rest, width))?;
    }
    Ok(())
}

fn folder_name(path: &std::path::Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
