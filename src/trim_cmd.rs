//! `ccrescue trim`: picks the session like `diagnose`, refuses a live one, shows what the trim
//! will change, asks (or takes `--yes`), and runs `trim::apply_plan` with a progress bar on big
//! files. `--dry-run` lists the changes; `--json` prints one document.
use std::io::{self, IsTerminal as _, Write};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::cli::TrimArgs;
use crate::context::Ctx;
use crate::error::{EXIT_OK, refused};
use crate::format::{human_bytes, thousands};
use crate::trim::{self, TrimOptions, TrimPlan};
use crate::ui::{Prompter as _, TerminalPrompter};
use crate::{fsx, live, select};

/// Files above this size get a progress bar (on a terminal).
const PROGRESS_OVER: u64 = 50_000_000;

pub fn run(ctx: &Ctx, args: &TrimArgs) -> Result<u8> {
    // Not `choose`: with --session that would read the whole session once more.
    let Some((file, why)) = select::choose_file(ctx)? else {
        return Err(refused(
            format!(
                "no session here to trim: claude has none for {} (in {})",
                ctx.project.display(),
                ctx.sessions_dir.display()
            ),
            Some(select::no_session_hint(ctx)),
        ));
    };
    let path = file.path.clone();
    let warn = |text: &str| {
        eprintln!(
            "{} {text}",
            console::style("warning:").for_stderr().yellow().bold()
        )
    };
    fsx::sweep_stale_temps_beside(&path, warn);
    if let Some(why) = &why {
        eprintln!("{} {why}", console::style("note:").for_stderr().bold());
    }
    if let Some(claude) = live::find_live(&ctx.root, &file.id) {
        let what = format!(
            "claude (pid {}) is running on this session: quit it first (type /exit, or press Ctrl-C twice)",
            claude.pid
        );
        if args.force {
            // Observed (2.1.328): claude appends to the trimmed file by path, but keeps the
            // images in memory and sends them on every request until it is restarted.
            warn(&format!(
                "{what}; trimming anyway (--force): that claude still holds the removed blocks and sends them until you quit it and run `claude --resume {}`",
                file.id
            ));
        } else if !ctx.args.dry_run {
            return Err(refused(
                what,
                Some("then run ccrescue trim again (--force trims while claude runs)".into()),
            ));
        }
    }
    let opts = TrimOptions {
        all: args.all,
        tool_output_over: args.tool_output_over,
        target_tokens: args.target_tokens,
    };
    let show_bar = file.bytes > PROGRESS_OVER && !ctx.args.quiet;
    let bar = progress_bar(show_bar, file.bytes, "reading");
    let plan = trim::plan_with(&path, &opts, &mut |done| bar.set_position(done))?;
    bar.finish_and_clear();

    let mut out = io::stdout().lock();
    if ctx.args.dry_run || plan.is_empty() {
        if ctx.args.json {
            print_json(&mut out, &plan, None, args, &file.id)?;
        } else if !ctx.args.quiet {
            print_lines(&mut out, &plan.summary_lines())?;
            if let Some(v) = verdict(&plan, args, &file.id, plan.is_empty()) {
                print_lines(&mut out, &[v])?;
            }
            if ctx.args.dry_run && !plan.is_empty() {
                writeln!(out, "Would change:")?;
                print_lines(&mut out, &plan.change_lines())?;
            }
        }
        if ctx.args.dry_run && !ctx.args.json {
            writeln!(out, "Dry run: nothing was written.")?;
        }
        return Ok(EXIT_OK);
    }
    if !ctx.args.json && !ctx.args.quiet {
        print_lines(&mut out, &plan.summary_lines())?;
        if let Some(v) = verdict(&plan, args, &file.id, false) {
            print_lines(&mut out, &[v])?;
        }
        out.flush()?;
    }
    if !ctx.args.yes {
        if !ctx.interactive {
            return Err(refused(
                "trim changes the session file and there is no terminal to confirm on",
                Some(
                    "pass --yes to trim without asking (or --dry-run to see what would change)"
                        .into(),
                ),
            ));
        }
        let go = TerminalPrompter::new()
            .confirm("trim", "Trim the session now?", true)
            .inspect_err(|_| eprintln!("Not trimmed: nothing was written."))?;
        if !go {
            writeln!(out, "Not trimmed: nothing was written.")?;
            return Ok(EXIT_OK);
        }
    }
    let bar = progress_bar(show_bar, plan.bytes_before, "writing");
    let done = trim::apply_plan(&path, plan, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    if ctx.args.json {
        print_json(&mut out, &done.plan, Some(&done.backup), args, &file.id)?;
    } else {
        let blocks = done
            .plan
            .changes
            .iter()
            .filter(|c| c.kind != trim::ChangeKind::DuplicateCopy)
            .count();
        let line = format!(
            "Trimmed {}: {blocks} block{} replaced, {} → {}. The original is kept as {}.",
            path.display(),
            if blocks == 1 { "" } else { "s" },
            human_bytes(done.plan.bytes_before),
            human_bytes(done.plan.bytes_after),
            done.backup.display()
        );
        print_lines(&mut out, &[line])?;
        if let Some(v) = verdict(&done.plan, args, &file.id, true) {
            print_lines(&mut out, &[v])?;
        }
    }
    Ok(EXIT_OK)
}

/// The lines, safe and word-wrapped to the terminal (whole on a pipe).
fn print_lines(out: &mut impl Write, lines: &[String]) -> io::Result<()> {
    let width = crate::format::width_of(&console::Term::stdout());
    lines
        .iter()
        .try_for_each(|l| writeln!(out, "{}", crate::format::wrap(l, width)))
}

/// Whether the context fits the 200K standard window after the trim, and what to run next
/// (issue 16.2: "~207,312 → ~205,660 tokens" alone did not say it was still too big). `done`:
/// the trim has been made (or there is nothing to trim), so "next" is the step after it.
fn verdict(plan: &TrimPlan, args: &TrimArgs, id: &str, done: bool) -> Option<String> {
    let after = plan.tokens_after?;
    let window = crate::diagnose::STANDARD_WINDOW;
    let is = if done { "is" } else { "will be" };
    if after < window {
        return Some(format!(
            "Fits: ~{} tokens {is} under the {}K standard window. Next: `ccrescue` compacts the \
             session in a small model and returns you to Sonnet (or resume it yourself: \
             claude --resume={id} --model {}).",
            thousands(after),
            window / 1000,
            crate::ladder::RETURN_MODEL
        ));
    }
    let more = if args.tool_output_over.is_none() && args.target_tokens.is_none() {
        format!(
            "`ccrescue trim --target-tokens {}` also shortens large tool outputs until it fits",
            window * 9 / 10
        )
    } else {
        "nothing more can be trimmed this way".to_owned()
    };
    Some(format!(
        "Still too big: ~{} tokens {is} over the {}K standard window after this trim. Next: {more}; \
         `ccrescue` (the wizard) compacts it in a small model instead.",
        thousands(after),
        window / 1000
    ))
}

fn print_json(
    out: &mut impl Write,
    plan: &TrimPlan,
    backup: Option<&std::path::Path>,
    args: &TrimArgs,
    id: &str,
) -> Result<()> {
    let doc = json!({
        "session": plan.path,
        "trimmed": backup.is_some(),
        "backup": backup,
        "fits": plan.tokens_after.map(|t| t < crate::diagnose::STANDARD_WINDOW),
        "next": verdict(plan, args, id, backup.is_some()),
        "plan": plan,
    });
    writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    Ok(())
}

/// A bytes bar with throughput and ETA on stderr; hidden unless `show` and stderr is a terminal.
fn progress_bar(show: bool, total: u64, what: &str) -> ProgressBar {
    if !show || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:8} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}
