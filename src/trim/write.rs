//! The writing pass of a trim: copies the session into the temp file `fsx::replace` gives, in
//! large reads, jumping over each planned span (its offsets come from the planning pass, so
//! nothing is parsed again and the base64 that goes is never read a second time) and writing its
//! replacement instead. It checks as it goes that the file still is what was planned (every
//! span's ends and line number), and returns the CRC-32 of everything it wrote for the validator.
use std::io::{Read, Seek, SeekFrom, Write};

use anyhow::{Result, anyhow, bail};

use super::locate::{Located, With};
use super::rewrite;
use super::{CHECK_EVERY, Progress, TrimPlan, file_name};
use crate::interrupt;

/// Bytes per read of the parts that are kept.
const READ: usize = 1 << 20;

/// Writes the trimmed session read from `src` (positioned at its start) to `out`.
pub(super) fn trimmed<R: Read + Seek>(
    mut src: R,
    plan: &TrimPlan,
    out: &mut dyn Write,
    progress: Progress<'_>,
) -> Result<u32> {
    let backup_name = file_name(&plan.backup);
    let mut splices: Vec<&Located> = plan.changes.iter().flat_map(|c| &c.at).collect();
    splices.sort_by_key(|s| s.span.start);
    let mut copy = Copy {
        buf: vec![0; READ],
        crc: crc32fast::Hasher::new(),
        newlines: 0,
        at: 0,
        next_check: CHECK_EVERY,
    };
    let changed = |line: u64| {
        anyhow!("line {line} changed since the session was read; run ccrescue trim again")
    };
    for s in splices {
        if s.span.start < copy.at {
            bail!(
                "internal error: the planned changes on line {} overlap",
                s.line
            );
        }
        copy.through(&mut src, s.span.start, out, progress)?;
        if copy.newlines + 1 != s.line {
            return Err(changed(s.line));
        }
        let made;
        let with = match &s.with {
            With::Bytes(bytes) => {
                // The span still starts and ends as planned: read its ends, skip the rest.
                let mut head = vec![0; s.head.len()];
                src.read_exact(&mut head).map_err(|_| changed(s.line))?;
                src.seek(SeekFrom::Start(s.span.end - s.tail.len() as u64))?;
                let mut tail = vec![0; s.tail.len()];
                src.read_exact(&mut tail).map_err(|_| changed(s.line))?;
                if head != s.head || tail != s.tail {
                    return Err(changed(s.line));
                }
                bytes
            }
            &With::Shortened { keep, len } => {
                // Not kept in memory: made again from the span, which must give the same size.
                let mut raw = vec![0; (s.span.end - s.span.start) as usize];
                src.read_exact(&mut raw).map_err(|_| changed(s.line))?;
                made = rewrite::shortened_string(&raw, keep, &backup_name)
                    .map(|(bytes, _)| bytes)
                    .filter(|b| {
                        b.len() == len && raw.starts_with(&s.head) && raw.ends_with(&s.tail)
                    })
                    .ok_or_else(|| changed(s.line))?;
                &made
            }
        };
        out.write_all(with)?;
        copy.crc.update(with);
        copy.at = s.span.end;
    }
    copy.through(&mut src, plan.bytes_before, out, progress)?;
    let lines = copy.newlines + u64::from(plan.torn_last_line);
    if lines != plan.lines {
        bail!(
            "the session has {lines} lines where {} were read; run ccrescue trim again",
            plan.lines
        );
    }
    progress(plan.bytes_before);
    Ok(copy.crc.finalize())
}

/// The copying state: where the source is, what was written.
struct Copy {
    buf: Vec<u8>,
    crc: crc32fast::Hasher,
    /// Newlines copied so far (the line the next byte is on, minus one).
    newlines: u64,
    /// The source offset reached.
    at: u64,
    next_check: u64,
}

impl Copy {
    /// Copies the source from `self.at` up to `end`.
    fn through(
        &mut self,
        src: &mut impl Read,
        end: u64,
        out: &mut dyn Write,
        progress: Progress<'_>,
    ) -> Result<()> {
        while self.at < end {
            let want = usize::try_from(end - self.at).map_or(READ, |n| n.min(READ));
            let n = match src.read(&mut self.buf[..want]) {
                Ok(0) => {
                    bail!("the session is shorter than when it was read; run ccrescue trim again")
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let bytes = &self.buf[..n];
            self.newlines += memchr::memchr_iter(b'\n', bytes).count() as u64;
            self.crc.update(bytes);
            out.write_all(bytes)?;
            self.at += n as u64;
            if self.at >= self.next_check {
                self.next_check = self.at + CHECK_EVERY;
                progress(self.at);
                interrupt::check()?;
            }
        }
        Ok(())
    }
}
