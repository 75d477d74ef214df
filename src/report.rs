//! The human-readable report of `diagnose`. Colour comes from `console`, which follows NO_COLOR
//! and whether stdout is a terminal.
use std::io::{self, Write};

use console::style;

use crate::diagnose::{Diagnosis, STANDARD_WINDOW, Symptom};
use crate::format::{ago, bar, cut, human_bytes, safe, thousands};
use crate::live::LiveClaude;
use crate::paths::SessionFile;
use crate::session::{ErrorKind, SessionScan};
use crate::settings::SettingsFindings;

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

/// `Subagents  2 (agent-ea02459f, inline): none refused`, when the session has any.
fn subagents_line(
    out: &mut dyn Write,
    agents: &[crate::session::subagents::Subagent],
    label: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    if agents.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
    let refused: Vec<_> = agents.iter().filter(|a| a.refused.is_some()).collect();
    let verdict = match refused.first() {
        None => "none refused".to_owned(),
        Some(a) => style(format!(
            "{} refused for long context: {}",
            refused.len(),
            cut(a.refused.as_deref().unwrap_or_default(), 110)
        ))
        .red()
        .to_string(),
    };
    writeln!(
        out,
        "{} {} ({}): {}",
        label("Subagents"),
        agents.len(),
        cut(&names.join(", "), 60),
        verdict
    )
}

/// `-v`: the rest of what the scan found.
fn every_finding(
    out: &mut dyn Write,
    scan: &SessionScan,
    label: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    let or_none = |v: &Option<String>| safe(v.as_deref().unwrap_or("(none recorded)")).into_owned();
    writeln!(out, "{} {}", label("Model"), or_none(&scan.last_model))?;
    writeln!(out, "{} {}", label("Folder"), or_none(&scan.cwd))?;
    writeln!(out, "{} {}", label("Version"), or_none(&scan.version))?;
    writeln!(
        out,
        "{} {} lines, {} records, {} blank, longest line {}",
        label("Lines"),
        thousands(scan.lines),
        thousands(scan.records),
        thousands(scan.blank_lines),
        human_bytes(scan.largest_line)
    )?;
    if let Some(c) = scan.context {
        writeln!(out, "{} context measured at line {}", label(""), c.line)?;
    }
    Ok(())
}

fn context_line(
    out: &mut dyn Write,
    scan: &SessionScan,
    label: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    match scan.context {
        Some(c) => writeln!(
            out,
            "{} {} tokens of {} {} {}%{}",
            label("Context"),
            thousands(c.tokens),
            thousands(STANDARD_WINDOW),
            bar(c.tokens, STANDARD_WINDOW, 20),
            c.tokens * 100 / STANDARD_WINDOW,
            if c.source == crate::session::scan::ContextSource::CompactBoundary {
                " (after the last compaction)"
            } else {
                ""
            }
        ),
        None => writeln!(out, "{} unknown (no reply recorded yet)", label("Context")),
    }?;
    let failed = match scan.failed_compactions {
        0 => String::new(),
        n => format!("; {n} failed"),
    };
    match scan.last_boundary_line {
        Some(line) => writeln!(
            out,
            "{} {} time(s), last at line {line}{failed}",
            label("Compacted"),
            scan.compactions
        )?,
        None if scan.failed_compactions > 0 => {
            writeln!(out, "{} never{failed}", label("Compacted"))?
        }
        None => {}
    }
    Ok(())
}

fn media_line(
    out: &mut dyn Write,
    scan: &SessionScan,
    label: &dyn Fn(&str) -> String,
    verbose: bool,
) -> io::Result<()> {
    let m = &scan.media;
    if m.images + m.documents == 0 {
        let since = if scan.compactions > 0 {
            " since the last compaction"
        } else {
            ""
        };
        return writeln!(out, "{} none{since}", label("Images"));
    }
    writeln!(
        out,
        "{} {} image(s), {} document(s){} · {} · about {} tokens",
        label("Images"),
        m.images,
        m.documents,
        if scan.compactions > 0 {
            " since the last compaction"
        } else {
            ""
        },
        human_bytes(m.image_bytes + m.document_bytes),
        thousands(m.est_tokens)
    )?;
    for b in m.largest.iter().take(if verbose { 10 } else { 3 }) {
        let dims = match (b.width, b.height) {
            (Some(w), Some(h)) => format!(" {w}×{h}"),
            _ => String::new(),
        };
        writeln!(
            out,
            "{}   line {}: {}{dims}, {}, ~{} tokens",
            label(""),
            b.line,
            safe(&b.media_type),
            human_bytes(b.bytes),
            thousands(b.est_tokens)
        )?;
    }
    Ok(())
}

fn error_line(
    out: &mut dyn Write,
    scan: &SessionScan,
    label: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    let Some(last) = &scan.last_error else {
        return writeln!(out, "{} none recorded", label("Error"));
    };
    // The 1M error first when a later error of another kind followed it.
    let earlier = scan
        .last_long_context_error
        .as_ref()
        .filter(|e| !e.resolved && e.line != last.line);
    for e in earlier.into_iter().chain([last]) {
        let status = e.status.map(|s| format!(" ({s})")).unwrap_or_default();
        let text = format!("line {}: {}{status}", e.line, cut(&e.text, 110));
        let text = match (e.resolved, e.kind) {
            (true, _) => format!("{text} — the session moved on since"),
            (false, ErrorKind::LongContext) => style(text).red().to_string(),
            (false, ErrorKind::Other) => style(text).yellow().to_string(),
        };
        writeln!(out, "{} {text}", label("Error"))?;
    }
    Ok(())
}

fn problems_line(
    out: &mut dyn Write,
    scan: &SessionScan,
    file: &SessionFile,
    label: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    let mut problems = vec![];
    if scan.malformed > 0 {
        let lines: Vec<String> = scan
            .malformed_examples
            .iter()
            .map(|b| format!("{} ({})", b.line, b.problem))
            .collect();
        problems.push(format!(
            "{} line(s) are not valid JSON: {}",
            scan.malformed,
            lines.join(", ")
        ));
    }
    if scan.torn_last_line {
        problems.push("the last line is cut short (no newline): a write was interrupted, or claude is writing".into());
    }
    if scan.non_utf8_lines > 0 {
        problems.push(format!(
            "{} line(s) hold bytes that are not UTF-8 (first: line {})",
            scan.non_utf8_lines, scan.non_utf8_examples[0]
        ));
    }
    if scan.bytes == 0 {
        problems.push("the file is empty".into());
    }
    if file.is_symlink {
        problems.push("the session file is a symbolic link".into());
    }
    for p in problems {
        writeln!(out, "{} {}", label("Warning"), style(p).yellow())?;
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
