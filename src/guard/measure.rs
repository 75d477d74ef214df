//! How many tokens a session's next request will carry, measured from the end of its transcript
//! with the streaming scanner: the last real usage (or compact boundary), plus the conversation
//! text and media written after it. Reads only as much of the tail as it needs, so a 100 MB session
//! costs about as much as a small one.
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::session::json_span as js;
use crate::session::lines::for_each_line;
use crate::session::scan::{Scanner, scan_bytes};

/// The first tail read; it grows fourfold until it holds a usage figure.
const FIRST_TAIL: u64 = 256 * 1024;
/// Bytes of JSON text per token, for text written after the last usage figure.
const BYTES_PER_TOKEN: u64 = 4;

/// A measured context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    pub tokens: u64,
    /// Of which: estimated from what was written after the last usage figure.
    pub added: u64,
    /// The session's last request was refused by the long-context gate and nothing since
    /// resolved it (the scanner's `blocked_by_long_context`).
    pub stuck: bool,
}

/// The context of the session at `path`; `None` when it records no usage yet (or does not exist
/// yet: claude creates the file after a new session's first prompt is accepted).
pub fn measure(path: &Path) -> Result<Option<Measured>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let len = file.metadata()?.len();
    let mut want = FIRST_TAIL.min(len);
    loop {
        let start = len - want;
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::with_capacity(want as usize);
        (&mut file).take(want).read_to_end(&mut tail)?;
        // A tail that starts mid-line begins at the next line.
        let from = if start == 0 {
            0
        } else {
            tail.iter()
                .position(|c| *c == b'\n')
                .map_or(tail.len(), |i| i + 1)
        };
        if let Some(m) = measure_bytes(&tail[from..]) {
            return Ok(Some(m));
        }
        if start == 0 {
            return Ok(None);
        }
        want = (want * 4).min(len);
    }
}

/// [`measure`] over transcript lines in memory.
pub fn measure_bytes(data: &[u8]) -> Option<Measured> {
    let scan = scan_bytes(data);
    let context = scan.context?;
    let mut after = None;
    for_each_line(data, |line| {
        if after.is_none() && line.number > context.line {
            after = Some(line.offset as usize);
        }
    })
    .expect("reading memory cannot fail");
    let added = after.map_or(0, |at| added_tokens(&data[at..]));
    Some(Measured {
        tokens: context.tokens + added,
        added,
        stuck: scan.blocked_by_long_context(),
    })
}

/// Tokens of the conversation records in `data` (the lines after the last usage): their text at
/// about four bytes a token, their base64 media as the scanner estimates it. Records that are not
/// the conversation (request copies, attachments, bookkeeping) are not sent and not counted.
fn added_tokens(data: &[u8]) -> u64 {
    let mut scanner = Scanner::default();
    let mut text_bytes = 0u64;
    for_each_line(data, |line| {
        let Some(record) = scanner.line(line) else {
            return;
        };
        let kind = record
            .kind
            .as_ref()
            .and_then(|k| js::raw_str(line.bytes, k))
            .unwrap_or_default();
        if matches!(kind, b"user" | b"assistant") && !record.is_sidechain {
            let media: u64 = record.media.iter().map(|m| m.data.len() as u64).sum();
            text_bytes += (line.bytes.len() as u64).saturating_sub(media);
        }
    })
    .expect("reading memory cannot fail");
    text_bytes / BYTES_PER_TOKEN + scanner.so_far().media.est_tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assistant(tokens: u64) -> String {
        format!(
            r#"{{"type":"assistant","message":{{"model":"claude-sonnet-4-6","role":"assistant","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":{tokens},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5}}}}}}"#
        )
    }

    #[test]
    fn the_last_usage_plus_what_came_after() {
        let user = format!(
            r#"{{"type":"user","message":{{"role":"user","content":"{}"}}}}"#,
            "x".repeat(4000)
        );
        let noise = format!(
            r#"{{"type":"api-request-blob","content":"{}"}}"#,
            "y".repeat(40_000)
        );
        let data = format!(
            "{}\n{}\n{}\n{user}\n{noise}\n",
            assistant(10),
            user,
            assistant(150_000)
        );
        let m = measure_bytes(data.as_bytes()).unwrap();
        assert!(m.added > 1000 && m.added < 1100, "{m:?}");
        // The scanner counts the reply's output tokens (5) too: they are input next time.
        assert_eq!(m.tokens, 150_005 + m.added);
    }

    #[test]
    fn the_tail_is_enough_and_a_huge_head_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        let filler = format!(
            r#"{{"type":"user","message":{{"role":"user","content":"{}"}}}}"#,
            "z".repeat(1 << 20)
        );
        let mut data = String::new();
        for _ in 0..3 {
            data.push_str(&filler);
            data.push('\n');
        }
        data.push_str(&assistant(123_456));
        data.push('\n');
        std::fs::write(&p, &data).unwrap();
        assert_eq!(measure(&p).unwrap().unwrap().tokens, 123_461);
        std::fs::write(&p, format!("{}\n{filler}\n", assistant(7))).unwrap();
        assert_eq!(
            measure(&p).unwrap().unwrap().tokens,
            12 + (filler.len() as u64) / 4
        );
        std::fs::write(&p, "garbage\n{not json\n").unwrap();
        assert_eq!(measure(&p).unwrap(), None);
        assert_eq!(measure(&dir.path().join("new.jsonl")).unwrap(), None);
    }
}
