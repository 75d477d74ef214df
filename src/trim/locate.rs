//! What the planning pass keeps so that the writing pass never parses the session again: each
//! replacement located by its byte offsets in the file (with a few bytes at both ends to check
//! they still hold what was planned), and a digest of the parts of each changed record that
//! must come out byte-identical (everything outside `message.content` and `toolUseResult`).
use std::hash::{DefaultHasher, Hasher};
use std::ops::Range;

use crate::session::json_span::Span;
use crate::session::record::Record;

/// Bytes kept from each end of a replaced span: enough to see a shifted or rewritten span.
const FINGERPRINT: usize = 32;

/// Replacement bytes the plan keeps in memory, at most (a placeholder is ~150 bytes; a shortened
/// tool output is ~10 KB, and thousands of them would not fit the memory budget of a trim).
pub(crate) const KEEP_REPLACEMENTS: usize = 16 << 20;

/// What replaces a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum With {
    Bytes(Vec<u8>),
    /// A tool output shortened to about this many bytes, made again by the writing pass from the
    /// span (read a second time: only once the kept replacements reach `KEEP_REPLACEMENTS`).
    Shortened {
        keep: u64,
        len: usize,
    },
}

impl With {
    /// `bytes` as the replacement, unless `kept` (bytes kept so far) is over the budget and
    /// `shortened` says how to make them again.
    pub fn keep_or(bytes: Vec<u8>, kept: &mut usize, shortened: Option<u64>) -> With {
        match shortened {
            Some(keep) if *kept + bytes.len() > KEEP_REPLACEMENTS => With::Shortened {
                keep,
                len: bytes.len(),
            },
            _ => {
                *kept += bytes.len();
                With::Bytes(bytes)
            }
        }
    }
}

/// One replacement, by absolute file offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    /// 1-based line the span is in.
    pub line: u64,
    pub span: Range<u64>,
    pub with: With,
    /// The span's first and last bytes (up to `FINGERPRINT` each) when planned.
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

impl Located {
    /// `span` of `line_bytes` (a line starting at file offset `offset`), replaced by `with`.
    pub fn new(line: u64, offset: u64, line_bytes: &[u8], span: &Span, with: With) -> Located {
        let bytes = &line_bytes[span.clone()];
        let n = FINGERPRINT.min(bytes.len());
        Located {
            line,
            span: offset + span.start as u64..offset + span.end as u64,
            with,
            head: bytes[..n].to_vec(),
            tail: bytes[bytes.len() - n..].to_vec(),
        }
    }
}

/// The digests of a record's parts a trim must not change: the line outside the `message` and
/// `toolUseResult` values, and the `message` value outside its `content`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fixed {
    pub record: u64,
    pub message: u64,
}

impl Fixed {
    pub fn of(line: &[u8], r: &Record) -> Fixed {
        let record = digest(
            line,
            0..line.len(),
            &[r.message.clone(), r.tool_use_result.clone()],
        );
        let message = r.message.clone().map_or(0, |m| {
            digest(line, m, std::slice::from_ref(&r.message_content))
        });
        Fixed { record, message }
    }
}

/// A hash of `line[within]` with the `holes` cut out (each leaves a marker, so a shift shows).
fn digest(line: &[u8], within: Span, holes: &[Option<Span>]) -> u64 {
    let mut holes: Vec<&Span> = holes.iter().flatten().collect();
    holes.sort_by_key(|s| s.start);
    let mut h = DefaultHasher::new();
    let mut at = within.start;
    for hole in holes {
        if hole.start < at || hole.end > within.end {
            continue;
        }
        h.write(&line[at..hole.start]);
        h.write_u8(0xff); // never in UTF-8 text
        at = hole.end;
    }
    h.write(&line[at..within.end]);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_parts_ignore_content_and_tool_use_result_only() {
        let fixed = |s: &str| Fixed::of(s.as_bytes(), &Record::read(s.as_bytes()).unwrap());
        let a = fixed(
            r#"{"uuid":"u","message":{"role":"user","content":[1,2]},"toolUseResult":{"x":1}}"#,
        );
        assert_eq!(
            a,
            fixed(r#"{"uuid":"u","message":{"role":"user","content":"x"},"toolUseResult":[]}"#)
        );
        let b = fixed(
            r#"{"uuid":"v","message":{"role":"user","content":[1,2]},"toolUseResult":{"x":1}}"#,
        );
        assert_ne!(a.record, b.record);
        assert_eq!(a.message, b.message);
        let c = fixed(
            r#"{"uuid":"u","message":{"role":"usr","content":[1,2]},"toolUseResult":{"x":1}}"#,
        );
        assert_eq!(a.record, c.record);
        assert_ne!(a.message, c.message);
    }

    #[test]
    fn located_keeps_both_ends() {
        let line = format!("{{\"data\":\"{}\"}}", "A".repeat(100) + &"B".repeat(100));
        let span = 8..line.len() - 1;
        let l = Located::new(
            3,
            1000,
            line.as_bytes(),
            &span,
            With::Bytes(b"\"\"".to_vec()),
        );
        assert_eq!(l.span, 1008..1000 + line.len() as u64 - 1);
        assert_eq!(l.head, format!("\"{}", "A".repeat(31)).as_bytes());
        assert_eq!(l.tail, format!("{}\"", "B".repeat(31)).as_bytes());
    }
}
