//! `trim`: takes base64 images and documents (and, on request, long text tool outputs) out of a
//! session file so the next request — or the next compaction — fits. The session is read once:
//! `plan` streams it (scan + candidates, each located by its byte offsets) and chooses; `apply`
//! copies the kept bytes into a temp file, jumping over the chosen spans by those offsets, through
//! `fsx::replace` (backup link, temp file, validation of the temp file alone, rename).
//! Lines are never deleted; every line without a chosen block is copied through byte for byte.
mod blocks;
mod locate;
mod plan;
pub mod rewrite;
mod validate;
mod write;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::session::Scanner;
use crate::session::lines::for_each_line;
use crate::{fsx, interrupt};
use locate::{Located, With};

pub use blocks::{ChangeKind, Limits, TEXT_BYTES_PER_TOKEN};
pub use plan::{Change, KeptLine, KindTotal, TrimPlan};

/// With `--target-tokens` and no `--tool-output-over`, text tool outputs above this many bytes
/// may be shortened (to about this size) once the media are gone.
pub const DEFAULT_TOOL_OUTPUT_KEEP: u64 = 10_000;

/// Drop the duplicate base64 under `toolUseResult` along with the image it copies. The bench test
/// `trim_real::claude_resumes_a_trimmed_session` shows the real claude resumes and shows such a
/// session.
pub const DROP_TOOL_USE_RESULT_COPIES: bool = true;

/// How often (in bytes) long passes report progress and look for Ctrl-C.
const CHECK_EVERY: u64 = 8 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrimOptions {
    /// Every record, not only those after the last compact boundary.
    pub all: bool,
    /// Shorten text tool outputs longer than this many bytes.
    pub tool_output_over: Option<u64>,
    /// Replace blocks only until the estimated context is under this many tokens.
    pub target_tokens: Option<u64>,
}

impl TrimOptions {
    fn tool_output_over(&self) -> Option<u64> {
        self.tool_output_over
            .or(self.target_tokens.map(|_| DEFAULT_TOOL_OUTPUT_KEEP))
    }
}

/// A finished trim.
#[derive(Debug, Clone)]
pub struct Trimmed {
    /// The original file, kept under its backup name.
    pub backup: PathBuf,
    pub plan: TrimPlan,
}

/// Called with the bytes done so far of the current pass.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// Reads the session and decides what a trim would change. Writes nothing.
pub fn plan(path: &Path, opts: &TrimOptions) -> Result<TrimPlan> {
    plan_with(path, opts, &mut |_| {})
}

