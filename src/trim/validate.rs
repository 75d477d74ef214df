//! The check a trimmed temp file must pass before it replaces the session: as many lines as the
//! original; every line without a planned change byte-identical; every changed line still a
//! record, with every field outside `message.content` and `toolUseResult` byte-identical (type,
//! uuid, parentUuid, sessionId, timestamp, …); and the size the plan predicted.
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use super::TrimPlan;
use super::write::edits;
use crate::session::json_span::{self as js, Entries, Span};

const READ_BUFFER: usize = 1 << 20;

/// `temp` is the temp file's descriptor, at offset 0.
pub(super) fn trimmed(original: &Path, temp: &mut File, plan: &TrimPlan) -> Result<()> {
    let size = temp.metadata()?.len();
    if size != plan.bytes_after {
        bail!(
            "validation failed: the trimmed file has {size} bytes, {} were expected; the session was not changed",
            plan.bytes_after
        );
    }
    let edits = edits(plan);
    let f = File::open(original).with_context(|| format!("cannot read {}", original.display()))?;
    let mut old = BufReader::with_capacity(READ_BUFFER, f);
    let mut new = BufReader::with_capacity(READ_BUFFER, temp);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut number = 0u64;
    loop {
        let (end_a, end_b) = (old.fill_buf()?.is_empty(), new.fill_buf()?.is_empty());
        if end_a && end_b {
            return Ok(());
        }
        number += 1;
        let fail = |why: &str| -> Result<()> {
            bail!("validation failed at line {number}: {why}; the session was not changed")
        };
        if end_a || end_b {
            return fail("the trimmed file has a different number of lines");
        }
        if !edits.contains_key(&number) {
            // Compared piece by piece: a 100 MB line is never held twice.
            if !same_line(&mut old, &mut new)? {
                return fail("a line that was not to change changed");
            }
            continue;
        }
        a.clear();
        b.clear();
        old.read_until(b'\n', &mut a)?;
        new.read_until(b'\n', &mut b)?;
        if (a.last() == Some(&b'\n')) != (b.last() == Some(&b'\n')) {
            return fail("the line's ending changed");
        }
        let strip = |l: &[u8]| l.strip_suffix(b"\n").unwrap_or(l).len();
        let (la, lb) = (&a[..strip(&a)], &b[..strip(&b)]);
        let (Ok(fa), Ok(fb)) = (fields(la), fields(lb)) else {
            return fail("the changed line is no longer a JSON record");
        };
        if fa.len() != fb.len()
            || fa.iter().zip(&fb).any(|((ka, va), (kb, vb))| {
                la[ka.clone()] != lb[kb.clone()]
                    || (!KEYS_THAT_CHANGE.contains(&&la[ka.clone()])
                        && la[va.clone()] != lb[vb.clone()])
            })
        {
            return fail("a record field outside message.content and toolUseResult changed");
        }
        let message = |l: &[u8], f: &[(Span, Span)]| {
            f.iter()
                .find(|(k, _)| &l[k.clone()] == b"message")
                .map(|(_, v)| v.clone())
        };
        if let (Some(ma), Some(mb)) = (message(la, &fa), message(lb, &fb)) {
            let (Ok(ea), Ok(eb)) = (entries(la, &ma), entries(lb, &mb)) else {
                return fail("the message is no longer an object");
            };
            if ea.len() != eb.len()
                || ea.iter().zip(&eb).any(|((ka, va), (kb, vb))| {
                    la[ka.clone()] != lb[kb.clone()]
                        || (&la[ka.clone()] != b"content" && la[va.clone()] != lb[vb.clone()])
                })
            {
                return fail("a message field other than content changed");
            }
        }
    }
}

/// Reads one line from each reader, comparing as it goes; true if they are the same bytes
/// (newline included). Both readers are left at the start of their next line when true.
fn same_line(a: &mut impl BufRead, b: &mut impl BufRead) -> std::io::Result<bool> {
    loop {
        let (ba, bb) = (a.fill_buf()?, b.fill_buf()?);
        if ba.is_empty() || bb.is_empty() {
            return Ok(ba.is_empty() && bb.is_empty()); // both ended without a newline
        }
        let n = ba.len().min(bb.len());
        let newline = memchr::memchr(b'\n', &ba[..n]);
        let upto = newline.map_or(n, |i| i + 1);
        if ba[..upto] != bb[..upto] {
            return Ok(false);
        }
        a.consume(upto);
        b.consume(upto);
        if newline.is_some() {
            return Ok(true);
        }
    }
}

/// The top-level keys whose values a trim may change.
const KEYS_THAT_CHANGE: [&[u8]; 2] = [b"message", b"toolUseResult"];

/// The top-level entries of a record line (validating the whole line).
fn fields(line: &[u8]) -> Result<Vec<(Span, Span)>, js::SyntaxError> {
    let mut out = vec![];
    js::for_each_entry(line, |k, v| {
        let end = v.skip()?;
        out.push((k, v.start..end));
        Ok(end)
    })?;
    Ok(out)
}

fn entries(line: &[u8], span: &Span) -> Result<Vec<(Span, Span)>, js::SyntaxError> {
    Entries::of(line, span)?.collect()
}
