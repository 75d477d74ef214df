//! Compaction in pieces, for a conversation too long for the small model to read in one
//! request: plan chunks that each fit (`plan`), summarise them one by one with the real claude
//! (`summarise`), and append what claude itself writes after a compaction — boundary, summary,
//! the recent tail re-chained (`records`) — after a backup, verified by a re-scan (`write`).
//! Used by the wizard's rung and by `ccrescue compact` (`command`).
use std::path::Path;
use std::time::Instant;

use anyhow::Result;

pub mod command;
pub mod plan;
mod records;
mod render;
pub mod summarise;
mod write;

pub use plan::{Plan, plan};
pub use records::SUMMARY_OPENING;
pub use summarise::{PROMPT_MARKER, Summariser};
pub use write::Appended;

#[cfg(test)]
mod tests;

use crate::ui::Spinner;

/// The largest chunk, in estimated tokens: with claude's system prompt (about 7K tokens without
/// tools), the previous part's summary and room for the answer, a 200K model takes it easily.
pub const CHUNK_TOKENS: u64 = 100_000;
/// The most recent conversation kept verbatim after the summary, by default.
pub const KEEP_RECENT_TOKENS: u64 = 30_000;

/// The result of a compaction in pieces.
#[derive(Debug)]
pub struct Done {
    pub parts: usize,
    pub appended: Appended,
    pub post_tokens: u64,
}

/// Summarises every chunk of `plan`, then appends the compaction to the session. Nothing is
/// written before every part is summarised: a Ctrl-C or a failed part leaves the file as it was.
pub fn compact(
    plan: &Plan,
    summariser: &Summariser,
    config_root: &Path,
    spinner: &dyn Spinner,
) -> Result<Done> {
    let started = Instant::now();
    let summaries = summarise::summarise_all(plan, summariser, config_root, spinner)?;
    let combined = records::combine(&summaries);
    let text = records::summary_text(
        &combined,
        &plan.path.to_string_lossy(),
        !plan.tail.is_empty(),
    );
    let pre_tokens = crate::session::scan(&plan.path)
        .ok()
        .and_then(|s| s.context.map(|c| c.tokens))
        .unwrap_or_else(|| plan.total_raw_tokens());
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let (lines, post_tokens) = records::build(&records::NewRecords {
        plan,
        summary: &text,
        pre_tokens,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        now: &now,
    });
    crate::interrupt::check()?;
    // Said here, where the backup is taken, for the `compact` command and the wizard's rung alike
    // (the wizard's rung used to inherit the reason of its rung before).
    crate::restore::journal::set_reason(crate::restore::journal::Reason::Compaction);
    let appended = write::append_with_backup(&plan.path, plan.bytes, &lines)?;
    Ok(Done {
        parts: summaries.len(),
        appended,
        post_tokens,
    })
}

/// "1 part", "3 parts".
pub fn parts(n: usize) -> String {
    if n == 1 {
        "1 part".to_owned()
    } else {
        format!("{n} parts")
    }
}

/// The plan as lines for the user: one per chunk, then the kept tail.
pub fn describe(plan: &Plan) -> Vec<String> {
    use crate::format::thousands;
    let line_range = |r: &std::ops::Range<usize>| {
        let first = plan.records[r.start].line;
        let last = plan.records[r.end - 1].line;
        format!("lines {first}–{last}")
    };
    let mut out = vec![format!(
        "{} records after the last compaction, about {} tokens as sent now",
        plan.records.len(),
        thousands(plan.total_raw_tokens())
    )];
    for (i, c) in plan.chunks.iter().enumerate() {
        out.push(format!(
            "part {} of {}: {} records ({}), about {} tokens",
            i + 1,
            plan.chunks.len(),
            c.len(),
            line_range(c),
            thousands(plan.chunk_tokens(i))
        ));
    }
    if plan.tail.is_empty() {
        out.push("kept verbatim: nothing (the whole conversation is summarised)".into());
    } else {
        out.push(format!(
            "kept verbatim: the last {} records ({}), about {} tokens",
            plan.tail.len(),
            line_range(&plan.tail),
            thousands(plan.tail_tokens())
        ));
    }
    out
}