/// [`plan`] reporting progress.
pub fn plan_with(path: &Path, opts: &TrimOptions, progress: Progress<'_>) -> Result<TrimPlan> {
    let stamp = stamp(path)?;
    let backup = fsx::next_backup_path(path)?;
    let backup_name = file_name(&backup);
    let limits = Limits {
        tool_output_over: opts.tool_output_over(),
        backup_name: &backup_name,
    };
    let file =
        File::open(path).with_context(|| format!("cannot open session {}", path.display()))?;
    let mut scanner = Scanner::new(path);
    let mut found: Vec<Change> = vec![];
    let mut copies: Vec<Change> = vec![];
    let mut boundary = None;
    let mut next_check = CHECK_EVERY;
    let mut stop = None;
    let mut kept = 0; // replacement bytes held by `found`
    let bytes = for_each_line(file, |line| {
        if stop.is_some() {
            return;
        }
        let record = scanner.line(line);
        let seen = scanner.so_far().last_boundary_line;
        if seen != boundary {
            boundary = seen;
            if !opts.all {
                found.clear();
                copies.clear();
                kept = 0;
            }
        }
        if line.offset >= next_check {
            next_check = line.offset + CHECK_EVERY;
            progress(line.offset);
            stop = interrupt::check().err();
        }
        // A line that is not valid UTF-8 is kept as it is, whatever it holds.
        let (Some(record), true) = (record, line.utf8) else {
            return;
        };
        let candidates = blocks::find(line.bytes, &record, &limits);
        if candidates.is_empty() {
            return;
        }
        let fixed = locate::Fixed::of(line.bytes, &record);
        let locate =
            |span: &_, with| Located::new(line.number, line.offset, line.bytes, span, with);
        // claude's request copies are trimmed too, but are no part of the context (issue 11).
        let counts = record.class(line.bytes) == crate::session::record::Class::Conversation;
        let mut media = false;
        for (ordinal, c) in candidates.into_iter().enumerate() {
            media |= c.kind != ChangeKind::ToolOutput;
            let shortened = (c.kind == ChangeKind::ToolOutput)
                .then_some(limits.tool_output_over)
                .flatten();
            found.push(Change {
                line: line.number,
                kind: c.kind,
                bytes: c.bytes(),
                bytes_after: c.replacement.len() as u64,
                media_type: c.media_type,
                width: c.width,
                height: c.height,
                image_bytes: c.image_bytes,
                est_tokens: if counts { c.est_tokens } else { 0 },
                ordinal: Some(ordinal),
                at: vec![locate(
                    &c.span,
                    With::keep_or(c.replacement, &mut kept, shortened),
                )],
                fixed,
            });
        }
        if media && DROP_TOOL_USE_RESULT_COPIES {
            let spans = blocks::duplicate_copies(line.bytes, &record);
            if !spans.is_empty() {
                copies.push(Change {
                    line: line.number,
                    kind: ChangeKind::DuplicateCopy,
                    media_type: None,
                    width: None,
                    height: None,
                    image_bytes: None,
                    bytes: spans.iter().map(|s| s.len() as u64).sum(),
                    bytes_after: 2 * spans.len() as u64,
                    est_tokens: 0,
                    ordinal: None,
                    at: spans
                        .iter()
                        .map(|s| locate(s, With::Bytes(b"\"\"".to_vec())))
                        .collect(),
                    fixed,
                });
            }
        }
    })
    .with_context(|| format!("cannot read session {}", path.display()))?;
    if let Some(e) = stop {
        return Err(e);
    }
    progress(bytes);
    let scan = scanner.finish(bytes);
    // Blocks before the last boundary are not sent any more: removing them saves no context.
    let in_context = |line: u64| scan.last_boundary_line.is_none_or(|b| line > b);
    for c in &mut found {
        if !in_context(c.line) {
            c.est_tokens = 0;
        }
    }
    let tokens_before = scan.context.map(|c| c.tokens);
    let estimate = tokens_before.unwrap_or_else(|| found.iter().map(|c| c.est_tokens).sum());
    let (mut changes, target_reached) = plan::choose(found, opts.target_tokens, estimate);
    // A copy goes with its image: only on lines where a media block is replaced.
    let media_lines: BTreeSet<u64> = changes
        .iter()
        .filter(|c| c.kind != ChangeKind::ToolOutput)
        .map(|c| c.line)
        .collect();
    copies.retain(|d| media_lines.contains(&d.line));
    changes.extend(copies);
    changes.sort_by_key(|c| (c.line, c.ordinal.unwrap_or(usize::MAX)));
    let saved: u64 = changes.iter().map(|c| c.est_tokens).sum();
    let (old, new): (u64, u64) = changes
        .iter()
        .fold((0, 0), |(o, n), c| (o + c.bytes, n + c.bytes_after));
    // One line can be damaged in several ways (a torn or non-UTF-8 line usually fails to parse
    // too): the most specific wording comes first, and each line is listed once.
    let mut kept_verbatim: Vec<KeptLine> = scan
        .torn_last_line
        .then(|| KeptLine {
            line: scan.lines,
            problem: "the last line has no newline (torn write, or claude is writing)".to_owned(),
        })
        .into_iter()
        .chain(scan.non_utf8_examples.iter().map(|&line| KeptLine {
            line,
            problem: "not valid UTF-8".to_owned(),
        }))
        .chain(scan.malformed_examples.iter().map(|b| KeptLine {
            line: b.line,
            problem: format!("not a JSON record ({})", b.problem),
        }))
        .collect();
    kept_verbatim.sort_by_key(|k| k.line); // stable: the specific wording stays first
    let listed_with_overlaps = kept_verbatim.len() as u64;
    kept_verbatim.dedup_by_key(|k| k.line);
    // Exact while every damaged line is listed; beyond the examples, overlaps cannot be seen.
    let damaged_lines = (scan.malformed + scan.non_utf8_lines + u64::from(scan.torn_last_line))
        .saturating_sub(listed_with_overlaps - kept_verbatim.len() as u64);
    Ok(TrimPlan {
        path: path.to_owned(),
        backup,
        totals: plan::totals(&changes),
        changes,
        bytes_before: bytes,
        bytes_after: bytes - old + new,
        tokens_before,
        tokens_after: tokens_before.map(|t| t.saturating_sub(saved)),
        target_tokens: opts.target_tokens,
        target_reached,
        after_line: scan.last_boundary_line.filter(|_| !opts.all),
        kept_verbatim,
        malformed_lines: scan.malformed,
        damaged_lines,
        non_utf8_lines: scan.non_utf8_lines,
        torn_last_line: scan.torn_last_line,
        lines: scan.lines,
        stamp,
    })
}

