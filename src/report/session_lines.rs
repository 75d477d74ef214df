//! The lines of `diagnose`'s report about the session file itself: context, media, the last
//! error, subagents, damaged lines, and (`-v`) every finding.
use std::io::{self, Write};

use console::style;

use crate::diagnose::STANDARD_WINDOW;
use crate::format::{bar, cut, human_bytes, safe, thousands};
use crate::paths::SessionFile;
use crate::session::{ErrorKind, SessionScan};

/// `Subagents  2 (agent-ea02459f, inline): none refused`, when the session has any.
pub(super) fn subagents_line(
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
pub(super) fn every_finding(
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

pub(super) fn context_line(
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

pub(super) fn media_line(
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

pub(super) fn error_line(
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

pub(super) fn problems_line(
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
