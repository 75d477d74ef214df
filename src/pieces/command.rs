//! `ccrescue compact`: the compaction in pieces without the wizard. Picks the session like
//! `diagnose`, refuses a live one, shows the chunk plan, asks (or takes `--yes`), summarises the
//! parts with progress on stderr, appends the compaction after a backup, and prints how to resume.
//! `--dry-run` shows the plan and the exact claude command of each part.
use std::collections::BTreeMap;
use std::io::{self, Write};

use anyhow::Result;

use super::{CHUNK_TOKENS, Summariser};
use crate::cli::CompactArgs;
use crate::context::Ctx;
use crate::error::{EXIT_OK, refused};
use crate::format::thousands;
use crate::ladder::quote;
use crate::ui::{StderrSpinner, ask};
use crate::{live, select};

pub fn run(ctx: &Ctx, args: &CompactArgs) -> Result<u8> {
    let Some(chosen) = select::choose(ctx)? else {
        return Err(refused(
            format!("no session to compact in {}", ctx.sessions_dir.display()),
            Some(
                "run ccrescue in the folder you ran claude in, or pass -C DIR or --session ID|PATH"
                    .into(),
            ),
        ));
    };
    if let Some(why) = &chosen.why {
        eprintln!("{} {why}", console::style("note:").for_stderr().bold());
    }
    if !ctx.args.dry_run
        && let Some(claude) = live::find_live(&ctx.root, &chosen.file.id)
    {
        return Err(refused(
            format!(
                "claude (pid {}) is running on this session: quit it first (type /exit, or press Ctrl-C twice)",
                claude.pid
            ),
            Some("then run ccrescue compact again".into()),
        ));
    }
    let plan = super::plan(&chosen.file.path, CHUNK_TOKENS, args.keep_recent)?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "Session {} ({})",
        chosen.file.id,
        chosen.file.path.display()
    )?;
    for line in super::describe(&plan) {
        writeln!(out, "  {line}")?;
    }
    let summariser = summariser(ctx, &args.model)?;
    if ctx.args.dry_run {
        writeln!(
            out,
            "Each part runs, in a scratch folder outside the project, with the part on stdin:"
        )?;
        for i in 0..plan.chunks.len() {
            let argv = super::summarise::args(&summariser.model, i + 1, plan.chunks.len());
            let shown: Vec<String> = argv.iter().map(|a| quote(a)).collect();
            writeln!(
                out,
                "  CLAUDE_CODE_DISABLE_1M_CONTEXT=1 {} {}",
                quote(&summariser.claude.to_string_lossy()),
                shown.join(" ")
            )?;
        }
        writeln!(out, "Dry run: nothing was run or written.")?;
        return Ok(EXIT_OK);
    }
    out.flush()?;
    if !ctx.args.yes {
        if !ctx.interactive {
            return Err(refused(
                "compact changes the session file and there is no terminal to confirm on",
                Some("pass --yes to compact without asking (or --dry-run to see the plan)".into()),
            ));
        }
        let question = format!(
            "Summarise the {} parts with {} and append the compaction (a backup first)?",
            plan.chunks.len(),
            summariser.model
        );
        let go = ask(|term| {
            dialoguer::Confirm::new()
                .with_prompt(question)
                .default(true)
                .interact_on_opt(term)
        })?;
        if go != Some(true) {
            writeln!(out, "Not compacted: nothing was written.")?;
            return Ok(EXIT_OK);
        }
    }
    let spinner = StderrSpinner::start("summarising");
    let done = super::compact(&plan, &summariser, &ctx.root, &spinner);
    drop(spinner);
    let done = done.map_err(|e| {
        if e.is::<crate::interrupt::Interrupted>() {
            e.context("stopped while summarising: the session was not changed")
        } else {
            e
        }
    })?;
    writeln!(
        out,
        "Compacted in {}: the context is now about {} tokens.",
        super::parts(done.parts),
        thousands(done.post_tokens)
    )?;
    writeln!(out, "Backup   {}", done.appended.backup.display())?;
    writeln!(out, "Carry on with:")?;
    writeln!(
        out,
        "{} --resume {} --model {}",
        ctx.claude_display(),
        chosen.file.id,
        crate::ladder::RETURN_MODEL
    )?;
    Ok(EXIT_OK)
}

/// The claude that summarises, with the config dir passed on.
fn summariser(ctx: &Ctx, model: &str) -> Result<Summariser> {
    let claude = ctx.claude.clone().map_err(|why| {
        refused(
            why,
            Some("compact runs claude to write the summaries; pass --claude PATH".into()),
        )
    })?;
    let mut env = BTreeMap::new();
    if let Some(dir) = &ctx.claude_env.config_dir {
        env.insert(
            "CLAUDE_CONFIG_DIR".to_owned(),
            dir.to_string_lossy().into_owned(),
        );
    }
    Ok(Summariser {
        claude,
        model: model.to_owned(),
        env,
    })
}