/// Plans and applies a trim: the original is kept as the plan's backup (a hard link), the file
/// is replaced by the trimmed one after validation. An empty plan writes nothing.
pub fn apply(path: &Path, opts: &TrimOptions) -> Result<Trimmed> {
    let plan = plan(path, opts)?;
    apply_plan(path, plan, &mut |_| {})
}

/// Applies a plan made by [`plan`]; refuses if the file changed since.
pub fn apply_plan(path: &Path, plan: TrimPlan, progress: Progress<'_>) -> Result<Trimmed> {
    if plan.is_empty() {
        return Ok(Trimmed {
            backup: plan.backup.clone(),
            plan,
        });
    }
    // The copy is read from this descriptor: it must be the file that was planned, as it was.
    let source =
        File::open(path).with_context(|| format!("cannot open session {}", path.display()))?;
    let unchanged = |source: &File| -> Result<()> {
        if stamp_of(&source.metadata()?) != plan.stamp || stamp(path)? != plan.stamp {
            return Err(fsx::ChangedSinceRead {
                path: path.to_owned(),
                again: "ccrescue trim",
            }
            .into());
        }
        Ok(())
    };
    unchanged(&source)?;
    if fsx::next_backup_path(path)? != plan.backup {
        anyhow::bail!(
            "{} appeared since the session was read; nothing was written — run ccrescue trim again",
            plan.backup.display()
        );
    }
    #[cfg(test)]
    tests::BEFORE_REPLACE.with(|hook| hook.take().map(|f| f(path)));
    let crc = Cell::new(None);
    let replaced = fsx::replace(
        path,
        fsx::Backup::Link,
        |out| {
            // Moved in, so it is closed once the copy is written: Windows cannot rename over a
            // file that has a handle open (issue 14).
            let source = source;
            // Once more, now that `replace` holds the original and took its state: a line
            // appended since the check above would count as already there, and be neither
            // copied (the plan ends before it) nor carried over.
            unchanged(&source)?;
            crc.set(Some(write::trimmed(&source, &plan, out, progress)?));
            Ok(())
        },
        |temp| validate::trimmed(temp, &plan, crc.get().unwrap_or_default()),
    )?;
    let backup = replaced.backup.unwrap_or_else(|| plan.backup.clone());
    Ok(Trimmed { backup, plan })
}

fn stamp(path: &Path) -> Result<plan::Stamp> {
    let meta =
        fs::metadata(path).with_context(|| format!("cannot read session {}", path.display()))?;
    Ok(stamp_of(&meta))
}

fn stamp_of(meta: &fs::Metadata) -> plan::Stamp {
    plan::Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
