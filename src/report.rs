//! The human-readable report of `diagnose`. Colour comes from `console`, which follows NO_COLOR
//! and whether stdout is a terminal.
use std::io::{self, Write};

use console::style;

use crate::diagnose::{Diagnosis, Symptom};
use crate::format::{ago, cut, human_bytes, safe, thousands};
use crate::live::LiveClaude;
use crate::paths::SessionFile;
use crate::session::SessionScan;
use crate::settings::SettingsFindings;

mod session_lines;
use session_lines::{
    context_line, error_line, every_finding, media_line, problems_line, subagents_line,
};

/// What the diagnose report shows.
pub struct DiagnoseView<'a> {
    pub file: Option<&'a SessionFile>,
    pub scan: Option<&'a SessionScan>,
    pub why_chosen: Option<&'a str>,
    pub live: Option<&'a LiveClaude>,
    pub claude: String,
    pub settings: &'a SettingsFindings,
    pub diagnosis: &'a Diagnosis,
    pub sessions_dir: &'a std::path::Path,
    /// The project folder (named when it has no session).
    pub project: &'a std::path::Path,
    /// The nearest folder up that has sessions, when this one has none.
    pub nearest: Option<std::path::PathBuf>,
    /// The wizard's command line for this session (`ccrescue`, with the flags that chose it).
    pub wizard: String,
}

pub fn print_diagnosis(
    out: &mut dyn Write,
    v: &DiagnoseView,
    quiet: bool,
    verbose: bool,
) -> io::Result<()> {
    if !quiet {
        body(out, v, verbose)?;
    }
    let plan = &v.diagnosis.plan;
    let next = plan.iter().find(|s| s.command.is_some());
    if v.file.is_none() {
        return match &v.nearest {
            Some(dir) => writeln!(
                out,
                "No session here: claude has none for {}. The nearest folder up with sessions is \
                 {}: run `ccrescue diagnose -C {}`.",
                safe(&v.project.display().to_string()),
                safe(&dir.display().to_string()),
                crate::ladder::quote(&dir.to_string_lossy())
            ),
            None => writeln!(
                out,
                "No session here: claude has none for {}. If claude ran in another folder, run \
                 ccrescue there or pass -C DIR (`ccrescue sessions --all-projects` lists them all).",
                safe(&v.project.display().to_string())
            ),
        };
    }
    match (v.diagnosis.symptom, next) {
        (Symptom::None, _) => writeln!(out, "Nothing to rescue: this session is not blocked."),
        (_, Some(step)) => {
            // A running claude first: two writers on one session file is how sessions get lost.
            let (first, then) = match plan.first().filter(|s| s.step == "quit_claude") {
                Some(quit) => (Some(quit.why.as_str()), "Then:"),
                None => (None, "Next:"),
            };
            if let Some(quit) = first {
                writeln!(out, "{} {quit}", style("Next:").bold())?;
            }
            // The wizard first: it makes the backup, runs the step and checks it worked. The
            // bare claude command is for doing it by hand (and stays whole, to be copied).
            writeln!(
                out,
                "{} run `{}` (the wizard: a backup, then step {} with its checks), or by hand:",
                style(then).bold(),
                v.wizard,
                plan.iter().position(|s| std::ptr::eq(s, step)).unwrap_or(0) + 1
            )?;
            writeln!(
                out,
                "{}{}",
                crate::format::WHOLE,
                safe(&step.shell_line().unwrap_or_default())
            )
        }
        (_, None) => writeln!(
            out,
            "{} run `{}` (the wizard), or: {}",
            style("Next:").bold(),
            v.wizard,
            safe(plan.first().map(|s| s.why.as_str()).unwrap_or(""))
        ),
    }
}

