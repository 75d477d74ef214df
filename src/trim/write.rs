//! The writing pass of a trim: streams the original into the temp file `fsx::replace` gives,
//! copying every line through untouched except the planned ones, which are spliced.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow};

use super::blocks::{self, ChangeKind, Limits};
use super::rewrite::{self, Splice};
use super::{CHECK_EVERY, Progress, TrimPlan, file_name};
use crate::interrupt;
use crate::session::lines::for_each_line;
use crate::session::record::Record;

/// Per planned line: the candidate ordinals to replace with their expected sizes, and whether the
/// line's `toolUseResult` copies go.
pub(super) type Edits = BTreeMap<u64, (Vec<(usize, u64)>, bool)>;

pub(super) fn edits(plan: &TrimPlan) -> Edits {
    let mut edits = Edits::new();
    for c in &plan.changes {
        let entry = edits.entry(c.line).or_default();
        match c.ordinal {
            Some(o) => entry.0.push((o, c.bytes)),
            None => entry.1 = true,
        }
    }
    edits
}

pub(super) fn trimmed(
    path: &Path,
    plan: &TrimPlan,
    out: &mut dyn Write,
    progress: Progress<'_>,
) -> Result<()> {
    let backup_name = file_name(&plan.backup);
    let limits = Limits {
        tool_output_over: plan.tool_output_over,
        backup_name: &backup_name,
    };
    let edits = edits(plan);
    // `out` is buffered by fsx::replace (1 MiB): short lines are batched, long ones pass through.
    let file =
        File::open(path).with_context(|| format!("cannot open session {}", path.display()))?;
    let mut failed = None;
    let mut next_check = CHECK_EVERY;
    for_each_line(file, |line| {
        if failed.is_some() {
            return;
        }
        let mut step = || -> Result<()> {
            match edits.get(&line.number) {
                None => out.write_all(line.bytes)?,
                Some((ordinals, copies)) => {
                    let splices = splices(line.bytes, line.number, ordinals, *copies, &limits)?;
                    rewrite::write_spliced(line.bytes, &splices, out)?;
                }
            }
            if line.terminated {
                out.write_all(b"\n")?;
            }
            if line.offset >= next_check {
                next_check = line.offset + CHECK_EVERY;
                progress(line.offset);
                interrupt::check()?;
            }
            Ok(())
        };
        failed = step().err();
    })
    .with_context(|| format!("cannot read session {}", path.display()))?;
    if let Some(e) = failed {
        return Err(e);
    }
    progress(plan.bytes_before);
    Ok(())
}

/// The splices for one planned line, checking the line still holds what was planned.
fn splices(
    line: &[u8],
    number: u64,
    ordinals: &[(usize, u64)],
    copies: bool,
    limits: &Limits<'_>,
) -> Result<Vec<Splice>> {
    let changed =
        || anyhow!("line {number} changed since the session was read; run ccrescue trim again");
    let record = Record::read(line).map_err(|_| changed())?;
    let mut found: Vec<Option<blocks::Candidate>> = blocks::find(line, &record, limits)
        .into_iter()
        .map(Some)
        .collect();
    let mut splices = Vec::with_capacity(ordinals.len() + 1);
    let mut media = false;
    for &(o, bytes) in ordinals {
        let c = found
            .get_mut(o)
            .and_then(Option::take)
            .ok_or_else(changed)?;
        if c.bytes() != bytes {
            return Err(changed());
        }
        media |= c.kind != ChangeKind::ToolOutput;
        splices.push(Splice {
            span: c.span,
            with: c.replacement,
        });
    }
    if copies && media {
        splices.extend(rewrite::copy_splices(line, &record));
    }
    rewrite::normalize(&mut splices);
    Ok(splices)
}
