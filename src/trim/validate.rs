//! The check a trimmed temp file must pass before it replaces the session, made by reading the
//! temp file alone (the session is not read again): the size the plan predicted; as many lines
//! as the original, the last one torn only if the original's was; every changed line still a
//! record whose fields outside `message.content` and `toolUseResult` (type, uuid, parentUuid,
//! sessionId, timestamp, the other message fields, …) are byte-identical to the original's; and
//! every byte what the writing pass wrote (its CRC-32).
use std::collections::BTreeMap;
use std::io::{self, Read};

use anyhow::{Result, bail};

use super::TrimPlan;
use super::locate::Fixed;
use crate::session::lines::for_each_line;
use crate::session::record::Record;

/// Reads the trimmed file from `temp` (at its start); `crc` is what the writing pass returned.
pub(super) fn trimmed(temp: impl Read, plan: &TrimPlan, crc: u32) -> Result<()> {
    let changed: BTreeMap<u64, Fixed> = plan.changes.iter().map(|c| (c.line, c.fixed)).collect();
    let mut reader = Crc {
        inner: temp,
        crc: crc32fast::Hasher::new(),
    };
    let mut failure: Option<(u64, &str)> = None;
    let mut lines = 0;
    let mut torn = false;
    let size = for_each_line(&mut reader, |line| {
        lines = line.number;
        torn = !line.terminated;
        if failure.is_some() {
            return;
        }
        let Some(want) = changed.get(&line.number) else {
            return;
        };
        let Ok(record) = Record::read(line.bytes) else {
            failure = Some((line.number, "the changed line is no longer a JSON record"));
            return;
        };
        let got = Fixed::of(line.bytes, &record);
        if got.record != want.record {
            failure = Some((
                line.number,
                "a record field outside message.content and toolUseResult changed",
            ));
        } else if got.message != want.message {
            failure = Some((line.number, "a message field other than content changed"));
        } else if !line.utf8 {
            failure = Some((line.number, "the changed line is not valid UTF-8"));
        }
    })?;
    if size != plan.bytes_after {
        bail!(
            "validation failed: the trimmed file has {size} bytes, {} were expected; the session was not changed",
            plan.bytes_after
        );
    }
    if let Some((line, why)) = failure {
        bail!("validation failed at line {line}: {why}; the session was not changed");
    }
    if lines != plan.lines || torn != plan.torn_last_line {
        bail!(
            "validation failed: the trimmed file has {lines} lines, {} were expected; the session was not changed",
            plan.lines
        );
    }
    if reader.crc.finalize() != crc {
        bail!(
            "validation failed: the trimmed file does not hold the bytes that were written to it; the session was not changed"
        );
    }
    Ok(())
}

/// A reader that adds up the CRC-32 of what passes through it.
struct Crc<R> {
    inner: R,
    crc: crc32fast::Hasher,
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}