fn body(out: &mut dyn Write, v: &DiagnoseView, verbose: bool) -> io::Result<()> {
    let label = |s: &str| style(format!("{s:<9}")).bold().to_string();
    match (v.file, v.scan) {
        (Some(file), Some(scan)) => {
            let prompt = scan
                .first_prompt
                .as_deref()
                .map(|p| format!("  \"{}\"", cut(p, 60)))
                .unwrap_or_default();
            writeln!(out, "{} {}{prompt}", label("Session"), file.id)?;
            writeln!(
                out,
                "{} {} · {} · {} records · modified {}",
                label(""),
                safe(&file.path.display().to_string()),
                human_bytes(scan.bytes),
                thousands(scan.records),
                ago(file.modified)
            )?;
            if let Some(why) = v.why_chosen {
                writeln!(out, "{} {}", label(""), style(why).yellow())?;
            }
            context_line(out, scan, &label)?;
            media_line(out, scan, &label, verbose)?;
            error_line(out, scan, &label)?;
            subagents_line(out, &v.diagnosis.subagents, &label)?;
            let live = match v.live {
                Some(l) => style(format!(
                    "yes: claude (pid {}) is running on this session",
                    l.pid
                ))
                .yellow()
                .to_string(),
                None => "no claude is running on this session".into(),
            };
            writeln!(out, "{} {live}", label("Live"))?;
            problems_line(out, scan, file, &label)?;
            if verbose {
                every_finding(out, scan, &label)?;
            }
        }
        _ => writeln!(
            out,
            "{} none: claude has no session for this folder (none in {})",
            label("Session"),
            v.sessions_dir.display()
        )?,
    }
    writeln!(out, "{} {}", label("Claude"), v.claude)?;
    pins_lines(out, v.settings, &label)?;
    writeln!(out)?;
    if v.file.is_none() {
        return Ok(()); // no diagnosis of nothing: the closing line says where sessions are
    }
    let d = v.diagnosis;
    let headline = match d.symptom {
        Symptom::ContextOverflow => {
            style("the session outgrew the 200K standard context window (context overflow)")
                .red()
                .bold()
        }
        Symptom::FreshSession => {
            style("the 1M-context error on a small session (account side, or a [1m] setting)")
                .yellow()
                .bold()
        }
        Symptom::None if d.subagents.iter().any(|a| a.refused.is_some()) => {
            style("no sign of the 1M-context problem in the session, but a subagent was refused")
                .yellow()
        }
        Symptom::None => style("no sign of the 1M-context problem").green(),
    };
    writeln!(out, "Diagnosis: {headline}")?;
    for e in &d.evidence {
        writeln!(out, "  - {}", safe(e))?;
    }
    if !d.plan.is_empty() {
        writeln!(out, "Plan:")?;
        for (i, step) in d.plan.iter().enumerate() {
            match step.shell_line() {
                Some(cmd) => writeln!(
                    out,
                    "  {}. {}\n     {}",
                    i + 1,
                    safe(&step.why),
                    style(safe(&cmd)).cyan()
                )?,
                None => writeln!(out, "  {}. {}", i + 1, safe(&step.why))?,
            }
        }
    }
    for n in &d.notes {
        writeln!(out, "{} {}", style("note:").dim(), safe(n))?;
    }
    Ok(())
}

fn pins_lines(
    out: &mut dyn Write,
    s: &SettingsFindings,
    label: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    if s.pins.is_empty() {
        writeln!(
            out,
            "{} no [1m] model pinned in settings or the environment",
            label("Pins")
        )?;
    }
    for p in &s.pins {
        writeln!(
            out,
            "{} {} = {} in {}",
            label("Pin"),
            safe(&p.key),
            style(safe(&p.value)).yellow(),
            safe(&p.file)
        )?;
    }
    for k in &s.knobs {
        writeln!(
            out,
            "{} {} = {} in {}",
            label("Knob"),
            safe(&k.key),
            safe(&k.value),
            safe(&k.file)
        )?;
    }
    for p in &s.problems {
        writeln!(
            out,
            "{} {}: {}",
            label("Warning"),
            safe(&p.file),
            style(safe(&p.problem)).yellow()
        )?;
    }
    Ok(())
}
